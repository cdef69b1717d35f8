"""FSDD reader: file names, bad audio, resampling, splits, the cache."""

import os

import numpy as np
import pytest
import soundfile as sf

from configs import mfcc_fsdd
import data
from data import cache
from data import fetch
from data import fsdd
import errors
from tests.data import fsdd_fakes


def test_list_recordings_parses_names_sorted(fake_fsdd):
  recs = fsdd.list_recordings(fetch.recordings_dir(fake_fsdd))
  assert len(recs) == 10 * 3 * 6
  names = [os.path.basename(r.path) for r in recs]
  assert names == sorted(names)
  r = recs[names.index('7_bob_3.wav')]
  assert (r.digit, r.speaker, r.index) == (7, 'bob', 3)


def test_list_recordings_errors_name_the_path(tmp_path):
  with pytest.raises(errors.DataError, match='not found'):
    fsdd.list_recordings(str(tmp_path / 'missing'))
  with pytest.raises(errors.DataError, match='no .wav'):
    fsdd.list_recordings(str(tmp_path))
  fsdd_fakes.write_recordings(tmp_path, speakers=('ann',), indices=[0])
  (tmp_path / 'hello.wav').write_bytes(b'x')
  with pytest.raises(errors.DataError, match='hello.wav.*does not match'):
    fsdd.list_recordings(str(tmp_path))


def test_bad_audio_files_raise_data_error_naming_the_file(tmp_path):
  text = tmp_path / '1_ann_0.wav'
  text.write_text('not audio at all')
  with pytest.raises(errors.DataError, match='1_ann_0.wav.*not readable'):
    fsdd.load_audio(str(text))
  empty = tmp_path / '2_ann_0.wav'
  sf.write(empty, np.zeros(0, np.float32), 8000)
  with pytest.raises(errors.DataError, match='2_ann_0.wav.*empty'):
    fsdd.load_audio(str(empty))


def test_other_sample_rate_resampled_or_rejected(tmp_path):
  path = tmp_path / '3_ann_0.wav'
  sf.write(path, np.sin(np.arange(16000) / 5).astype(np.float32), 16000)
  wave = fsdd.load_audio(str(path), 8000)
  assert wave.dtype == np.float32 and len(wave) == 8000
  with pytest.raises(errors.DataError, match='3_ann_0.wav.*16000 Hz'):
    fsdd.load_audio(str(path), 8000, on_other_rate='error')


def test_load_all_skips_and_reports_bad_files(fake_fsdd):
  recs = fsdd.list_recordings(fetch.recordings_dir(fake_fsdd))[:5]
  with open(recs[2].path, 'wb') as f:
    f.write(b'garbage')
  with pytest.raises(errors.DataError, match=os.path.basename(recs[2].path)):
    fsdd.load_all(recs)
  waves, kept, skipped = fsdd.load_all(recs, on_bad_file='skip')
  assert len(waves) == 4 and list(kept) == [0, 1, 3, 4]
  assert [p for p, _ in skipped] == [recs[2].path]


@pytest.mark.parametrize('split', fsdd.SPLITS)
def test_splits_deterministic_disjoint_complete(fake_fsdd, split):
  recs = fsdd.list_recordings(fetch.recordings_dir(fake_fsdd))
  parts = fsdd.split_indices(recs, split, seed=42, loso_fold=1)
  again = fsdd.split_indices(recs, split, seed=42, loso_fold=1)
  for a, b in zip(parts, again):
    np.testing.assert_array_equal(a, b)
  allidx = np.concatenate(parts)
  assert len(allidx) == len(recs) == len(set(allidx.tolist()))
  for p in parts:  # every split holds every digit
    assert {recs[i].digit for i in p} == set(range(10))


def test_random_split_fractions_and_seed(fake_fsdd):
  recs = fsdd.list_recordings(fetch.recordings_dir(fake_fsdd))
  tr, va, te = fsdd.split_indices(recs, 'random', seed=42)
  # 18 per digit, cut at round(.7 * 18) = 13 and round(.85 * 18) = 15.
  assert (len(tr), len(va), len(te)) == (130, 20, 30)
  other = fsdd.split_indices(recs, 'random', seed=1)
  assert not np.array_equal(te, other[2])


def test_official_split_tests_indices_0_to_4(fake_fsdd):
  recs = fsdd.list_recordings(fetch.recordings_dir(fake_fsdd))
  tr, va, te = fsdd.split_indices(recs, 'official')
  assert {recs[i].index for i in te} == set(range(5))
  assert {recs[i].index for i in np.concatenate([tr, va])} == {5}


def test_speaker_split_has_no_speaker_in_two_splits(fake_fsdd):
  recs = fsdd.list_recordings(fetch.recordings_dir(fake_fsdd))
  tr, va, te = fsdd.split_indices(recs, 'speaker', test_speaker='bob')
  test_speakers = {recs[i].speaker for i in te}
  assert test_speakers == {'bob'}
  assert not test_speakers & {recs[i].speaker for i in np.concatenate([tr, va])}


def test_unknown_split_or_speaker_is_config_error(fake_fsdd):
  recs = fsdd.list_recordings(fetch.recordings_dir(fake_fsdd))
  with pytest.raises(errors.ConfigError, match='data.split'):
    fsdd.split_indices(recs, 'by_mood')
  with pytest.raises(errors.ConfigError, match="'zoe'.*not among"):
    fsdd.split_indices(recs, 'speaker', test_speaker='zoe')


