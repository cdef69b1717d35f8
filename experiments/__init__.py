"""Study drivers, picked by `config.experiment`.

Entries name 'module:function' and are imported on use, so a run imports
only its own experiment's code (librosa, say, only for FSDD experiments).
"""

import registry
from train import lock

EXPERIMENTS = {
    'supervised': 'experiments.supervised:train_and_evaluate',
    'attention_sweep': 'experiments.attention_sweep:run',
    'augment_grid': 'experiments.augment_grid:run',
    'gan': 'experiments.gan:train_and_evaluate',
    'mfcc': 'experiments.mfcc:run',
    'spectrogram': 'experiments.spectrogram:run',
}


def run(config, workdir):
  """Runs the entry point config.experiment names, holding workdir's lock."""
  entry = registry.resolve(EXPERIMENTS, 'experiment', config.experiment)
  with lock.hold(workdir):
    return entry(config, workdir)
