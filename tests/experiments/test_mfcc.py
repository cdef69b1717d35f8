"""The MFCC experiment (Problem 1): pair/merger data, and a smoke run of every approach."""

import csv
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from configs import mfcc_fsdd
import errors
from experiments import mfcc

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_frame_pairs_and_merger_examples():
  frames = np.arange(2 * 4 * 1, dtype=np.float32).reshape(2, 4, 1)
  pairs = mfcc.frame_pairs(frames, np.array([1, 4]))
  np.testing.assert_array_equal(pairs[0], [[0, 0]])  # T=1: paired with itself
  np.testing.assert_array_equal(pairs[1], [[4, 5], [5, 6], [6, 7]])
  latents = [p * 10 for p in pairs]  # stand-in codes of each pair
  x, y = mfcc.merger_examples(pairs, latents, frames)
  # Only the 4-frame utterance has a next pair: (z_t ; f_{t+2}) -> z_{t+1}.
  np.testing.assert_array_equal(x, [[40, 50, 6], [50, 60, 7]])
  np.testing.assert_array_equal(y, [[50, 60], [60, 70]])


def test_unknown_approach_is_config_error(tmp_path):
  config = mfcc_fsdd.get_config('smoke')
  config.approaches = ('approach_z',)
  with pytest.raises(errors.ConfigError, match='approach_z'):
    mfcc.run(config, str(tmp_path))
  config.approaches = ('baseline',)
  config.splits = ('random', 'by_mood')
  with pytest.raises(errors.ConfigError, match='by_mood'):
    mfcc.run(config, str(tmp_path))
  with pytest.raises(errors.ConfigError, match='unknown'):
    mfcc_fsdd.get_config('approach_c')
  config.splits = ('random',)
  config.approach_b.embedding = 'mean'
  with pytest.raises(errors.ConfigError,
                     match="approach_b.embedding='mean': unknown; choices: "
                           'merger, mean_latents'):
    mfcc.run(config, str(tmp_path / 'w'))
  assert not (tmp_path / 'w').exists()


def test_approach_a_rows_name_an_l2_other_than_the_studys():
  config = mfcc_fsdd.get_config()
  assert mfcc.approach_a_label(config, 300) == 'A (AE d=300)'
  config = mfcc_fsdd.get_config('encoder_l2')
  assert mfcc.approach_a_label(config, 300) == 'A (AE d=300, L2 encoder only)'
  config.approach_a.ae.train.l2_pattern = '^Dense_1/kernel$'
  assert mfcc.approach_a_label(config, 50) == (
      'A (AE d=50, L2 on ^Dense_1/kernel$)')


def test_mean_latents_is_each_utterances_mean_pair_latent():
  latents = [np.array([[1., 2.], [3., 6.]]), np.array([[5., 7.]])]
  np.testing.assert_array_equal(mfcc.mean_latents(latents), [[2, 4], [5, 7]])


def _tiny_real_run(shared_fsdd, tmp_path, arg):
  """mfcc.run of configs/mfcc_fsdd.py:<arg> on 60 real recordings, one
  split and one AE size; returns its workdir."""
  config = mfcc_fsdd.get_config(arg)
  config.data.dir = str(shared_fsdd)
  config.data.cache_dir = str(tmp_path / 'cache')
  config.data.max_index = 1  # 60 recordings
  config.splits = ('random',)
  config.approach_a.dims = (8,)
  config.approach_a.curves_dim = 8
  config.train.progress = False
  workdir = str(tmp_path / 'run')
  mfcc.run(config, workdir)
  return workdir


def test_smoke_every_approach_on_real_files(shared_fsdd, tmp_path):
  workdir = _tiny_real_run(shared_fsdd, tmp_path, 'smoke')

  with open(os.path.join(workdir, 'table1.csv')) as f:
    rows = list(csv.DictReader(f))
  assert [(r['approach'], r['split'], r['feature_dim']) for r in rows] == [
      ('baseline', 'random', '13'), ('A (AE d=8)', 'random', '8'),
      ('B (2-frame AE + merger)', 'random', '32')]
  with open(os.path.join(workdir, 'results.json')) as f:
    for r in json.load(f)['runs']:
      assert 0 <= r['test_accuracy'] <= 1 and r['epochs'] == 3
  for name in ('fig1_baseline_curves_random.png', 'fig2_accuracy_vs_d.png',
               'fig3_approach_a_curves_random.png',
               'fig4_approach_b_curves_random.png', 'approach_a_vs_d.md'):
    assert os.path.getsize(os.path.join(workdir, name)) > 0
  stage = os.path.join(workdir, 'random', 'seed0', 'approach_b', 'merger')
  with open(os.path.join(stage, 'config.json')) as f:
    assert json.load(f)['model'] == {'name': 'merger', 'num_classes': 32}


