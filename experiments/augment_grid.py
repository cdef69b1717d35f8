"""Accuracy over real x generated training sets (Problem 2's Table 3, Problem 3's
Tables 5 and 6).

Every cell (real per class, generated per class) trains the Table-2 CNN with
`trainer.fit`, one run per seed (config.seeds), on the cell's real Reduced-MNIST
images plus generated ones, and tests on the same MNIST test images
(data.test_per_class) in every cell. Generated images are augmentations of the
cell's real images (Table 3) or, with grid.synthetic naming an
`eval.generate` .npz, the first k per class of a GAN's samples (Tables 5, 6);
grid.augmented_per_class adds that many augmentations per class to the real
part of every cell (Table 6's 300 real + 1000 augmented). Run <workdir>/real<R>_gen<G>/seed<S> is a
one-cell, one-seed grid with its own config.json; one whose results.json holds
the epochs its config asks for is not trained again, so a stopped grid resumes,
and a grid with more seeds or cells reuses the runs it shares with an earlier
one (one trained for fewer epochs resumes from its checkpoint to the new count). Writes Table 3
(table<grid.table>.md/.csv, table<grid.table>_grid.md/.csv), with augmentations
Figure 5 (figure5.png), and accuracy_grid.png into the workdir."""

import dataclasses
import json
import os
import time

import jax
import numpy as np
from scipy import stats

from configs import base
import data
from data import augment
from data import splits as splits_lib
from data import synthetic as synthetic_lib
import errors
from eval import augment_figure
from eval import report
from experiments import supervised
from experiments import sweep
import nets
from train import console
from train import metrics
from train import trainer
from train import workdir as workdir_lib

# The seed study's single-run accuracies, per table: real -> by generated/class.
# Table 5's are those of the specific GAN (dcgan_<real>, trained on that real
# size); Table 6's come from the text of its section 3.3 (augmented baseline
# .9850, then .9855 / .9875 / .9860).
STUDIES = {
    '3': {300: {0: .9795, 1000: .9835, 2000: .9855, 3000: .9865},
          700: {0: .9860, 1000: .9855, 2000: .9890, 3000: .9875},
          1000: {0: .9885, 1000: .9895, 2000: .9890, 3000: .9890}},
    '5': {300: {0: .9785, 1000: .9485, 2000: .9400, 3000: .9110},
          700: {0: .9815, 1000: .9860, 2000: .9840, 3000: .9830},
          1000: {0: .9890, 1000: .9900, 2000: .9895, 3000: .9895}},
    '6': {300: {0: .9850, 1000: .9855, 2000: .9875, 3000: .9860}},
}
# Table 5's second number per cell: synthetic images from dcgan_full.
STUDY_FULL_GAN = {300: {1000: .9655, 2000: .9800, 3000: .9735},
                  700: {1000: .9855, 2000: .9855, 3000: .9845},
                  1000: {1000: .9875, 2000: .9865, 3000: .9865}}


def check_grid(config):
  """Validates config.grid and config.augment before anything is written."""
  g = config.grid
  augment.check_config(config.augment)
  if tuple(config.augment.pixel_range) != tuple(config.data.pixel_range):
    raise errors.ConfigError(
        f'augment.pixel_range={tuple(config.augment.pixel_range)}: must equal '
        f'data.pixel_range={tuple(config.data.pixel_range)}')
  if not g.real_per_class or min(g.real_per_class) < 1:
    raise errors.ConfigError(
        f'grid.real_per_class={tuple(g.real_per_class)}: need values >= 1')
  if not g.generated_per_class or min(g.generated_per_class) < 0:
    raise errors.ConfigError(
        f'grid.generated_per_class={tuple(g.generated_per_class)}: need '
        'values >= 0')
  if config.seeds < 1:
    raise errors.ConfigError(f'seeds={config.seeds}: must be >= 1')
  if g.table not in STUDIES:
    raise errors.ConfigError(f'grid.table={g.table!r}: one of {sorted(STUDIES)}')
  if g.augmented_per_class < 0:
    raise errors.ConfigError(
        f'grid.augmented_per_class={g.augmented_per_class}: must be >= 0')
  if config.replicas != 1:
    # fit's vmapped replicas ran 3.5x slower per epoch than one seed on the
    # 2-core CPU, so the grid trains its seeds one after another.
    raise errors.ConfigError(
        f'replicas={config.replicas}: the grid runs one seed per fit; set '
        'seeds instead')


