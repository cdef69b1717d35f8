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
    'fsdd_mfcc_mean': 'data.mfcc:fsdd_mfcc_mean',
    'fsdd_mfcc_flat': 'data.mfcc:fsdd_mfcc_flat',
    'fsdd_mfcc_frames': 'data.mfcc:fsdd_mfcc_frames',
}


def get_dataset(cfg):
  """Returns the `Splits` of the dataset named by cfg.name."""
  return registry.resolve(DATASETS, 'data.name', cfg.name)(cfg)
