"""Runs one config for several models x seeds, each a supervised run."""

import os

from absl import logging
import ml_collections

from train import metrics
from train import supervised


def run_models(config, workdir, override=None, after_first=None):
  """Trains sweep.models x sweep.seeds runs under `workdir`/<model>/seed<k>.

  override(cfg, name) may adjust each run's config; after_first(run_dir,
  name) is called after each model's first seed (figures). Returns
  ({model: [results.json dicts]}, {model: first seed's history}).
  Finished runs resume as finished, so an interrupted sweep picks up where
  it stopped.
  """
  results, histories = {}, {}
  for name in config.sweep.models:
    for s in range(config.sweep.seeds):
      cfg = ml_collections.ConfigDict(config.to_dict())
      cfg.experiment, cfg.model.name, cfg.seed = 'supervised', name, config.seed + s
      if override:
        override(cfg, name)
      run_dir = os.path.join(workdir, name, f'seed{cfg.seed}')
      result = supervised.train_and_evaluate(cfg, run_dir)
      logging.info('%s seed %d: %s', name, cfg.seed, result)
      results.setdefault(name, []).append(result)
      if s == 0:
        histories[name] = metrics.read_history(run_dir)
        if after_first:
          after_first(run_dir, name)
  return results, histories