def real_splits(config, real):
  """Splits with `real` train images per class plus grid.augmented_per_class
  augmentations of them (the cell's real part)."""
  try:
    splits = data.get_dataset(base.derive(config.data, train_per_class=real))
  except errors.ConfigError as e:
    raise errors.ConfigError(
        f'grid.real_per_class={tuple(config.grid.real_per_class)}: {e}') from e
  extra = config.grid.augmented_per_class
  if not extra:
    return splits
  # The key of a generated count no cell has.
  key = cell_key(config.grid.data_seed, real, 2**31 - 1)
  x_aug, y_aug = augment.generate_per_class(key, splits.x_train, splits.y_train,
                                            extra, config.augment)
  return dataclasses.replace(
      splits, x_train=np.concatenate([splits.x_train, x_aug]),
      y_train=np.concatenate([splits.y_train, y_aug]))


def load_synthetic(config):
  """grid.synthetic's images in data.pixel_range, or None (augmentations)."""
  g = config.grid
  if not g.synthetic:
    return None
  x, y = synthetic_lib.load(g.synthetic, config.data.pixel_range)
  # Fails now, before any training, when the file is too small for the grid.
  synthetic_lib.check_per_class(y, max(g.generated_per_class),
                                source=f'grid.synthetic={g.synthetic}')
  return x, y


def cell_key(data_seed, real, generated):
  """The fixed key of a cell's generated images."""
  return jax.random.fold_in(
      jax.random.fold_in(jax.random.PRNGKey(data_seed), real), generated)


def build_cell(real, generated, key, augment_cfg, synthetic=None):
  """`real` Splits plus `generated` images per class in the train set.

  The real images come first, each exactly once; the generated ones follow:
  augmentations of that class's real images, or the first `generated` of
  each class of `synthetic` (x, y) when given. Validation/test stay as given.
  """
  if synthetic is None:
    x_gen, y_gen = augment.generate_per_class(
        key, real.x_train, real.y_train, generated, augment_cfg)
  else:
    x_gen, y_gen = synthetic_lib.first_per_class(*synthetic, generated)
  return dataclasses.replace(
      real, x_train=np.concatenate([real.x_train, x_gen]),
      y_train=np.concatenate([real.y_train, y_gen]),
      info={**(real.info or {}), 'generated_per_class': generated,
            'num_real': len(real.x_train)})


def run_config(config, real, gen, seed):
  """The config of one run: a one-cell, one-seed grid.

  So a run's config.json does not depend on the rest of the grid, and a grid
  with more seeds or cells reuses the runs it shares with an earlier one.
  """
  return base.derive(config, seed=seed, seeds=1, **{
      'data.train_per_class': real, 'grid.real_per_class': (real,),
      'grid.generated_per_class': (gen,)})


def train_cell(run_cfg, run_dir, splits):
  """Trains one seed of one cell; writes and returns its results dict."""
  state, run = trainer.fit(
      run_cfg, run_dir, nets.get_model(run_cfg.model, run_cfg.defaults), splits)
  results = {
      'seed': run_cfg.seed, 'train_images': len(splits.x_train),
      **supervised.test_metrics(run_cfg, state, splits),
      **metrics.run_summary(run),
  }
  metrics.write_results(run_dir, results)
  return results