def test_loso_folds_hold_out_each_speaker_once(fake_fsdd):
  recs = fsdd.list_recordings(fetch.recordings_dir(fake_fsdd))
  speakers = np.array([r.speaker for r in recs])
  assert fsdd.speakers(recs) == list(fsdd_fakes.SPEAKERS)
  tests = []
  for fold, held_out in enumerate(fsdd_fakes.SPEAKERS):
    tr, va, te = fsdd.split_indices(recs, 'loso', loso_fold=fold)
    assert set(speakers[te]) == {held_out}
    assert held_out not in set(speakers[np.concatenate([tr, va])])
    # Train and validation are the other speakers, validation stratified.
    assert set(speakers[tr]) == set(speakers[va]) == (
        set(fsdd_fakes.SPEAKERS) - {held_out})
    assert {recs[i].digit for i in va} == set(range(10))
    # The held-out speaker's every file, the same as the 'speaker' split's.
    assert len(te) == 60
    for a, b in zip((tr, va, te), fsdd.split_indices(
        recs, 'speaker', test_speaker=held_out)):
      np.testing.assert_array_equal(a, b)
    tests.append(te)
  everything = np.concatenate(tests)
  assert sorted(everything.tolist()) == list(range(len(recs)))


def test_loso_folds_of_a_driver(fake_fsdd):
  cfg = mfcc_fsdd.get_config().data
  cfg.dir = str(fake_fsdd)
  assert fsdd.loso_folds(cfg) == [(0, 'ann'), (1, 'bob'), (2, 'theo')]
  cfg.loso_fold = 2
  assert fsdd.loso_folds(cfg) == [(2, 'theo')]
  cfg.loso_fold = 3
  with pytest.raises(errors.ConfigError, match=(
      r'^data.loso_fold=3: out of range; 3 speakers give folds 0..2 '
      r'\(0 ann, 1 bob, 2 theo\)')):
    fsdd.loso_folds(cfg)


@pytest.mark.parametrize('fold,message', [
    (-1, r'^data.loso_fold=-1: a single run holds out one speaker: pick a '
         r'fold 0..2 \(ann, bob, theo\)'),
    (5, r'^data.loso_fold=5: out of range'),
    (-2, r'^data.loso_fold=-2: out of range'),
])
def test_loso_fold_out_of_range_is_config_error(fake_fsdd, fold, message):
  recs = fsdd.list_recordings(fetch.recordings_dir(fake_fsdd))
  with pytest.raises(errors.ConfigError, match=message):
    fsdd.split_indices(recs, 'loso', loso_fold=fold)


def test_loso_needs_an_fsdd_dataset():
  cfg = mfcc_fsdd.get_config().data
  cfg.name, cfg.split = 'reduced_mnist', 'loso'
  with pytest.raises(errors.ConfigError, match=(
      r"^data.split='loso': leave-one-speaker-out needs an FSDD dataset "
      r"\(fsdd_spectrogram, .*\), not data.name='reduced_mnist'$")):
    data.get_dataset(cfg)


def test_cache_reuses_recomputes_on_change_and_leaves_no_tmp(tmp_path):
  calls = []

  def compute():
    calls.append(1)
    return {'a': np.arange(len(calls) + 2)}

  first = cache.cached(tmp_path, 'f', {'n_mels': 40}, compute)
  again = cache.cached(tmp_path, 'f', {'n_mels': 40}, compute)
  assert len(calls) == 1
  np.testing.assert_array_equal(first['a'], again['a'])
  cache.cached(tmp_path, 'f', {'n_mels': 20}, compute)
  assert len(calls) == 2
  assert sorted(p.suffix for p in tmp_path.iterdir()) == ['.npz', '.npz']


def test_cache_recomputes_a_corrupt_entry(tmp_path):
  cache.cached(tmp_path, 'f', {}, lambda: {'a': np.ones(3)})
  (entry,) = tmp_path.iterdir()
  entry.write_bytes(b'truncated')
  out = cache.cached(tmp_path, 'f', {}, lambda: {'a': np.zeros(3)})
  np.testing.assert_array_equal(out['a'], np.zeros(3))


def test_ragged_pack_roundtrip():
  arrays = [np.ones((n, 2)) * n for n in (3, 1, 4)]
  back = cache.unpack_ragged(*cache.pack_ragged(arrays))
  for a, b in zip(arrays, back):
    np.testing.assert_array_equal(a, b)


def test_shared_fsdd_splits(shared_fsdd):
  recs = fsdd.list_recordings(fetch.recordings_dir(shared_fsdd))
  assert len(recs) == 3000
  assert [len(p) for p in fsdd.split_indices(recs, 'random')] == [2100, 450, 450]
  assert len(fsdd.split_indices(recs, 'official')[2]) == 300
  assert len(fsdd.split_indices(recs, 'speaker')[2]) == 500
  names = fsdd.speakers(recs)
  assert names == ['george', 'jackson', 'lucas', 'nicolas', 'theo',
                   'yweweler']
  for fold in range(6):
    assert len(fsdd.split_indices(recs, 'loso', loso_fold=fold)[2]) == 500
