"""The one-command study: verdicts, the smoke path end to end, skip, errors."""

import json
import math
import os

import pytest

from configs import base
from configs import study as study_config
import errors
import experiments
from eval import report
from experiments import augment_grid
from experiments import study
from tests.train import test_gan


def test_verdict_against_our_ci_and_the_study_noise():
  # 0.975 in [0.97, 0.98]; noise at n=1000: 1.96 sqrt(.975 .025 / 1000) = .0097.
  verdict, noise, covered = report.study_verdict(0.975, 0.005, 0.9750, 1000)
  assert verdict == 'within CI' and covered
  assert noise == pytest.approx(0.009677, abs=1e-5)
  # Ours below: the study's .9855 outside [.9667, .9767], but 0.0138 is more
  # than its own noise (.0074), so not covered either.
  verdict, noise, covered = report.study_verdict(0.9717, 0.0050, 0.9855, 1000)
  assert (verdict, covered) == ('below', False)
  # Ours above, outside our narrow CI, yet within the study's noise at n=256
  # (1.96 sqrt(.9727 .0273 / 256) = .0199).
  verdict, noise, covered = report.study_verdict(0.9850, 0.002, 0.9727, 256)
  assert (verdict, covered) == ('above', True)
  assert noise == pytest.approx(0.01995, abs=1e-4)
  # One seed: no CI, so only an exact match is within it.
  assert report.study_verdict(0.95, math.nan, 0.96, 450)[0] == 'below'
  assert report.study_verdict(0.96, math.nan, 0.96, 450)[0] == 'within CI'


def _config(data_root, tmp_path):
  """configs/study.py:smoke shrunk to the fake data: MNIST 30/12 per class,
  FSDD 10 digits x 3 speakers x 6."""
  config = study_config.get_config('smoke')
  config.data.dir = str(data_root)
  config.data.allow_download = False
  s = config.stages
  s.table1.config.data.cache_dir = str(tmp_path / 'cache')
  s.table1.config.train.progress = False
  for grid in (s.table3.config, s.table5_gan_300.config):
    grid.data.test_per_class = 5
    grid.grid.real_per_class = (5,)
    grid.grid.generated_per_class = (0, 5)
    grid.train.batch_size = 16
  gan = test_gan.tiny_config(data_root)
  s.gan_300.config = gan
  s.gan_300.samples_per_class = 5
  t10 = s.table10.config
  t10.sweep.models = ('se',)
  t10.data.train_per_class = 20
  t10.data.test_per_class = 5
  t10.train.progress = False
  return config


def test_smoke_runs_every_stage_writes_report_and_skips(
    fake_mnist_dir, fake_fsdd, tmp_path, monkeypatch):
  assert fake_mnist_dir == fake_fsdd  # one data root holds both
  # The study's numbers of real 300 as those of the fake data's real 5.
  for table in ('3', '5'):
    monkeypatch.setitem(augment_grid.STUDIES, table, {5: {
        0: augment_grid.STUDIES[table][300][0],
        5: augment_grid.STUDIES[table][300][1000]}})
  log = []
  monkeypatch.setattr(study.logging, 'info',
                      lambda fmt, *args: log.append(str(fmt) % args))
  config = _config(fake_mnist_dir, tmp_path)
  workdir = str(tmp_path / 'study')
  experiments.run(config, workdir)
  for name in config.order:
    assert os.path.exists(os.path.join(workdir, name, study.STAGE_FILE)), name
  assert os.path.exists(os.path.join(workdir, 'gan_300', 'synthetic.npz'))
  text = open(os.path.join(workdir, 'REPORT.md')).read()
  for table in ('Table 1', 'Table 3', 'Table 5', 'Table 10'):
    assert f'## {table}: stage' in text, table
  assert '`table13` (spectrogram): not in config.order; left out' in text
  assert '`gan_700` (gan): not in config.order; add it with' in text
  assert '](table10/maps_se.png)' in text
  with open(os.path.join(workdir, 'results.json')) as f:
    rows = json.load(f)['cells']
  # A row per cell of every table stage: baseline, A d=20, B; 2 grid cells
  # each for Tables 3 and 5; se.
  assert [r['stage'] for r in rows] == (
      ['table1'] * 3 + ['table3'] * 2 + ['table5_gan_300'] * 2 + ['table10'])
  compared = [r for r in rows if r['verdict'] != '—']
  # Table 1's d=20 has no study number; every other cell has one.
  assert len(compared) == len(rows) - 1
  assert {r['verdict'] for r in compared} <= set(report.VERDICTS)
  assert {r['covered by study noise'] for r in compared} <= {'yes', 'no'}
  assert [r['n'] for r in rows if r['stage'] == 'table10'] == [2]
  for r in compared:  # the verdict the report shows is the function's
    ci95 = math.nan if r['ci95'] is None else r['ci95']  # JSON's NaN
    assert r['verdict'] == report.study_verdict(
        r['mean'], ci95, float(r['study']),
        config.stages[r['stage']].test_size)[0]
  assert log[0].startswith('study: 5 stages, 0 finished, 5 to run; estimated')
  assert log[1].startswith('1/5 table1: mfcc (ETA ')

  # A second run trains nothing: every stage is skipped, the report rewritten.
  stamps = {n: os.path.getmtime(os.path.join(workdir, n, 'results.json'))
            for n in config.order}
  log.clear()
  experiments.run(config, workdir)
  assert log[0].startswith('study: 5 stages, 5 finished, 0 to run')
  assert [l.split(' (')[0] for l in log[1:6]] == [
      f'{k}/5 {n}: skip, finished' for k, n in enumerate(config.order, 1)]
  assert stamps == {n: os.path.getmtime(os.path.join(workdir, n,
                                                      'results.json'))
                    for n in config.order}
  # The same data through another path (a clone elsewhere) skips them too.
  log.clear()
  config.data.dir = os.path.join(fake_mnist_dir, '.')
  experiments.run(config, workdir)
  assert log[0].startswith('study: 5 stages, 5 finished, 0 to run')


