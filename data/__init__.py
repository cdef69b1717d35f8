"""Data pipelines, picked by `config.data.name`."""

import errors
from data import mfcc
from data import mnist_pipeline
from data import spectrogram

DATASETS = {
    'reduced_mnist': mnist_pipeline.reduced_mnist,
    'fsdd_spectrogram': spectrogram.fsdd_spectrogram,
    'fsdd_mfcc_mean': mfcc.fsdd_mfcc_mean,
    'fsdd_mfcc_flat': mfcc.fsdd_mfcc_flat,
    'fsdd_mfcc_frames': mfcc.fsdd_mfcc_frames,
}


def get_dataset(cfg):
  """Returns the `Splits` of the dataset named by cfg.name."""
  if cfg.name not in DATASETS:
    raise errors.ConfigError(
        f'data.name={cfg.name!r}: unknown dataset; choices: {sorted(DATASETS)}')
  return DATASETS[cfg.name](cfg)
