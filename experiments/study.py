"""The whole study (configs/study.py): each stage's driver in turn, REPORT.md.

Stage <name> runs config.stages.<name>.config with the driver its
`experiment` names, in <workdir>/<name>, and on success writes
<workdir>/<name>/stage.json (its config and wall time). A stage whose
stage.json holds its current config (where the data and caches live aside)
is skipped; any other is run, and its
driver resumes what it finished before a kill. A GAN stage then writes
synthetic.npz, the samples the grid stage after it reads. REPORT.md puts each
table's cells, our mean ± 95% CI, beside the study's single-run number.
"""

import datetime
import glob
import json
import math
import os
import time

from absl import logging

from configs import base
import errors
import experiments
from eval import generate
from eval import report
import registry
from train import console
from train import metrics
from train import workdir as workdir_lib

STAGE_FILE = 'stage.json'
# A driver's results.json rows: the columns naming a cell, the study's number.
TABLES = {'mfcc': (('approach', 'split'), 'study'),
          'augment_grid': (('real/class', 'generated/class'), 'study (1 run)'),
          'attention_sweep': (('model',), 'study accuracy'),
          'spectrogram': (('model',), 'seed accuracy')}
COLUMNS = ('cell', 'ours (mean ± 95% CI)', 'seeds', 'study', 'ours − study',
           'verdict', 'study noise (95%)', 'covered by study noise')


def stage_config(config, name, workdir):
  """The child config of stage `name`, with the study's data folder and
  defaults; a relative grid.synthetic names a file below the workdir."""
  cfg = base.derive(config.stages[name].config, defaults=config.defaults,
                    force=config.force, **{
                        'data.dir': config.data.dir,
                        'data.allow_download': config.data.allow_download})
  synthetic = cfg.get('grid', {}).get('synthetic')
  if synthetic and not os.path.isabs(synthetic):
    cfg.grid.synthetic = os.path.join(workdir, synthetic)
  return cfg


def check(config, workdir):
  """Refuses a bad order or stage before anything runs or is written."""
  order = tuple(config.order)
  unknown = [n for n in order if n not in config.stages]
  if unknown or len(set(order)) != len(order) or not order:
    raise errors.ConfigError(
        f'order={order}: need distinct stage names; unknown {unknown}; '
        f'choices: {sorted(config.stages)}')
  for k, name in enumerate(order):
    cfg = stage_config(config, name, workdir)
    registry.resolve(experiments.EXPERIMENTS, f'stages.{name}.config.experiment',
                     cfg.experiment)
    stage = config.stages[name]
    if cfg.experiment == 'study' or (
        stage.table and (cfg.experiment not in TABLES or stage.test_size < 1)):
      raise errors.ConfigError(
          f'stages.{name}: experiment={cfg.experiment!r}, table={stage.table!r}'
          f', test_size={stage.test_size}: a table stage runs one of '
          f'{sorted(TABLES)} and needs the study\'s test_size >= 1')
    source = config.stages[name].config.get('grid', {}).get('synthetic', '')
    maker = source.split('/')[0] if source and not os.path.isabs(source) else ''
    if maker and maker not in order[:k] and not os.path.exists(
        cfg.grid.synthetic):
      raise errors.ConfigError(
          f'stages.{name}: its samples {cfg.grid.synthetic} come from stage '
          f'{maker!r}, which order={order} does not run before it')


def _config_json(cfg):
  return json.loads(cfg.to_json_best_effort())


# Fields a finished stage may differ in and still be skipped: a run resumes
# with them changed (train/workdir.py), and none changes a number, so a clone
# elsewhere (another data.dir) skips what it finished. train.epochs, the other
# resumable field, does change the numbers: a stage with more epochs runs on.
_MAY_DIFFER = tuple(f for f in workdir_lib.RESUMABLE_FIELDS
                    if f != 'train.epochs')


def _without(config_json, fields):
  """A copy of the nested dict without the dotted `fields`."""
  out = json.loads(json.dumps(config_json))
  for field in fields:
    *parents, leaf = field.split('.')
    node = out
    for key in parents:
      node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
      node.pop(leaf, None)
  return out


def _comparable(config_json, below):
  """config_json without the fields a finished stage may differ in, and with
  a grid.synthetic ending in `below` (the samples' path in the workdir) named
  by `below` alone: a study workdir moved or copied elsewhere brings its GAN
  stages' samples along."""
  out = _without(config_json, _MAY_DIFFER)
  grid = out.get('grid')
  if below and isinstance(grid, dict) and str(
      grid.get('synthetic', '')).endswith(os.sep + below):
    grid['synthetic'] = below
  return out


