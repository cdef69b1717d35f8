"""Log-mel features of FSDD: frames, normalisation, copies, caching."""

import os

import numpy as np
import pytest

from configs import fsdd_voices
import data
from data import logmel
import errors
from tests.data import fsdd_fakes

FEATURE = dict(sample_rate=8000, n_mels=16, n_fft=256, hop_length=128,
               top_db=80.0)


def small_config(root, cache_dir, **fields):
  """The recipe's data config with 16 mels x 16 frames, no copies."""
  cfg = fsdd_voices.get_config('random').data
  cfg.update(dir=str(root), cache_dir=str(cache_dir), frames=16,
             speed_perturb=(), **{k: v for k, v in FEATURE.items()
                                  if k != 'sample_rate'})
  cfg.update(fields)
  return cfg


def tone(freq, seconds, rate=8000):
  t = np.arange(int(rate * seconds)) / rate
  return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_log_mel_frames_and_pitch():
  db = logmel.log_mel(tone(300, 0.5), **FEATURE)
  assert db.shape == (1 + 4000 // 128, 16) and db.dtype == np.float32
  low, high = (np.argmax(logmel.log_mel(tone(f, 0.3), **FEATURE)[5])
               for f in (300, 3000))
  assert high > low  # column = mel band, low to high


def test_fixed_frames_centres_pads_with_the_floor_and_crops():
  db = np.arange(12, dtype=np.float32).reshape(4, 3)
  out = logmel.fixed_frames(db, 8)
  np.testing.assert_array_equal(out[2:6], db)
  np.testing.assert_array_equal(out[[0, 1, 6, 7]], 0.0)  # db's minimum
  long = np.arange(30, dtype=np.float32).reshape(10, 3)
  np.testing.assert_array_equal(logmel.fixed_frames(long, 4), long[3:7])


def test_utterance_normalisation_removes_the_gain():
  quiet, loud = (logmel.log_mel(tone(500, 0.4) * g, **FEATURE)
                 for g in (0.1, 1.0))
  a, b = logmel.normalize_utterance(quiet), logmel.normalize_utterance(loud)
  assert abs(a.mean()) < 1e-5 and a.std() == pytest.approx(1.0, rel=1e-4)
  np.testing.assert_allclose(a, b, atol=1e-3)


def test_band_normalisation_removes_a_fixed_colouring_per_band():
  db = logmel.log_mel(tone(500, 0.4), **FEATURE)
  # A microphone's frequency response: a fixed dB offset per band.
  coloured = db + np.linspace(-20.0, 20.0, db.shape[1], dtype=np.float32)
  a, b = logmel.normalize_band(db), logmel.normalize_band(coloured)
  np.testing.assert_allclose(a.mean(0), 0.0, atol=1e-4)
  assert a.std() == pytest.approx(1.0, rel=1e-4)
  np.testing.assert_allclose(a, b, atol=1e-3)
  # The clip-wide z-score keeps the colouring.
  assert np.abs(logmel.normalize_utterance(db)
                - logmel.normalize_utterance(coloured)).max() > 0.5


def test_speed_changes_length_and_pitch_keeps_it():
  wave = tone(500, 0.4)
  assert len(logmel.perturb(wave, 'speed', 1.25, 8000, 256)) == pytest.approx(
      len(wave) / 1.25, abs=2)
  shifted = logmel.perturb(wave, 'pitch', 12.0, 8000, 256)
  assert len(shifted) == len(wave)
  up = np.argmax(np.abs(np.fft.rfft(shifted)))
  assert up == pytest.approx(2 * np.argmax(np.abs(np.fft.rfft(wave))), abs=3)


def test_splits_shapes_and_copies_join_the_training_split_only(
    fake_fsdd, tmp_path):
  plain = data.get_dataset(small_config(fake_fsdd, tmp_path))
  assert [len(plain.x_train), len(plain.x_val), len(plain.x_test)] == [
      140, 20, 20]
  assert plain.x_train.shape[1:] == (16, 16, 1)
  assert plain.x_train.dtype == np.float32
  copies = data.get_dataset(small_config(
      fake_fsdd, tmp_path, speed_perturb=(0.9,), pitch_perturb=(2.0,)))
  assert len(copies.x_train) == 3 * 140
  np.testing.assert_array_equal(copies.y_train, np.tile(plain.y_train, 3))
  np.testing.assert_array_equal(copies.x_train[:140], plain.x_train)
  assert not np.allclose(copies.x_train[140:280], plain.x_train)
  np.testing.assert_array_equal(copies.x_test, plain.x_test)
  names = [os.path.basename(p) for p in copies.info['test_files']]
  assert copies.info['test_speakers'] == [n.split('_')[1] for n in names]


def test_normalisations(fake_fsdd, tmp_path):
  utt = data.get_dataset(small_config(fake_fsdd, tmp_path))
  # Frames of the clip itself z-scored: padding sits below them.
  assert utt.x_test.min() < -1.0 and utt.x_test.max() > 1.0
  train = data.get_dataset(small_config(fake_fsdd, tmp_path,
                                        normalize='train'))
  raw = data.get_dataset(small_config(fake_fsdd, tmp_path, normalize='none'))
  assert raw.x_train.min() < -20.0  # dB
  # 'train' is raw dB z-scored per band, with the same affine map for
  # every split.
  r, z = raw.x_train[..., 0], train.x_train[..., 0]
  a = np.ptp(z, axis=(0, 1)) / np.ptp(r, axis=(0, 1))
  b = z.max((0, 1)) - a * r.max((0, 1))
  np.testing.assert_allclose(train.x_test[..., 0], a * raw.x_test[..., 0] + b,
                             atol=1e-3)


def test_loso_fold_and_train_fraction(fake_fsdd, tmp_path):
  s = data.get_dataset(small_config(fake_fsdd, tmp_path, split='loso',
                                    loso_fold=2, train_fraction=0.5))
  assert set(s.info['test_speakers']) == {'theo'}
  assert len(s.x_test) == 60
  # Half of each digit's 11 training recordings.
  np.testing.assert_array_equal(np.bincount(s.y_train), np.full(10, 6))


def test_each_version_is_cached_on_its_own(fake_fsdd, tmp_path, monkeypatch):
  cache_dir = tmp_path / 'cache'
  data.get_dataset(small_config(fake_fsdd, cache_dir, speed_perturb=(1.1,)))
  assert len(os.listdir(cache_dir)) == 2
  calls = []
  real = logmel.log_mel
  monkeypatch.setattr(logmel, 'log_mel',
                      lambda *a, **k: calls.append(1) or real(*a, **k))
  data.get_dataset(small_config(fake_fsdd, cache_dir, speed_perturb=(1.1,),
                                normalize='none'))
  assert not calls  # normalisation and framing are not cached
  data.get_dataset(small_config(fake_fsdd, cache_dir,
                                speed_perturb=(1.1, 0.9)))
  assert len(calls) == 180 and len(os.listdir(cache_dir)) == 3


@pytest.mark.parametrize('field,value', [
    ('normalize', 'global'), ('frames', 0), ('n_mels', 0),
    ('speed_perturb', (0.0,)), ('train_fraction', 1.5)])
def test_bad_fields_are_config_errors_naming_the_field(
    fake_fsdd, tmp_path, field, value):
  with pytest.raises(errors.ConfigError, match=f'data.{field}'):
    data.get_dataset(small_config(fake_fsdd, tmp_path, **{field: value}))


def test_shared_fsdd_logmel(shared_fsdd, tmp_path):
  """Real files of two speakers at the recipe's full feature size."""
  fsdd_fakes.copy_two_speakers(shared_fsdd, tmp_path / 'data')
  cfg = fsdd_voices.get_config('loso').data
  cfg.update(dir=str(tmp_path / 'data'), cache_dir=str(tmp_path / 'cache'),
             loso_fold=1)
  s = data.get_dataset(cfg)
  assert s.x_test.shape == (30, 64, 40, 1)
  assert set(s.info['test_speakers']) == {'theo'}
  assert len(s.x_train) == 3 * (30 - len(s.x_val))  # two speed copies
  assert s.x_test.std() > 0.5  # real content, z-scored per utterance
