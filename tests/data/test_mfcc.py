"""MFCC features: frame arithmetic, train-only normalisation, cache keys."""

import os

import numpy as np
import pytest
import soundfile as sf

from configs import mfcc_fsdd
import data
import errors
from data import fetch
from data import fsdd
from data import mfcc


def _cfg(root, tmp_path, **overrides):
  cfg = mfcc_fsdd.get_config().data
  cfg.dir = str(root)
  cfg.cache_dir = str(tmp_path / 'cache')
  cfg.split = 'random'
  cfg.update(overrides)
  return cfg


@pytest.mark.filterwarnings('ignore:n_fft=120 is too large')  # n < n_fft
def test_frame_and_hop_at_8khz():
  assert mfcc.frame_params(8000, 15.0, 7.5) == (120, 60)
  assert mfcc.frame_params(16000, 15.0, 7.5) == (240, 120)
  cfg = mfcc_fsdd.get_config().data
  for n in (60, 119, 120, 8000, 8059):
    feats = mfcc.mfcc(np.random.default_rng(n).standard_normal(n)
                      .astype(np.float32), cfg)
    assert feats.shape == (1 + n // 60, 13) == (mfcc.num_frames(n, 60), 13)


def test_normalisation_uses_train_statistics_only(fake_fsdd, tmp_path):
  cfg = _cfg(fake_fsdd, tmp_path)
  recs = mfcc.select_recordings(cfg)
  raw, _, _ = mfcc.extract(cfg, recs)
  tr, _, te = fsdd.split_indices(recs, 'random', 42)
  # Make the test recordings louder, so test frames have other statistics.
  for i in te:
    wave, rate = sf.read(recs[i].path, dtype='float32')
    sf.write(recs[i].path, wave * 3, rate, subtype='PCM_16')
  splits = data.get_dataset(_cfg(fake_fsdd, tmp_path, name='fsdd_mfcc_frames'))
  raw2, _, _ = mfcc.extract(cfg, recs)
  train_mean = np.concatenate([raw2[i] for i in tr]).mean(0)
  all_mean = np.concatenate(raw2).mean(0)
  assert not np.allclose(train_mean, all_mean, atol=1e-2)  # leakage visible
  np.testing.assert_allclose(splits.info['mean'], train_mean, rtol=1e-4,
                             atol=1e-4)
  lengths = splits.info['lengths']['train']
  frames = np.concatenate([x[:n] for x, n in zip(splits.x_train, lengths)])
  np.testing.assert_allclose(frames.mean(0), 0, atol=1e-4)
  np.testing.assert_allclose(frames.std(0), 1, atol=1e-3)
  # Train features did not move although the test files changed.
  for i in tr:
    np.testing.assert_array_equal(raw[i], raw2[i])


def test_views_agree(fake_fsdd, tmp_path):
  views = {name: data.get_dataset(_cfg(fake_fsdd, tmp_path, name=name))
           for name in ('fsdd_mfcc_mean', 'fsdd_mfcc_flat', 'fsdd_mfcc_frames')}
  frames = views['fsdd_mfcc_frames']
  n, t, f = frames.x_test.shape
  assert f == 13 and t == frames.info['max_frames']
  lengths = frames.info['lengths']['test']
  assert (lengths <= t).all() and lengths.max() < t + 1
  np.testing.assert_array_equal(views['fsdd_mfcc_flat'].x_test,
                                frames.x_test.reshape(n, t * f))
  means = np.stack([x[:k].mean(0) for x, k in zip(frames.x_test, lengths)])
  np.testing.assert_allclose(views['fsdd_mfcc_mean'].x_test, means, atol=1e-5)
  assert (frames.x_test[0, lengths[0]:] == 0).all()  # zero padding
  np.testing.assert_array_equal(views['fsdd_mfcc_mean'].y_test, frames.y_test)


def test_cache_hit_and_invalidation(fake_fsdd, tmp_path, monkeypatch):
  calls = []
  real = mfcc.mfcc
  monkeypatch.setattr(mfcc, 'mfcc', lambda w, c: calls.append(1) or real(w, c))
  cfg = _cfg(fake_fsdd, tmp_path)
  recs = mfcc.select_recordings(cfg)
  first, _, _ = mfcc.extract(cfg, recs)
  assert len(calls) == len(recs)
  again, _, _ = mfcc.extract(cfg, recs)
  assert len(calls) == len(recs)  # rerun: read from the cache
  np.testing.assert_array_equal(first[5], again[5])
  changed, _, _ = mfcc.extract(_cfg(fake_fsdd, tmp_path, n_mels=20), recs)
  assert len(calls) == 2 * len(recs)  # a feature parameter changed
  assert not np.allclose(first[5], changed[5])
  st = os.stat(recs[0].path)
  os.utime(recs[0].path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
  mfcc.extract(cfg, recs)
  assert len(calls) == 3 * len(recs)  # an input file changed
  assert len(os.listdir(cfg.cache_dir)) == 3


def test_loso_folds_share_the_features_not_the_split(fake_fsdd, tmp_path,
                                                     monkeypatch):
  calls = []
  real = mfcc.mfcc
  monkeypatch.setattr(mfcc, 'mfcc', lambda w, c: calls.append(1) or real(w, c))
  folds = [data.get_dataset(_cfg(fake_fsdd, tmp_path, split='loso',
                                 loso_fold=k)) for k in range(3)]
  assert len(calls) == 180  # one feature cache entry serves every fold
  assert len(os.listdir(tmp_path / 'cache')) == 1
  for k, fold in enumerate(folds):
    assert set(fold.info['test_speakers']) == {('ann', 'bob', 'theo')[k]}
    assert len(fold.info['test_speakers']) == len(fold.y_test) == 60
  # Each fold z-scores with its own training speakers' statistics.
  assert not np.allclose(folds[0].info['mean'], folds[1].info['mean'])
  assert not np.allclose(folds[0].x_test, folds[1].x_test)


def test_skipped_files_reported(fake_fsdd, tmp_path):
  bad = fetch.recordings_dir(fake_fsdd) + '/4_ann_1.wav'
  with open(bad, 'wb') as f:
    f.write(b'RIFF-not-really')
  with pytest.raises(errors.DataError, match='4_ann_1.wav'):
    data.get_dataset(_cfg(fake_fsdd, tmp_path))
  splits = data.get_dataset(_cfg(fake_fsdd, tmp_path, on_bad_file='skip'))
  assert splits.info['skipped'] == [bad]
  n = len(splits.x_train) + len(splits.x_val) + len(splits.x_test)
  assert n == 10 * 3 * 6 - 1


def test_shared_fsdd_features(shared_fsdd, tmp_path):
  cfg = _cfg(shared_fsdd, tmp_path, max_index=1, name='fsdd_mfcc_frames')
  splits = data.get_dataset(cfg)
  assert len(splits.x_train) + len(splits.x_val) + len(splits.x_test) == 60
  assert splits.x_train.shape[-1] == 13
  assert np.isfinite(splits.x_train).all()
