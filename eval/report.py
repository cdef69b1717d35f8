"""Tables (markdown + CSV) and figures that experiments write from real runs."""

import csv
import math
import os

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np
from scipy import stats


def mean_std_ci(values):
  """(mean, sample std, 95% CI half-width by Student's t) of a list."""
  v = np.asarray(values, np.float64)
  if len(v) < 2:
    return float(v.mean()), float('nan'), float('nan')
  std = float(v.std(ddof=1))
  half = float(stats.t.ppf(0.975, len(v) - 1) * std / math.sqrt(len(v)))
  return float(v.mean()), std, half


def fmt_mean_std(values, digits=4):
  mean, std, _ = mean_std_ci(values)
  if math.isnan(std):
    return f'{mean:.{digits}f}'
  return f'{mean:.{digits}f} ± {std:.{digits}f}'


def fmt_mean_ci(values, digits=4):
  """'mean ± 95% CI half-width' of a list ('mean' alone for one value)."""
  mean, _, half = mean_std_ci(values)
  if math.isnan(half):
    return f'{mean:.{digits}f}'
  return f'{mean:.{digits}f} ± {half:.{digits}f}'


# The numbers behind a 'mean ± std' cell, as CSV columns and row keys.
STATS = ('mean', 'std', 'ci95', 'n')


def seed_stats(values):
  """{mean, std, ci95, n} of per-seed values (std and ci95 NaN for one)."""
  return dict(zip(STATS, (*mean_std_ci(values), len(values))))


def loso_rows(runs, **label):
  """Leave-one-speaker-out rows of one model: each fold's test accuracy (mean
  ± std over its seeds), then the mean ± 95% CI over every fold x seed.

  runs: dicts with 'fold', 'held_out' and 'test_accuracy'; `label` (e.g.
  model='lenet') starts every row.
  """
  folds = {}
  for r in sorted(runs, key=lambda r: r['fold']):
    folds.setdefault((r['fold'], r['held_out']), []).append(r['test_accuracy'])
  rows = [{**label, 'fold': fold, 'held out': speaker,
           'test accuracy': fmt_mean_std(accs), **seed_stats(accs)}
          for (fold, speaker), accs in folds.items()]
  every = [r['test_accuracy'] for r in runs]
  rows.append({**label, 'fold': 'all',
               'held out': f'mean ± 95% CI ({len(folds)} folds x seeds, '
                           f'n={len(every)})',
               'test accuracy': fmt_mean_ci(every), **seed_stats(every)})
  return rows


# What a verdict can say: the study's number inside our 95% CI, or our mean
# above or below it (and it outside the CI).
VERDICTS = ('within CI', 'above', 'below')


def study_verdict(mean, ci95, study, test_size):
  """Our mean ± ci95 against the study's single-run accuracy on `test_size`
  items: (one of VERDICTS, the study's own 95% noise half-width, whether
  |mean - study| is within that noise).

  The study's noise is the binomial 1.96 sqrt(p (1 - p) / n) of one accuracy
  p measured on n test items; a NaN ci95 (one seed) counts as zero width.
  """
  half = 0.0 if math.isnan(ci95) else ci95
  if abs(study - mean) <= half:
    verdict = 'within CI'
  else:
    verdict = 'above' if mean > study else 'below'
  noise = 1.96 * math.sqrt(study * (1 - study) / test_size)
  return verdict, noise, abs(mean - study) <= noise


def select(rows, columns):
  """`rows` with only `columns`: a table's CSV view, for results.json."""
  return [{c: r.get(c) for c in columns} for r in rows]


def markdown_rows(rows, columns):
  """The lines of a markdown table of `rows` (dicts) in `columns`."""
  cell = lambda v: f'{v:.4f}' if isinstance(v, float) else str(v)
  return ['| ' + ' | '.join(columns) + ' |',
          '|' + '|'.join('---' for _ in columns) + '|',
          *('| ' + ' | '.join(cell(r.get(c, '')) for c in columns) + ' |'
            for r in rows)]