def finished(cfg, stage_dir):
  """The stage.json record of a stage finished with this config, or None. A
  record made before a field was added reads as holding the field's earlier
  value (train/workdir.py), as a run's config.json does when it resumes."""
  path = os.path.join(stage_dir, STAGE_FILE)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    record = json.load(f)
  synthetic = os.path.abspath(cfg.get('grid', {}).get('synthetic') or '/')
  workdir = os.path.dirname(os.path.abspath(stage_dir))
  below = (os.path.relpath(synthetic, workdir)
           if synthetic.startswith(workdir + os.sep) else '')
  recorded = workdir_lib.fill_added(record.get('config', {}))
  same = (_comparable(recorded, below) ==
          _comparable(_config_json(cfg), below))
  return record if same else None


def write_samples(stage_dir, per_class):
  """The GAN's synthetic.npz (per_class per label, noise seed 0) and grid."""
  gan_config, state = generate.load_generator(stage_dir)
  x, y = generate.generate(gan_config, state, per_class)
  path = os.path.join(stage_dir, 'synthetic.npz')
  generate.save_samples(path, x, y, stage_dir, seed=0, bn='running')
  generate.save_grid(os.path.join(stage_dir, 'synthetic_grid.png'),
                     generate.generate(gan_config, state, 10)[0], rows=10)


def run(config, workdir):
  """Runs config.order's stages not yet finished; writes REPORT.md."""
  check(config, workdir)
  order = tuple(config.order)
  configs = {n: stage_config(config, n, workdir) for n in order}
  done = {n: finished(configs[n], os.path.join(workdir, n)) for n in order}
  todo = [n for n in order if not done[n]]
  estimate = {n: 60 * config.stages[n].estimate_min for n in order}
  logging.info(
      'study: %d stages, %d finished, %d to run; estimated time %s (rough, '
      'a 2-core CPU; configs/study.py)', len(order), len(order) - len(todo),
      len(todo), console.duration(sum(estimate[n] for n in todo)))
  spent, estimated = 0.0, 0.0
  for k, name in enumerate(order, 1):
    stage_dir = os.path.join(workdir, name)
    if done[name]:
      logging.info('%d/%d %s: skip, finished (%s/%s, took %s)', k, len(order),
                   name, stage_dir, STAGE_FILE,
                   console.duration(done[name]['seconds']))
      continue
    # The estimates of the stages left, scaled by this invocation's pace.
    pace = spent / estimated if estimated else 1.0
    left = pace * sum(estimate[n] for n in todo[todo.index(name):])
    logging.info('%d/%d %s: %s (ETA %s)', k, len(order), name,
                 configs[name].experiment, console.duration(left))
    t0 = time.perf_counter()
    entry = registry.resolve(experiments.EXPERIMENTS, 'experiment',
                             configs[name].experiment)
    entry(configs[name], stage_dir)
    if config.stages[name].samples_per_class:
      write_samples(stage_dir, config.stages[name].samples_per_class)
    seconds = time.perf_counter() - t0
    spent, estimated = spent + seconds, estimated + estimate[name]
    workdir_lib.write_json(os.path.join(stage_dir, STAGE_FILE), {
        'config': _config_json(configs[name]), 'seconds': seconds,
        'finished': datetime.datetime.now().isoformat(timespec='seconds')})
  return write_report(config, workdir)


def cells(name, stage, results):
  """REPORT.md rows of one table stage's results.json rows."""
  labels, default_column = TABLES[stage.config.experiment]
  column = stage.study_column or default_column
  rows = []
  for r in results['table']:
    mean, ci95, n = r['mean'], r.get('ci95'), r['n']
    ci95 = float('nan') if ci95 is None else ci95
    row = {'stage': name, 'table': stage.table, 'mean': mean, 'ci95': ci95,
           'n': n, 'cell': ', '.join(f'{c} {r[c]}' for c in labels),
           'ours (mean ± 95% CI)': f'{mean:.4f}' + (
               '' if math.isnan(ci95) else f' ± {ci95:.4f}'),
           'seeds': n, 'study': '—', 'ours − study': '', 'verdict': '—',
           'study noise (95%)': '', 'covered by study noise': ''}
    if r.get(column) not in (None, ''):
      study = float(r[column])
      verdict, noise, covered = report.study_verdict(mean, ci95, study,
                                                     stage.test_size)
      row.update({'study': f'{study:.4f}', 'ours − study': f'{mean - study:+.4f}',
                  'verdict': verdict, 'study noise (95%)': f'± {noise:.4f}',
                  'covered by study noise': 'yes' if covered else 'no'})
    rows.append(row)
  return rows