def test_variants_label_their_rows_and_skip_the_merger(shared_fsdd, tmp_path):
  workdir = _tiny_real_run(
      shared_fsdd, tmp_path,
      'approach_a,approach_b,smoke,encoder_l2,mean_latents')

  with open(os.path.join(workdir, 'table1.csv')) as f:
    rows = list(csv.DictReader(f))
  assert [(r['approach'], r['feature_dim'], r['study']) for r in rows] == [
      ('A (AE d=8, L2 encoder only)', '8', ''),
      ("B (mean of pair latents, not the study's method)", '32', '')]
  seed_dir = os.path.join(workdir, 'random', 'seed0')
  with open(os.path.join(seed_dir, 'approach_a', 'ae_d8', 'config.json')) as f:
    assert json.load(f)['train']['l2_pattern'] == mfcc_fsdd.ENCODER_L2_PATTERN
  assert sorted(os.listdir(os.path.join(seed_dir, 'approach_b'))) == [
      'frame_ae', 'mlp_mean_latents']


def test_loso_baseline_runs_every_fold_and_writes_the_loso_table(fake_fsdd,
                                                                  tmp_path):
  config = mfcc_fsdd.get_config('baseline,loso,smoke')
  config.data.dir = str(fake_fsdd)
  config.data.cache_dir = str(tmp_path / 'cache')
  config.splits = ('random', 'loso')
  config.train.progress = False
  workdir = str(tmp_path / 'run')
  mfcc.run(config, workdir)

  with open(os.path.join(workdir, 'loso.csv')) as f:
    loso = list(csv.DictReader(f))
  assert [(r['fold'], r['held out']) for r in loso[:3]] == [
      ('0', 'ann'), ('1', 'bob'), ('2', 'theo')]
  assert loso[3]['fold'] == 'all' and loso[3]['n'] == '3'
  folds = [float(r['mean']) for r in loso[:3]]
  assert float(loso[3]['mean']) == pytest.approx(np.mean(folds))
  assert float(loso[3]['ci95']) > 0
  with open(os.path.join(workdir, 'loso.md')) as f:
    assert 'mean ± 95% CI (3 folds x seeds, n=3)' in f.read()
  with open(os.path.join(workdir, 'results.json')) as f:
    results = json.load(f)
  assert len(results['loso']) == 4
  for r in results['runs']:
    per_speaker = r['test_accuracy_per_speaker']
    if r['split'] == 'loso':
      # A fold's test set is its held-out speaker: one key, the accuracy.
      assert per_speaker == {r['held_out']: r['test_accuracy']}
    else:
      assert sorted(per_speaker) == ['ann', 'bob', 'theo']
  table1 = {r['split']: r for r in results['table']}
  assert table1['loso']['n'] == 3
  # Each fold trains in its own folder, whose config names its fold, so no
  # fold resumes another's checkpoints.
  for fold, speaker in enumerate(('ann', 'bob', 'theo')):
    stage = os.path.join(workdir, 'loso', speaker, 'seed0', 'baseline', 'mlp')
    with open(os.path.join(stage, 'config.json')) as f:
      assert json.load(f)['data']['loso_fold'] == fold
  assert os.path.exists(
      os.path.join(workdir, 'fig1_baseline_curves_loso_theo.png'))


@pytest.mark.parametrize('args,expected', [
    (['--config=configs/mfcc_fsdd.py:baseline,loso',
      '--config.data.loso_fold=3'],
     'error: data.loso_fold=3: out of range; 3 speakers give folds 0..2 '
     '(0 ann, 1 bob, 2 theo), or -1 for every fold in a driver'),
    (['--config=configs/mfcc_fsdd.py:baseline',
      '--config.data.test_speaker=zoe'],
     "error: data.test_speaker='zoe': not among the speakers"),
    (['--config=configs/spectrogram_cnn.py:lenet,loso'],
     'error: data.loso_fold=-1: a single run holds out one speaker: pick a '
     'fold 0..2 (ann, bob, theo)'),
    (['--config=configs/spectrogram_cnn.py:sweep,loso',
      '--config.data.name=reduced_mnist'],
     "error: data.split='loso': leave-one-speaker-out needs an FSDD dataset"),
])
def test_bad_loso_values_are_one_line_errors(fake_fsdd, tmp_path, args,
                                             expected):
  workdir = tmp_path / 'w'
  r = subprocess.run(
      [sys.executable, 'main.py', *args, f'--config.data.dir={fake_fsdd}',
       f'--config.data.cache_dir={tmp_path / "cache"}', f'--workdir={workdir}'],
      cwd=ROOT, env=dict(os.environ, JAX_PLATFORMS='cpu'),
      capture_output=True, text=True, timeout=300)
  assert r.returncode == 1
  lines = [l for l in r.stderr.splitlines() if l.startswith('error:')]
  assert len(lines) == 1 and lines[0].startswith(expected), r.stderr
  assert 'Traceback' not in r.stderr
  assert not workdir.exists()
