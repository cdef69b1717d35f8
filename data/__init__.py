"""Data pipelines, picked by `config.data.name`.

Entries name 'module:function' and are imported on use, so that a run (or
`python -m data.fetch`) imports only the readers it needs.
"""

import importlib

import errors

DATASETS = {
    'reduced_mnist': 'data.mnist_pipeline:reduced_mnist',
    'fsdd_spectrogram': 'data.spectrogram:fsdd_spectrogram',
    'fsdd_mfcc_mean': 'data.mfcc:fsdd_mfcc_mean',
    'fsdd_mfcc_flat': 'data.mfcc:fsdd_mfcc_flat',
    'fsdd_mfcc_frames': 'data.mfcc:fsdd_mfcc_frames',
}


def get_dataset(cfg):
  """Returns the `Splits` of the dataset named by cfg.name."""
  if cfg.name not in DATASETS:
    raise errors.ConfigError(
        f'data.name={cfg.name!r}: unknown dataset; choices: {sorted(DATASETS)}')
  module, function = DATASETS[cfg.name].split(':')
  return getattr(importlib.import_module(module), function)(cfg)