def write_table(rows, path_stem, columns=None, title=None, notes=(),
                csv_columns=None):
  """Writes `rows` (list of dicts) to <path_stem>.md and <path_stem>.csv.

  The markdown holds `columns`, for people ('0.9760 ± 0.0010'); the CSV holds
  `csv_columns` (default: the same), which name numbers for machines
  (STATS in place of such a cell).
  """
  columns = columns or list(rows[0])
  os.makedirs(os.path.dirname(os.path.abspath(path_stem)), exist_ok=True)
  with open(path_stem + '.csv', 'w', newline='') as f:
    w = csv.DictWriter(f, csv_columns or columns, extrasaction='ignore')
    w.writeheader()
    w.writerows(rows)
  lines = [f'### {title}', ''] if title else []
  lines += markdown_rows(rows, columns)
  lines += [''] + [f'{n}' for n in notes]
  with open(path_stem + '.md', 'w') as f:
    f.write('\n'.join(lines) + '\n')
  return '\n'.join(lines)


def plot_curves(histories, path, title=''):
  """Dual-axis accuracy/loss curves per run, one panel per named history.

  histories: {name: [metrics.jsonl rows]}. Accuracy on the left axis (solid),
  loss on the right (dashed); train and val in each.
  """
  n = len(histories)
  cols = min(n, 3)
  rows = math.ceil(n / cols)
  fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows),
                           squeeze=False)
  for ax, (name, hist) in zip(axes.flat, histories.items()):
    epochs = [r['epoch'] for r in hist]
    ax2 = ax.twinx()
    for split, color in (('train', 'tab:blue'), ('val', 'tab:orange')):
      if f'{split}_accuracy' in hist[0]:
        ax.plot(epochs, [r[f'{split}_accuracy'] for r in hist], color=color,
                label=f'{split} acc')
      ax2.plot(epochs, [r[f'{split}_loss'] for r in hist], color=color,
               linestyle='--', label=f'{split} loss')
    ax.set_title(name)
    ax.set_xlabel('epoch')
    ax2.set_ylabel('loss')
    if 'train_accuracy' in hist[0]:
      ax.set_ylabel('accuracy')
    else:  # regression (autoencoder) runs: loss only
      ax.set_yticks([])
    handles = ax.get_legend_handles_labels()
    handles2 = ax2.get_legend_handles_labels()
    ax.legend(handles[0] + handles2[0], handles[1] + handles2[1],
              fontsize=7, loc='center right')
  for ax in list(axes.flat)[n:]:
    ax.axis('off')
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=110)
  plt.close(fig)


def plot_accuracy_vs_d(table, path):
  """Approach A's test accuracy against d per split, baseline dashed (Figure 2)."""
  fig, ax = plt.subplots(figsize=(6, 4))
  for i, split in enumerate(sorted({r['split'] for r in table})):
    color = f'C{i}'
    a = sorted((r['d'], r['mean']) for r in table
               if r['split'] == split and r['d'] != '')
    if a:
      ax.plot(*zip(*a), marker='o', color=color, label=f'Approach A ({split})')
    for r in table:
      if r['split'] == split and r['approach'] == 'baseline':
        ax.axhline(r['mean'], color=color, linestyle='--',
                   label=f'baseline ({split})')
  ax.set_xlabel('bottleneck d')
  ax.set_ylabel('test accuracy')
  ax.set_title('Figure 2: accuracy vs autoencoder bottleneck')
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def plot_confusion(counts, path, title=''):
  """Confusion-matrix counts (rows: true class, columns: predicted) as a PNG."""
  n = len(counts)
  fig, ax = plt.subplots(figsize=(5.6, 4.8))
  im = ax.imshow(counts, cmap='Blues')
  for (i, j), v in np.ndenumerate(counts):
    ax.text(j, i, str(v), ha='center', va='center', fontsize=7,
            color='white' if v > counts.max() / 2 else 'black')
  ax.set_xticks(range(n))
  ax.set_yticks(range(n))
  ax.set_xlabel('predicted')
  ax.set_ylabel('true')
  ax.set_title(title, fontsize=9)
  fig.colorbar(im, ax=ax)
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=100)
  plt.close(fig)
