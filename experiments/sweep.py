"""Runs one config for several models x seeds (x LOSO folds), each a
supervised run, and the LOSO table of such runs."""

import os

from configs import base
from eval import report
from experiments import supervised
from train import console
from train import metrics


def seed_range(config):
  """The seeds a driver trains one after another: seed .. seed + seeds - 1."""
  return range(config.seed, config.seed + config.seeds)


def seeds_note(config):
  """'seed 0' or 'seeds 0..2': the seeds of a driver's tables."""
  if config.seeds == 1:
    return f'seed {config.seed}'
  return f'seeds {config.seed}..{config.seed + config.seeds - 1}'


def fold_folders(folds):
  """{'loso_<speaker>' (its runs' folder): (fold, speaker)} of the
  [(fold, speaker)] that data.fsdd.loso_folds gives for data.split='loso'."""
  return {f'loso_{speaker}': (fold, speaker) for fold, speaker in folds}


def write_loso_table(config, workdir, results, folds, what, label='model',
                     note=''):
  """loso.{md,csv}: each entry's folds and their mean ± 95% CI.

  results: {name: [results.json dicts, each with its 'fold' folder]};
  folds: fold_folders(...); what: the title's models ('spectrogram CNNs');
  label: the first column's name; note: a sentence added to the table's
  note. Returns the CSV view of the rows.
  """
  rows = []
  for name, runs in results.items():
    rows += report.loso_rows(
        [{'fold': folds[r['fold']][0], 'held_out': folds[r['fold']][1],
          'test_accuracy': r['test_accuracy']} for r in runs],
        **{label: name})
  columns = [label, 'fold', 'held out', 'test accuracy']
  csv_columns = [*columns[:3], *report.STATS]
  train, val = config.data.fractions[:2]
  report.write_table(
      rows, os.path.join(workdir, 'loso'), columns,
      f'Leave one speaker out: {what}, test accuracy on the held-out speaker',
      [f'{seeds_note(config).capitalize()}; a fold\'s cell is the mean ± std '
       'over its seeds, the last row of each '
       f'{label} the mean ± 95% CI (Student t) over every fold x seed. '
       f'Validation: a stratified {val:g}/{train + val:g} of the other '
       f'speakers\' recordings. {note}{" " if note else ""}'
       f'{metrics.machine_note()}'],
      csv_columns=csv_columns)
  return report.select(rows, csv_columns)


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
