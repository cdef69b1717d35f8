"""Data pipelines, picked by `config.data.name`.

Entries name 'module:function' and are imported on use, so an MNIST run
never imports the audio stack (librosa).
"""

import registry

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
