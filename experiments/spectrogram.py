"""Problem 4B comparison: the spectrogram LeNets -> Table 13, curves, Grad-CAM;
with data.split='loso', every fold and the LOSO table."""

import os

from data import fsdd
from eval import gradcam
from eval import report
from experiments import sweep
from train import metrics

# The seed's Table 13 (one run each on a T4 GPU): test accuracy, train time s.
SEED_RESULTS = {'lenet': (0.9727, 126), 'lenet_cbam': (0.9922, 310),
                'lenet_hybrid': (0.9844, 138)}


def run(config, workdir):
  """Trains sweep.models x seeds runs under `workdir`/<model>/seed<k> (x
  folds, `workdir`/<model>/loso_<speaker>/seed<k>, for data.split='loso')."""
  folds = sweep.fold_folders(fsdd.loso_folds(config.data)) if (
      config.data.split == 'loso') else {}
  results, histories = sweep.run_models(
      config, workdir,
      override=lambda cfg, name: setattr(cfg.train, 'l2', config.sweep.l2[name]),
      after_first=lambda run_dir, name: gradcam.explain_run(
          run_dir, os.path.join(workdir, f'gradcam_{name}.png')),
      folds={folder: {'data.loso_fold': fold}
             for folder, (fold, _) in folds.items()} or None)

  rows = []
  for name, runs in results.items():
    acc = [r['test_accuracy'] for r in runs]
    times = [r['train_time_s'] for r in runs]
    epochs = [r['epochs_run'] for r in runs]
    seed_acc, seed_time = SEED_RESULTS.get(name, ('', ''))
    rows.append({
        'model': name, 'params': runs[0]['params'],
        'test accuracy': report.fmt_mean_std(acc), **report.seed_stats(acc),
        'train time s': f'{sum(times) / len(times):.1f}',
        'epochs': '/'.join(map(str, epochs)),
        's/epoch': f'{sum(times) / sum(epochs):.1f}',
        'seed accuracy': seed_acc, 'seed time s (T4)': seed_time,
    })
  columns = ['model', 'params', 'test accuracy', 'train time s', 'epochs',
             's/epoch', 'seed accuracy', 'seed time s (T4)']
  csv_columns = ['model', 'params', *report.STATS, *columns[3:]]
  seeds = sweep.seeds_note(config)
  table = report.write_table(
      rows, os.path.join(workdir, 'table13'), columns,
      title=f'Table 13: spectrogram CNNs on FSDD ({config.data.split} split)',
      notes=[f'{seeds} (split seed {config.data.split_seed}), at most '
             f'{config.train.epochs} epochs with early stopping (patience '
             f'{config.train.patience}, best val loss restored), batch '
             f'{config.train.batch_size}, {config.model.dtype}. '
             f'{metrics.machine_note()} Train time excludes compilation; '
             '"epochs" is epochs run per seed (and fold).'],
      csv_columns=csv_columns)
  loso = {'loso': sweep.write_loso_table(
      config, workdir, results, folds, 'spectrogram CNNs')} if folds else {}
  metrics.write_results(workdir, {'table': report.select(rows, csv_columns),
                                  **loso})
  report.plot_curves(histories, os.path.join(workdir, 'curves.png'),
                     title=f'Problem 4B, {config.data.split} split ({seeds})')
  print(table)
  return rows
