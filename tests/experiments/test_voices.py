"""The voices recipe's driver end to end on generated recordings."""

import csv
import json
import os
import shutil
import subprocess
import sys

import pytest

from configs import fsdd_voices
import errors
from eval import adapt
from eval import ensemble
import experiments
from experiments import supervised
from experiments import voices

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))


def small_config(root, tmp_path, arg='loso'):
  """The recipe on 16 mels x 16 frames, one speed copy, a one-block net."""
  config = fsdd_voices.get_config(arg)
  config.seeds = 1
  config.data.update(dir=str(root), allow_download=False, n_mels=16,
                     frames=16, speed_perturb=(1.1,),
                     cache_dir=str(tmp_path / 'cache'))
  config.model.update(stem=4, widths=(8,))
  config.train.update(epochs=1, batch_size=32, progress=False)
  config.eval.batch_size = 64
  return config


def _csv(path):
  with open(path) as f:
    return list(csv.DictReader(f))


def test_config_variants():
  c = fsdd_voices.get_config()
  assert (c.experiment, c.data.split, c.data.loso_fold) == ('voices', 'loso',
                                                            -1)
  assert c.ablation.variants == ('full',)
  assert fsdd_voices.get_config('official').data.split == 'official'
  c = fsdd_voices.get_config('random,ablation,smoke')
  assert c.data.split == 'random' and c.seeds == 1
  assert c.ablation.variants == ('full', *fsdd_voices.CHANGES)
  assert set(c.ablation.changes) == set(fsdd_voices.CHANGES)
  c = fsdd_voices.get_config('loso,fast')
  assert (c.train.epochs, c.train.lr_schedule, c.train.plateau_factor) == (
      7, 'cosine', 0.0)
  with pytest.raises(errors.ConfigError, match='unknown'):
    fsdd_voices.get_config('speaker')


def test_every_change_names_a_field_and_equal_steps_scales_epochs():
  config = fsdd_voices.get_config('ablation')
  configs = voices.check(config)
  assert configs['full'].train.epochs == 20
  # Three versions of each recording in the full recipe: 1 in no_speed.
  assert configs['no_speed'].train.epochs == 60
  assert configs['plus_pitch'].train.epochs == 12
  assert configs['no_mixup'].augment.mixup == 0.0
  assert 'ablation' not in configs['full']
  config.ablation.changes.no_mixup.augment.mixup = 0.1
  assert voices.check(config)['no_mixup'].augment.mixup == 0.1
  config.ablation.changes.no_mixup.augment['mix_up'] = 0.0
  with pytest.raises(errors.ConfigError,
                     match=r'ablation.changes.no_mixup.augment.mix_up'):
    voices.check(config)


def test_loso_ablation_writes_its_tables_and_resumes(fake_fsdd, tmp_path,
                                                     monkeypatch):
  config = small_config(fake_fsdd, tmp_path)
  # A variant of the same shapes and step: one compilation serves both.
  config.ablation.variants = ('full', 'no_utterance_norm')
  workdir = str(tmp_path / 'run')
  rows = experiments.run(config, workdir)
  assert [r['variant'] for r in rows] == ['full', 'no_utterance_norm']
  table = _csv(os.path.join(workdir, 'voices.csv'))
  assert [r['n'] for r in table] == ['3', '3']  # 3 folds x 1 seed
  assert table[1]['changes'] == 'data.normalize=train'
  assert table[0]['delta'] == '0.0' and table[1]['delta'] != ''
  loso = _csv(os.path.join(workdir, 'loso.csv'))
  assert [(r['variant'], r['held out']) for r in loso[:3]] == [
      ('full', 'ann'), ('full', 'bob'), ('full', 'theo')]
  for fold, speaker in enumerate(('ann', 'bob', 'theo')):
    run_dir = os.path.join(workdir, 'no_utterance_norm', f'loso_{speaker}',
                           'seed0')
    with open(os.path.join(run_dir, 'results.json')) as f:
      result = json.load(f)
    # A speaker's column is the accuracy on the fold that holds it out.
    assert float(table[1][speaker]) == pytest.approx(result['test_accuracy'])
    assert float(loso[4 + fold]['mean']) == pytest.approx(
        result['test_accuracy'])
    with open(os.path.join(run_dir, 'config.json')) as f:
      saved = json.load(f)
    assert saved['data']['loso_fold'] == fold
    assert saved['data']['normalize'] == 'train'
    assert 'ablation' not in saved  # so a larger ablation keeps this run
  with open(os.path.join(workdir, 'results.json')) as f:
    # (3 folds + all) x 2 variants x (as trained, BatchNorm adapted)
    assert len(json.load(f)['loso']) == 16

  def fail(*args, **kwargs):
    raise AssertionError('a finished run was trained again')
  monkeypatch.setattr(supervised, 'train_and_evaluate', fail)
  # Their test outputs (and adapted scores) come from each run's cache.
  monkeypatch.setattr(voices.eval_common, 'load_run', fail)
  again = experiments.run(config, workdir)
  assert [r['mean'] for r in again] == [r['mean'] for r in rows]
  # Another recipe in the same workdir is refused, not mixed in.
  config.augment.mixup = 0.5
  with pytest.raises(errors.ConfigError, match='another config'):
    experiments.run(config, workdir)