def _figures(workdir, name):
  stage_dir = os.path.join(workdir, name)
  paths = sorted(glob.glob(os.path.join(stage_dir, '*.png')))
  paths += sorted(glob.glob(os.path.join(stage_dir, 'samples', '*.png')))[-1:]
  return [f'![{os.path.relpath(p, workdir)}]({os.path.relpath(p, workdir)})'
          for p in paths]


def _section(config, workdir, name):
  """(REPORT.md lines, cells) of one stage of config.order."""
  stage = config.stages[name]
  path = os.path.join(workdir, name, 'results.json')
  title = f'Table {stage.table}' if stage.table else 'GAN'
  lines = [f'## {title}: stage `{name}` ({stage.config.experiment})', '']
  if not os.path.exists(path):
    return lines + ['Not finished: no results.json yet.', ''], []
  with open(path) as f:
    results = json.load(f)
  rows = []
  if stage.table:
    rows = cells(name, stage, results)
    tables = sorted(glob.glob(os.path.join(workdir, name, 'table*.md')))
    lines += [*report.markdown_rows(rows, COLUMNS), '',
              'Full tables: ' + ', '.join(
                  f'[{os.path.relpath(t, workdir)}]({os.path.relpath(t, workdir)})'
                  for t in tables)]
  else:
    lines.append(
        f'Trained {results.get("epochs_run", "?")} epochs on '
        f'{results.get("train_images", "?")} images; its classifier\'s test '
        f'accuracy {results.get("aux_test_accuracy", float("nan")):.4f}. '
        f'Samples: [{name}/synthetic.npz]({name}/synthetic.npz) '
        f'({stage.samples_per_class} per class), read by the grid after it.')
  return lines + ['', *_figures(workdir, name), ''], rows


def write_report(config, workdir):
  """<workdir>/REPORT.md and results.json (every cell) from finished stages."""
  sections, rows = [], []
  for name in config.order:
    lines, new = _section(config, workdir, name)
    sections += lines
    rows += new
  compared = [r for r in rows if r['verdict'] != '—']
  summary = []
  for table in dict.fromkeys(r['table'] for r in rows):
    t = [r for r in compared if r['table'] == table]
    summary.append({'table': table, 'cells with a study number': len(t), **{
        v: sum(r['verdict'] == v for r in t) for v in report.VERDICTS},
                    'covered by study noise': sum(
                        r['covered by study noise'] == 'yes' for r in t)})
  not_run = [n for n in config.stages if n not in config.order]
  lines = [
      '# The study, reproduced: every results table beside its numbers', '',
      f'Made by `python main.py --config=configs/study.py` in {workdir}, '
      f'{datetime.datetime.now().isoformat(timespec="minutes")}. '
      f'{metrics.machine_note()}', '',
      'Ours: mean ± 95% CI (Student t) over seeds; the study: one run. '
      'Verdict: "within CI" when the study\'s number lies in our CI, else '
      '"above" or "below" (our mean against the study\'s). Study noise: '
      '1.96 sqrt(p (1 - p) / n), the binomial 95% half-width of one accuracy p '
      'on the study\'s n test items (n per table: configs/study.py '
      'TEST_SIZES); "covered" when |ours − study| is within it.', '',
      *(report.markdown_rows(summary, list(summary[0])) if summary else []),
      '', *sections,
      '## Not run', '',
      *(f'- `{n}` ({config.stages[n].config.experiment}): not in '
        f'config.order; {config.stages[n].not_run or "add it there"}'
        for n in not_run),
      '- Tables 2, 4, 7, 8, 9, 11 and 12 are architectures and '
      'hyper-parameters, not results (the configs and nets/ follow them).', '']
  with open(os.path.join(workdir, 'REPORT.md'), 'w') as f:
    f.write('\n'.join(lines))
  metrics.write_results(workdir, {'cells': report.select(
      rows, ['stage', 'table', 'cell', 'mean', 'ci95', 'n', 'study',
             'verdict', 'covered by study noise'])})
  logging.info('study report: %s', os.path.join(workdir, 'REPORT.md'))
  # main.py's last line: the compared cells' means (or every cell's).
  return compared or rows or {}
