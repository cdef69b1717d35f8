"""Free Spoken Digit Dataset: the recordings folder, audio loading, splits.

Files are `{digit}_{speaker}_{index}.wav` (mono, 8 kHz); labels and speakers
come from the names. Splits:
  random:   stratified by digit into `fractions` (the seed's 70/15/15).
  official: FSDD's convention, indices 0-4 of every speaker/digit are test;
            validation is a stratified fraction of the rest.
  speaker:  `test_speaker` is held out for test; validation is a stratified
            fraction of the other speakers' recordings.
  loso:     leave one speaker out: fold `loso_fold` holds out the fold-th
            speaker in name order (`speakers`), otherwise as 'speaker'.
            Drivers run every fold for loso_fold=-1 (`loso_folds`).
"""

import os
import re
from typing import NamedTuple

from absl import logging
import numpy as np
import soundfile as sf

import data
import errors
from data import cache
from data import fetch
from data import splits as splits_lib

SPLITS = ('random', 'official', 'speaker', 'loso')
ALL_FOLDS = -1  # data.loso_fold of a driver that runs every fold
OFFICIAL_TEST_INDICES = 5  # indices 0..4 of each speaker/digit
_NAME = re.compile(r'^(\d)_([A-Za-z]+)_(\d+)\.wav$')


class Recording(NamedTuple):
  path: str
  digit: int
  speaker: str
  index: int


def list_recordings(root):
  """Every `{digit}_{speaker}_{index}.wav` under `root`, sorted by file name."""
  if not os.path.isdir(root):
    raise errors.DataError(f'{root}: FSDD recordings folder not found')
  names = sorted(n for n in os.listdir(root) if n.lower().endswith('.wav'))
  if not names:
    raise errors.DataError(f'{root}: no .wav files')
  recordings = []
  for name in names:
    m = _NAME.match(name)
    if not m:
      raise errors.DataError(
          f'{os.path.join(root, name)}: file name does not match '
          '{digit}_{speaker}_{index}.wav')
    recordings.append(Recording(os.path.join(root, name), int(m[1]), m[2],
                                int(m[3])))
  return recordings


def speakers(recordings):
  """The speakers of `recordings` in name order: LOSO fold k holds out the k-th."""
  return sorted({r.speaker for r in recordings})


def _fold_speaker(names, fold):
  """The speaker fold `fold` holds out, or a ConfigError naming the folds."""
  if not 0 <= fold < len(names):
    choices = ', '.join(f'{k} {s}' for k, s in enumerate(names))
    raise errors.ConfigError(
        f'data.loso_fold={fold}: out of range; {len(names)} speakers give folds '
        f'0..{len(names) - 1} ({choices}), or -1 for every fold in a driver')
  return names[fold]


def loso_folds(cfg):
  """[(fold, held-out speaker)] a driver runs for data.split='loso': every
  fold for data.loso_fold=-1, else that one."""
  data.check_split(cfg)
  names = speakers(list_recordings(
      fetch.ensure_fsdd(cfg.dir, cfg.allow_download)))
  if cfg.loso_fold == ALL_FOLDS:
    return list(enumerate(names))
  return [(cfg.loso_fold, _fold_speaker(names, cfg.loso_fold))]


def signature(recordings, features):
  """The data signature of `recordings` (names and sizes, as listed) for a
  feature pipeline (`features`: its name and code version)."""
  files = [(os.path.basename(r.path), os.path.getsize(r.path))
           for r in recordings]
  megabytes = sum(size for _, size in files) / 1e6
  return splits_lib.signature(
      f'{len(files)} recordings, {megabytes:.1f} MB, {features}', files)


def load_audio(path, sample_rate=8000, on_other_rate='resample'):
  """Mono float32 [T] at `sample_rate`.

  A file at another rate is resampled (with a logged note) or, with
  on_other_rate='error', rejected. Unreadable or empty files, and samples
  that are NaN or Inf, raise DataError.
  """
  if on_other_rate not in ('resample', 'error'):
    raise errors.ConfigError(
        f'data.on_other_rate={on_other_rate!r}: choices: resample, error')
  try:
    wave, rate = sf.read(path, dtype='float32', always_2d=True)
  except (sf.SoundFileError, OSError) as e:
    raise errors.DataError(f'{path}: not readable audio ({e})') from e
  if wave.size == 0:
    raise errors.DataError(f'{path}: empty recording (0 samples)')
  bad = np.count_nonzero(~np.isfinite(wave))
  if bad:
    # Float wavs can hold NaN/Inf, which librosa rejects deep in a traceback.
    raise errors.DataError(f'{path}: {bad} non-finite (NaN/Inf) samples')
  wave = wave.mean(axis=1)
  if rate != sample_rate:
    if on_other_rate == 'error':
      raise errors.DataError(
          f'{path}: sample rate {rate} Hz, expected {sample_rate} Hz '
          '(set data.on_other_rate=resample to resample it)')
    import librosa  # pylint: disable=g-import-not-at-top
    logging.info('%s: resampling %d Hz -> %d Hz', path, rate, sample_rate)
    wave = librosa.resample(wave, orig_sr=rate, target_sr=sample_rate)
  return np.ascontiguousarray(wave, np.float32)


