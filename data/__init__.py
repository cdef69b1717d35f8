"""Data pipelines, picked by `config.data.name`."""

import errors
from data import mnist_pipeline

DATASETS = {
    'reduced_mnist': mnist_pipeline.reduced_mnist,
}


def get_dataset(cfg):
  """Returns the `Splits` of the dataset named by cfg.name."""
  if cfg.name not in DATASETS:
    raise errors.ConfigError(
        f'data.name={cfg.name!r}: unknown dataset; choices: {sorted(DATASETS)}')
  return DATASETS[cfg.name](cfg)
