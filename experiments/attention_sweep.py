"""Problem 4A sweep: every attention model x seeds -> Table 10 and figures."""

import os

from eval import attention_maps
from eval import report
from experiments import sweep
from train import metrics

# The study's single-run test accuracies (its Table 10), shown for comparison.
STUDY_ACCURACY = {'base': 0.9810, 'spatial': 0.9790, 'self_attention': 0.9820,
                  'cbam': 0.9830, 'se': 0.9855}


def _maps(run_dir, name, workdir):
  if name != 'base':
    attention_maps.render(run_dir, os.path.join(workdir, f'maps_{name}.png'))


def run(config, workdir):
  """Trains sweep.models x seeds; writes Table 10, curves and maps."""
  per_model, histories = sweep.run_models(
      config, workdir, after_first=lambda d, n: _maps(d, n, workdir))

  base_acc = [r['test_accuracy'] for r in per_model.get('base', [])]
  base_mean = report.mean_std_ci(base_acc)[0] if base_acc else float('nan')
  rows = []
  for name, results in per_model.items():
    acc = [r['test_accuracy'] for r in results]
    stats = report.seed_stats(acc)
    times = [r['train_time_s'] for r in results]
    rows.append({
        'model': name, 'params': results[0]['params'],
        'test accuracy (mean ± std)': report.fmt_mean_std(acc),
        '95% CI': f'± {stats["ci95"]:.4f}', **stats,
        'vs base': f'{stats["mean"] - base_mean:+.4f}',
        'train time s (mean)': f'{sum(times) / len(times):.1f}',
        'compile s': f'{results[0]["compile_time_s"]:.1f}',
        'study accuracy': STUDY_ACCURACY.get(name, ''),
    })
  columns = ['model', 'params', 'test accuracy (mean ± std)', '95% CI',
             'vs base', 'train time s (mean)', 'compile s', 'study accuracy']
  csv_columns = ['model', 'params', *report.STATS, *columns[4:]]
  table = report.write_table(
      rows, os.path.join(workdir, 'table10'), columns,
      title='Table 10: attention on Reduced MNIST (5000 train / 1000 test)',
      notes=[f'{config.seeds} seeds (seed {config.seed}..'
             f'{config.seed + config.seeds - 1}), {config.train.epochs} '
             f'epochs, batch {config.train.batch_size}. '
             f'{metrics.machine_note()} Train time excludes compilation.'],
      csv_columns=csv_columns)
  metrics.write_results(workdir, {'table': report.select(rows, csv_columns)})
  report.plot_curves(histories, os.path.join(workdir, 'curves.png'),
                     title=f'Problem 4A (seed {config.seed})')
  print(table)
  return rows
