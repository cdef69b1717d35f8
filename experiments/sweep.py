"""Runs one config for several models x seeds, each a supervised run."""

import os

from configs import base
from experiments import supervised
from train import console
from train import metrics


def seed_range(config):
  """The seeds a driver trains one after another: seed .. seed + seeds - 1."""
  return range(config.seed, config.seed + config.seeds)


def run_models(config, workdir, override=None, after_first=None):
  """Trains sweep.models x config.seeds runs under `workdir`/<model>/seed<k>.

  override(cfg, name) may adjust each run's config; after_first(run_dir,
  name) is called after each model's first seed (figures). Returns
  ({model: [results.json dicts]}, {model: first seed's history}).
  Finished runs resume as finished, so an interrupted sweep picks up where
  it stopped.
  """
  results, histories = {}, {}
  runs = console.RunCounter(len(config.sweep.models) * config.seeds)
  for name in config.sweep.models:
    for seed in seed_range(config):
      cfg = base.derive(config, experiment='supervised', seed=seed, seeds=1,
                        **{'model.name': name})
      if override:
        override(cfg, name)
      run_dir = os.path.join(workdir, name, f'seed{seed}')
      runs.start(f'{name} seed {seed}')
      result = supervised.train_and_evaluate(cfg, run_dir)
      runs.finish(f'{name} seed {seed}: test_accuracy '
                  f'{result["test_accuracy"]:.4f}')
      results.setdefault(name, []).append(result)
      if seed == config.seed:
        histories[name] = metrics.read_history(run_dir)
        if after_first:
          after_first(run_dir, name)
  return results, histories