def table_rows(results, study):
  """Table rows: {(real, generated): [results per seed]} -> list of dicts."""
  rows = []
  for (real, gen), runs in sorted(results.items()):
    acc = [r['test_accuracy'] for r in runs]
    summary = report.seed_stats(acc)
    base = [r['test_accuracy'] for r in results.get((real, 0), [])]
    row = {
        'real/class': real, 'generated/class': gen,
        'train images': runs[0]['train_images'],
        'accuracy': report.fmt_mean_std(acc),
        '95% CI': f'± {summary["ci95"]:.4f}', **summary,
        'per seed': ' '.join(f'{a:.4f}' for a in acc),
        'study (1 run)': study.get(real, {}).get(gen, ''),
        'study, full GAN': STUDY_FULL_GAN.get(real, {}).get(gen, ''),
        'vs 0 generated': '', 'p (Welch)': '',
        'train s/seed': f'{np.mean([r["train_time_s"] for r in runs]):.0f}',
    }
    if gen and len(base) > 1 and len(acc) > 1:
      row['vs 0 generated'] = f'{summary["mean"] - np.mean(base):+.4f}'
      row['p (Welch)'] = f'{stats.ttest_ind(acc, base, equal_var=False).pvalue:.3f}'
    rows.append(row)
  return rows


def source_note(g, augment_cfg):
  """What a table's generated (and extra augmented) images are."""
  if g.synthetic:
    text = (f'Generated: the first k per class of {g.synthetic} (GAN samples, '
            'python -m eval.generate).')
  else:
    text = (f'Generated: augmentations of the cell\'s real images '
            f'(augment.strength={augment_cfg.strength}).')
  if g.augmented_per_class:
    text += (f' Every cell\'s real part also holds {g.augmented_per_class} '
             'augmentations per class of its real images.')
  if g.table == '5':
    text += (' Study (1 run): with the specific GAN dcgan_<real> (comparable '
             'where these samples come from the GAN trained on that real size) '
             'and, "full GAN", with dcgan_full.')
  return text


def write_tables(rows, config, workdir, total_s):
  """table<N> (long, with the study's numbers) and table<N>_grid (real x gen)."""
  tc, name = config.train, config.grid.table
  seeds = list(sweep.seed_range(config))
  notes = (
      source_note(config.grid, config.augment),
      f'Test accuracy on {config.data.test_per_class}/class MNIST test images '
      f'(the same in every cell; also the per-epoch validation set, as in the study, but no '
      f'early stopping or epoch selection uses it). Table-2 CNN (dropout '
      f'{config.model.dropout}), Adam {config.opt.learning_rate}, {tc.epochs} epochs, '
      f'batch {tc.batch_size}; seeds {seeds} vary init, dropout and shuffling; '
      f'the data of a cell is fixed (grid.data_seed={config.grid.data_seed}). '
      'mean ± sample std over seeds; 95% CI half-width by Student t; p: Welch t-test against the '
      'same real size with 0 generated. Study: the seed\'s single-run numbers.',
      f'{metrics.machine_note()} This invocation of the grid took '
      f'{total_s / 60:.1f} min.',
  )
  columns = ['real/class', 'generated/class', 'train images', 'accuracy',
             '95% CI', 'n', 'per seed', 'study (1 run)',
             *(['study, full GAN'] if name == '5' else []), 'vs 0 generated',
             'p (Welch)', 'train s/seed']
  csv_columns = [*columns[:3], *report.STATS, *columns[6:]]
  text = report.write_table(rows, os.path.join(workdir, f'table{name}'), columns,
                            f'Table {name}: accuracy, real x generated per '
                            'class', notes, csv_columns)
  metrics.write_results(workdir, {'table': report.select(rows, csv_columns)})
  gens = sorted({r['generated/class'] for r in rows})
  pivot = []
  for real in sorted({r['real/class'] for r in rows}):
    cells = {r['generated/class']: r for r in rows if r['real/class'] == real}
    pivot.append({'real \\ generated': real,
                  **{str(g): cells[g]['accuracy'] for g in cells},
                  **{f'{g} {k}': cells[g][k] for g in cells
                     for k in ('mean', 'std')}})
  report.write_table(pivot, os.path.join(workdir, f'table{name}_grid'),
                     ['real \\ generated'] + [str(g) for g in gens],
                     f'Table {name} (grid): mean ± std test accuracy', notes,
                     ['real \\ generated'] + [
                         f'{g} {k}' for k in ('mean', 'std') for g in gens])
  return text


