"""Study drivers, picked by `config.experiment`.

Entries name 'module:function' and are imported on use, so a run imports
only its own experiment's code (librosa, say, only for FSDD experiments).
"""

import os

from configs import base
from nets import defaults as defaults_lib
import registry
from train import gan as gan_lib
from train import lock
from train import trainer

EXPERIMENTS = {
    'supervised': 'experiments.supervised:train_and_evaluate',
    'attention_sweep': 'experiments.attention_sweep:run',
    'augment_grid': 'experiments.augment_grid:run',
    'gan': 'experiments.gan:train_and_evaluate',
    'mfcc': 'experiments.mfcc:run',
    'spectrogram': 'experiments.spectrogram:run',
    'study': 'experiments.study:run',
    'voices': 'experiments.voices:run',
}


def run(config, workdir):
  """Runs the entry point config.experiment names, holding workdir's lock;
  prints its last line."""
  entry = registry.resolve(EXPERIMENTS, 'experiment', config.experiment)
  defaults_lib.get(config.defaults)  # a bad name fails before the workdir exists
  check_train_groups(config)
  with lock.hold(workdir):
    results = entry(config, workdir)
  print(summary(results, workdir))
  return results


def check_train_groups(config, prefix=''):
  """Every train group of config, however nested (aux.train, a study's
  stages), checked before the workdir exists: a bad schedule found by
  trainer.fit would come after a driver had written its top config. The
  GAN's own train group is the one with a z_dim."""
  for key, child in config.items():
    if not hasattr(child, 'items'):
      continue
    where = f'{prefix}{key}'
    if 'lr_schedule' in child:
      check = gan_lib.check_schedule if 'z_dim' in child else (
          trainer.check_schedule)
      check(child, where)
    check_train_groups(child, f'{where}.')


def summary(results, workdir):
  """'<test metrics>; results: <workdir>/results.json', the line a run ends
  with. `results`: a run's results dict or a driver's table rows (whose
  'mean' is a mean test accuracy)."""
  if isinstance(results, dict):
    shown = ', '.join(f'{k} {v:.4f}' for k, v in results.items()
                      if 'test_' in k and isinstance(v, float))
  else:
    means = sorted(r['mean'] for r in results)
    shown = f'table of {len(means)}: mean test accuracy {means[0]:.4f}'
    if len(means) > 1:
      shown += f' to {means[-1]:.4f}'
  return f'{shown}; results: {os.path.join(workdir, "results.json")}'


def usage():
  """The config files, their variants and the override syntax (--help)."""
  return f"""
Configs (--config=configs/<file>.py[:<variant>,...], variants comma-separated):
{base.describe_configs()}

Override any field of the config: --config.train.epochs=5 --config.model.name=se
(the fields are in configs/base.py and the config file; a mistyped field fails
with a "did you mean" message). --verbosity=-1 leaves the bars and the last
line.

Afterwards: python -m eval.evaluate --workdir=RUN (test metrics, per-class
accuracy, confusion.png); python -m eval.predict --workdir=RUN FILE... .
"""
