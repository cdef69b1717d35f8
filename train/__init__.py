"""Experiment entry points, picked by `config.experiment`.

Entries name 'module:function' and are imported on use, so a run imports
only its own experiment's code (librosa, say, only for FSDD experiments).
"""

import importlib

import errors

EXPERIMENTS = {
    'supervised': 'train.supervised:train_and_evaluate',
    'attention_sweep': 'train.attention_sweep:run',
    'augment_grid': 'train.augment_grid:run',
    'gan': 'train.gan:train_and_evaluate',
    'mfcc': 'train.mfcc:run',
    'spectrogram': 'train.spectrogram:run',
}


def run(config, workdir):
  """Runs the entry point config.experiment names."""
  if config.experiment not in EXPERIMENTS:
    raise errors.ConfigError(
        f'experiment={config.experiment!r}: unknown; choices: '
        f'{sorted(EXPERIMENTS)}')
  module, function = EXPERIMENTS[config.experiment].split(':')
  return getattr(importlib.import_module(module), function)(config, workdir)