def _run_dir(workdir, real, gen, seed):
  return os.path.join(workdir, f'real{real}_gen{gen}', f'seed{seed}')


def _results(run_dir):
  """A cell run's results.json, or None before it finished once."""
  path = os.path.join(run_dir, 'results.json')
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def finished(run_dir, epochs):
  """The results.json of a run trained for `epochs` epochs, or None. A cell
  run with another train.epochs passes the config check (train.epochs is
  resumable), so without this a 2-epoch cell would stand in a 20-epoch table."""
  result = _results(run_dir)
  return result if result and result.get('epochs_run') == epochs else None


def collect(config, workdir):
  """{(real, generated): [results of the finished seeds]} read from disk."""
  g = config.grid
  results = {}
  for real in g.real_per_class:
    for gen in g.generated_per_class:
      runs = [finished(_run_dir(workdir, real, gen, seed), config.train.epochs)
              for seed in sweep.seed_range(config)]
      if any(runs):
        results[real, gen] = [r for r in runs if r]
  return results


def write_report(config, workdir, total_s, reals):
  """The table, Figure 5 (augmentations only) and the accuracy plot from the
  finished runs; reals: {real per class: its real Splits} as `run` built them."""
  study = STUDIES[config.grid.table]
  rows = table_rows(collect(config, workdir), study)
  text = write_tables(rows, config, workdir, total_s)
  if not config.grid.synthetic:
    real = reals[min(config.grid.real_per_class)]
    digit = real.x_train[np.flatnonzero(real.y_train == 5)[0]]
    augment_figure.plot_augmentations(
        digit, config.augment, os.path.join(workdir, 'figure5.png'))
  augment_figure.plot_accuracy(rows, os.path.join(workdir, 'accuracy_grid.png'),
                               study)
  print(text)
  return rows


def run(config, workdir):
  """Trains every cell and seed of config.grid; writes the table and figures.

  Seed-major order: every cell gets its first seed before any gets its
  second, so a grid stopped early still fills the whole table.
  """
  check_grid(config)
  g = config.grid
  synthetic = load_synthetic(config)
  reals = {real: real_splits(config, real) for real in g.real_per_class}
  signature = next(iter(reals.values())).info['signature']
  if synthetic is not None:
    signature = splits_lib.combine_signatures(signature, splits_lib.signature(
        f'{len(synthetic[1])} synthetic images', *synthetic))
  todo = []
  for seed in sweep.seed_range(config):
    for real in reals:
      for gen in g.generated_per_class:
        run_dir = _run_dir(workdir, real, gen, seed)
        run_cfg = run_config(config, real, gen, seed)
        result = _results(run_dir)
        trained = result.get('epochs_run', 0) if result else None
        if result is not None:
          # Made with this config and data, or refused; a finished cell can
          # train on to more epochs but not be shortened.
          workdir_lib.check_config(run_cfg, run_dir, signature)
          if trained > run_cfg.train.epochs:
            raise errors.ConfigError(
                f'{run_dir}: trained for {trained} epochs, more than '
                f'train.epochs={run_cfg.train.epochs}; use another workdir')
        if trained != run_cfg.train.epochs:
          todo.append((run_cfg, run_dir, real, gen, seed))
  workdir_lib.record_config(config, workdir, signature)
  t0 = time.perf_counter()
  runs = console.RunCounter(len(todo))
  for run_cfg, run_dir, real, gen, seed in todo:
    what = f'real {real} + generated {gen} per class, seed {seed}'
    runs.start(what)
    splits = build_cell(reals[real], gen, cell_key(g.data_seed, real, gen),
                        config.augment, synthetic)
    splits.info['signature'] = signature
    result = train_cell(run_cfg, run_dir, splits)
    runs.finish(f'{what}: test_accuracy {result["test_accuracy"]:.4f}')
  return write_report(config, workdir, time.perf_counter() - t0, reals)
