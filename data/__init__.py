"""Data pipelines, picked by `config.data.name`.

Entries name 'module:function' and are imported on use, so an MNIST run
never imports the audio stack (librosa).
"""

import os

import errors
import registry

# The data root: $DIGITS_DATA_DIR, else ../shared/data beside the project.
DEFAULT_DIR = os.environ.get(
    errors.DATA_ENV,
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                 '..', 'shared', 'data'))

DATASETS = {
    'reduced_mnist': 'data.mnist_pipeline:reduced_mnist',
    'fsdd_spectrogram': 'data.spectrogram:fsdd_spectrogram',
    'fsdd_logmel': 'data.logmel:fsdd_logmel',
    'fsdd_mfcc_mean': 'data.mfcc:fsdd_mfcc_mean',
    'fsdd_mfcc_flat': 'data.mfcc:fsdd_mfcc_flat',
    'fsdd_mfcc_frames': 'data.mfcc:fsdd_mfcc_frames',
}
# The datasets whose items have a speaker, which data.split='loso' needs.
FSDD_DATASETS = tuple(name for name in DATASETS if name.startswith('fsdd_'))


def check_split(cfg):
  """Refuses data.split='loso' for a dataset without speakers."""
  if cfg.get('split') == 'loso' and cfg.name not in FSDD_DATASETS:
    raise errors.ConfigError(
        "data.split='loso': leave-one-speaker-out needs an FSDD dataset "
        f'({", ".join(FSDD_DATASETS)}), not data.name={cfg.name!r}')


def get_dataset(cfg):
  """Returns the `Splits` of the dataset named by cfg.name."""
  check_split(cfg)
  return registry.resolve(DATASETS, 'data.name', cfg.name)(cfg)
