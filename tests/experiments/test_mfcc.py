"""The MFCC experiment (Problem 1): pair/merger data, and a smoke run of every approach."""

import csv
import json
import os

import numpy as np
import pytest

from configs import mfcc_fsdd
import errors
from experiments import mfcc


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


def test_smoke_every_approach_on_real_files(shared_fsdd, tmp_path):
  config = mfcc_fsdd.get_config('smoke')
  config.data.dir = str(shared_fsdd)
  config.data.cache_dir = str(tmp_path / 'cache')
  config.data.max_index = 1  # 60 recordings
  config.splits = ('random',)
  config.approach_a.dims = (8,)
  config.approach_a.curves_dim = 8
  config.train.progress = False
  workdir = str(tmp_path / 'run')
  mfcc.run(config, workdir)

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
