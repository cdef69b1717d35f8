"""Runs one config for several models x seeds, each a supervised run."""

import os

from configs import base
from experiments import supervised
from train import console
from train import metrics


def seed_range(config):
  """The seeds a driver trains one after another: seed .. seed + seeds - 1."""
  return range(config.seed, config.seed + config.seeds)


def run_models(config, workdir, override=None, after_first=None, folds=None):
  """Trains sweep.models x folds x config.seeds runs under
  `workdir`/<model>/[<fold>/]seed<k>.

  folds: {fold name: {dotted config path: value}}, the folds of a
  cross-validation (each result then names its 'fold'); None: one run per
  model and seed. override(cfg, name) may adjust each run's config;
  after_first(run_dir, name) is called after each model's first run
  (figures). Returns ({model: [results.json dicts]}, {model: first run's
  history}). Finished runs resume as finished, so an interrupted sweep picks
  up where it stopped.
  """
  results, histories = {}, {}
  folds = folds or {'': {}}
  runs = console.RunCounter(
      len(config.sweep.models) * len(folds) * config.seeds)
  for name in config.sweep.models:
    for fold, fields in folds.items():
      for seed in seed_range(config):
        cfg = base.derive(config, experiment='supervised', seed=seed, seeds=1,
                          **{'model.name': name}, **fields)
        if override:
          override(cfg, name)
        run_dir = os.path.join(workdir, name, fold, f'seed{seed}')
        label = ' '.join(filter(None, (name, fold, f'seed {seed}')))
        runs.start(label)
        result = supervised.train_and_evaluate(cfg, run_dir)
        runs.finish(f'{label}: test_accuracy {result["test_accuracy"]:.4f}')
        results.setdefault(name, []).append(
            {'fold': fold, **result} if fold else result)
        if name not in histories:
          histories[name] = metrics.read_history(run_dir)
          if after_first:
            after_first(run_dir, name)
  return results, histories