def test_a_stage_is_finished_with_its_numbers_config(tmp_path):
  config = study_config.get_config('smoke')
  cfg = study.stage_config(config, 'table3', str(tmp_path))
  stage_dir = str(tmp_path / 'table3')
  os.makedirs(stage_dir)
  with open(os.path.join(stage_dir, study.STAGE_FILE), 'w') as f:
    json.dump({'config': study._config_json(cfg), 'seconds': 1.0}, f)
  assert study.finished(cfg, stage_dir)
  moved = base.derive(cfg, **{'data.dir': '/elsewhere', 'force': True,
                              'train.progress': True})
  assert study.finished(moved, stage_dir)
  # More epochs or another seed count change the numbers: not finished.
  for field, value in (('train.epochs', 3), ('seeds', 3)):
    assert study.finished(base.derive(cfg, **{field: value}), stage_dir) is None


def test_a_copied_workdir_and_an_older_record_are_still_finished(
    tmp_path, monkeypatch):
  config = study_config.get_config('smoke')
  # A grid stage recorded in another workdir, before train.lr_schedule existed
  # (issue 16): its samples are in the copy, its schedule was constant.
  old = study.stage_config(config, 'table5_gan_300', '/old/runs/study')
  recorded = study._config_json(old)
  assert recorded['grid']['synthetic'] == '/old/runs/study/gan_300/synthetic.npz'
  del recorded['train']['lr_schedule']
  monkeypatch.chdir(tmp_path)
  stage_dir = os.path.join('runs', 'study', 'table5_gan_300')
  os.makedirs(stage_dir)
  with open(os.path.join(stage_dir, study.STAGE_FILE), 'w') as f:
    json.dump({'config': recorded, 'seconds': 1.0}, f)
  cfg = study.stage_config(config, 'table5_gan_300', os.path.join('runs',
                                                                  'study'))
  assert study.finished(cfg, stage_dir)
  # Another schedule, or samples from elsewhere, are other numbers.
  for field, value in (('train.lr_schedule', 'cosine'),
                       ('grid.synthetic', '/old/runs/study/gan_700/synthetic.npz')):
    assert study.finished(base.derive(cfg, **{field: value}), stage_dir) is None


def test_bad_order_is_one_config_error_and_writes_nothing(tmp_path):
  config = study_config.get_config('smoke')
  config.order = ('table1', 'table_z')
  with pytest.raises(errors.ConfigError, match="unknown \\['table_z'\\]"):
    experiments.run(config, str(tmp_path / 'w'))
  # A grid whose GAN stage does not run before it.
  config.order = ('table5_gan_300',)
  with pytest.raises(errors.ConfigError, match="stage 'gan_300'"):
    experiments.run(config, str(tmp_path / 'w'))
  assert not (tmp_path / 'w').exists()
  with pytest.raises(errors.ConfigError, match='unknown'):
    study_config.get_config('gan_9000')


def test_args_add_the_larger_gans_and_their_grids():
  order = study_config.get_config().order
  assert order == ('table1', 'table3', 'gan_300', 'table5_gan_300', 'table10',
                   'table13')
  order = study_config.get_config('gan_pipeline,gan_full').order
  assert order[4:8] == ('gan_pipeline', 'table6', 'gan_full', 'table5_gan_full')
  config = study_config.get_config('gan_full')
  assert config.stages.table5_gan_full.study_column == 'study, full GAN'
  assert config.stages.table5_gan_full.config.grid.real_per_class == (
      300, 700, 1000)
  # REPORT.md's "Not run" hint: gan_300 needs no argument, the others do.
  stages = study_config.get_config().stages
  assert stages.gan_300.not_run.startswith('add it back in config.order')
  assert stages.table5_gan_300.not_run == stages.gan_300.not_run
  assert stages.gan_700.not_run.startswith(
      'add it with configs/study.py:gan_700')


def test_table_stages_train_their_configs_seeds_and_estimate_by_them():
  stages = study_config.get_config().stages
  seeds = {n: stages[n].config.seeds for n in ('table1', 'table10', 'table13')}
  assert seeds == {'table1': 5, 'table10': 5, 'table13': 3}
  assert stages.table10.estimate_min == 2 * 5 * 5  # 5 models x 5 seeds
  assert stages.table13.estimate_min == 75 * 3
  assert stages.table1.estimate_min == 8.5 * 5