def test_seed_ensembles_and_adapted_runs_per_fold(fake_fsdd, tmp_path):
  config = small_config(fake_fsdd, tmp_path)
  config.seeds = 2
  config.adapt_bn = 10  # of each speaker's 60 fake recordings
  workdir = str(tmp_path / 'run')
  experiments.run(config, workdir)
  loso = _csv(os.path.join(workdir, 'loso.csv'))
  by_label = {}
  for row in loso:
    by_label.setdefault(row['variant'], []).append(row)
  folds, adapted, gains = [], [], []
  for fold, speaker in enumerate(('ann', 'bob', 'theo')):
    members = [os.path.join(workdir, 'full', f'loso_{speaker}', f'seed{s}')
               for s in (0, 1)]
    expected = ensemble.ensemble(members)['test_accuracy']
    row = by_label['full, ensemble of 2 seeds'][fold]
    assert row['held out'] == speaker
    assert float(row['mean']) == pytest.approx(expected)
    folds.append(expected)
    runs = [adapt.adapt_and_score(m, 10) for m in members]
    assert runs[0]['adapted_on'] == 10 and runs[0]['scored'] == 50
    adapted += [r['adapted_accuracy'] for r in runs]
    gains += [r['adapted_accuracy'] - r['accuracy'] for r in runs]
    assert float(by_label['full, BatchNorm adapted'][fold]['mean']) == (
        pytest.approx(sum(adapted[-2:]) / 2))
    both = (runs[0]['probabilities'] + runs[1]['probabilities']).argmax(-1)
    assert float(by_label['full, ensemble of 2 seeds, adapted'][fold][
        'mean']) == pytest.approx((both == runs[0]['labels']).mean())
  table = _csv(os.path.join(workdir, 'voices.csv'))
  assert float(table[0]['ensemble']) == pytest.approx(sum(folds) / 3)
  assert table[0]['ensemble_ci95'] != 'nan'
  assert float(table[0]['adapted']) == pytest.approx(sum(adapted) / 6)
  assert float(table[0]['adapt_gain']) == pytest.approx(sum(gains) / 6)


def test_adapt_bn_beyond_a_speaker_s_recordings_is_refused(fake_fsdd,
                                                            tmp_path):
  config = small_config(fake_fsdd, tmp_path)
  config.adapt_bn = 60
  with pytest.raises(errors.ConfigError,
                     match='adapt_bn=60: a held-out speaker has only 60'):
    experiments.run(config, str(tmp_path / 'run'))
  config.adapt_bn = -2
  with pytest.raises(errors.ConfigError, match=r'adapt_bn=-2: need -1 \(all\)'):
    experiments.run(config, str(tmp_path / 'run'))
  assert not (tmp_path / 'run').exists()


def test_bad_variant_is_one_error_line_and_writes_nothing(tmp_path):
  workdir = tmp_path / 'w'
  r = subprocess.run(
      [sys.executable, 'main.py', '--config=configs/fsdd_voices.py:smoke',
       f'--workdir={workdir}', "--config.ablation.variants=('full','nope')"],
      cwd=ROOT, capture_output=True, text=True)
  assert r.returncode == 1
  assert r.stderr.strip().splitlines()[-1] == (
      "error: ablation.variants: 'nope' unknown; choices: full, "
      'no_freq_mask, no_mixup, no_noise, no_residual, no_shift, no_speed, '
      'no_time_mask, no_utterance_norm, plus_band_norm, plus_freq_shift, '
      'plus_pitch')
  assert not workdir.exists()


def test_shared_fsdd_smoke(shared_fsdd, tmp_path):
  """configs/fsdd_voices.py:loso,smoke through main.py on real recordings of
  the six speakers (two per digit and speaker, to stay fast)."""
  rec = tmp_path / 'data' / 'fsdd' / 'recordings'
  rec.mkdir(parents=True)
  for path in (shared_fsdd / 'fsdd' / 'recordings').glob('*_[01].wav'):
    shutil.copy(path, rec)
  r = subprocess.run(
      [sys.executable, 'main.py', '--config=configs/fsdd_voices.py:loso,smoke',
       f'--workdir={tmp_path / "run"}',
       f'--config.data.dir={tmp_path / "data"}',
       f'--config.data.cache_dir={tmp_path / "cache"}',
       '--config.train.epochs=1', '--config.train.progress=False',
       # A one-block net: this checks the path, not the model.
       '--config.model.stem=4', '--config.model.widths=(8,)'],
      cwd=ROOT, capture_output=True, text=True)
  assert r.returncode == 0, r.stderr[-2000:]
  last = r.stdout.strip().splitlines()[-1]
  assert last.startswith('table of 1: mean test accuracy ')
  assert os.path.exists(tmp_path / 'run' / 'full' / 'loso_george' / 'seed0' /
                        'results.json')