def load_all(recordings, sample_rate=8000, on_other_rate='resample',
             on_bad_file='error'):
  """(waves, kept indices into `recordings`, skipped [(path, reason)]).

  on_bad_file='skip' skips unreadable files, logs each one and a count, and
  returns them, so that the caller can report them; 'error' raises.
  """
  if on_bad_file not in ('error', 'skip'):
    raise errors.ConfigError(
        f'data.on_bad_file={on_bad_file!r}: choices: error, skip')
  waves, kept, skipped = [], [], []
  for i, rec in enumerate(recordings):
    try:
      waves.append(load_audio(rec.path, sample_rate, on_other_rate))
      kept.append(i)
    except errors.DataError as e:
      if on_bad_file == 'error':
        raise
      logging.warning('skipping %s', e)
      skipped.append((rec.path, str(e)))
  if skipped:
    logging.warning('skipped %d of %d recordings (data.on_bad_file=skip)',
                    len(skipped), len(recordings))
  return waves, np.asarray(kept, np.int64), skipped


def load_waves(cfg, recordings):
  """load_all with the data config's rate and bad-file settings."""
  return load_all(recordings, cfg.sample_rate, cfg.on_other_rate,
                  cfg.on_bad_file)


def source_params(cfg, recordings):
  """What a cached feature of `recordings` depends on besides its own
  parameters: how they are loaded, and the files themselves."""
  return dict(on_other_rate=cfg.on_other_rate, on_bad_file=cfg.on_bad_file,
              files=cache.file_signature([r.path for r in recordings]))


def _stratified_val(indices, digits, val_fraction, seed):
  """Splits `indices` into (train, val), stratified by digit."""
  tr, va = splits_lib.stratified_split(
      digits[indices], [1 - val_fraction, val_fraction], seed)
  return indices[tr], indices[va]


def split_indices(recordings, split, seed=42, fractions=(0.7, 0.15, 0.15),
                  test_speaker='theo', loso_fold=ALL_FOLDS):
  """(train_idx, val_idx, test_idx) into `recordings`, sorted, disjoint.

  The validation fraction of 'official', 'speaker' and 'loso' is
  fractions[1] / (fractions[0] + fractions[1]) of the non-test recordings.
  """
  if split not in SPLITS:
    raise errors.ConfigError(f'data.split={split!r}: unknown; choices: {SPLITS}')
  if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(
      sum(fractions), 1.0):
    raise errors.ConfigError(
        f'data.fractions={tuple(fractions)}: need 3 fractions >= 0 summing to 1')
  digits = np.array([r.digit for r in recordings])
  if split == 'random':
    return tuple(splits_lib.stratified_split(digits, fractions, seed))
  if split == 'official':
    is_test = np.array([r.index < OFFICIAL_TEST_INDICES for r in recordings])
  else:
    names = speakers(recordings)
    if split == 'loso':
      if loso_fold == ALL_FOLDS:
        raise errors.ConfigError(
            f'data.loso_fold={loso_fold}: a single run holds out one '
            f'speaker: pick a fold 0..{len(names) - 1} '
            f'({", ".join(names)}); configs/mfcc_fsdd.py and '
            'configs/spectrogram_cnn.py:sweep run every fold')
      test_speaker = _fold_speaker(names, loso_fold)
    elif test_speaker not in names:
      raise errors.ConfigError(
          f'data.test_speaker={test_speaker!r}: not among the speakers '
          f'{names}')
    is_test = np.array([r.speaker == test_speaker for r in recordings])
  rest = np.flatnonzero(~is_test)
  val_fraction = fractions[1] / (fractions[0] + fractions[1])
  train_idx, val_idx = _stratified_val(rest, digits, val_fraction, seed)
  return np.sort(train_idx), np.sort(val_idx), np.flatnonzero(is_test)


def train_subset(parts, labels, fraction, seed):
  """`parts` (train, val, test indices) with train cut to a stratified
  `fraction` of itself (data.train_fraction, for smoke runs)."""
  if not 0 < fraction <= 1:
    raise errors.ConfigError(
        f'data.train_fraction={fraction}: must be in (0, 1]')
  if fraction == 1:
    return parts
  train = parts[0]
  keep = splits_lib.stratified_split(labels[train], [fraction, 1 - fraction],
                                     seed)[0]
  return (train[keep], *parts[1:])
