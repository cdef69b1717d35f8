"""FSDD recordings as compact log-mel features: the voices recipe's input.

Each recording becomes float32 [frames, n_mels, 1], time first: librosa's mel
power (n_fft, hop_length, centred frames) in dB (ref 1, floored top_db under
the clip's peak), centred in a window of `frames` frames (64 x 16 ms = 1.008 s
at the defaults; shorter clips padded with their own floor, i.e. silence,
the 17 longer ones cropped about their centre) and normalised by
data.normalize:
  utterance: z-score with the clip's own mean and std over its real frames,
             so loudness and microphone gain drop out;
  band:      each mel band minus its own mean over the clip's real frames
             (per-utterance cepstral mean normalisation, Kaldi apply-cmvn's
             default), then divided by the clip's std: a microphone's or a
             vocal tract's fixed spectral colouring drops out too;
  train:     z-score per mel band with the training rows' statistics (kept
             beside the run as ZSCORE_FILE, for eval.predict);
  none:      the dB values as they are.
eval.predict makes a new recording's input with the same functions
(wave_log_mel, model_inputs).
Perturbed copies of every training recording join the training split only
(validation and test stay the recordings as they are): data.speed_perturb
factors (resampled, tempo and pitch change together as in Kaldi's speed
perturbation; 1.1 = 10% faster) and data.pitch_perturb semitones (librosa's
pitch_shift, duration kept). Each version's features are cached (data/cache.py)
unpadded, keyed by the feature parameters, the version and the files, so a
new factor computes only its own copy.
"""

from absl import logging
import numpy as np
import tqdm

import errors
from data import cache
from data import fetch
from data import fsdd
from data import splits as splits_lib

_VERSION = 1  # bump when the feature computation changes
# The features' part of the data signature (fsdd.signature).
FEATURES = f'log-mel features v{_VERSION}'
NUM_CLASSES = 10
NORMALIZE = ('utterance', 'band', 'train', 'none')
ORIGINAL = ('original', 0.0)  # the recordings as they are: version 0
# Beside a run with data.normalize='train': {'mean', 'std'} per mel band, the
# training statistics its inputs were z-scored with, which new recordings
# need too (eval.predict). Written by the run (info['run_files']).
ZSCORE_FILE = 'logmel_zscore.json'


def log_mel(wave, *, sample_rate, n_mels, n_fft, hop_length, top_db):
  """float32 [1 + len(wave) // hop_length, n_mels] in dB."""
  import librosa  # pylint: disable=g-import-not-at-top
  mel = librosa.feature.melspectrogram(
      y=wave, sr=sample_rate, n_fft=n_fft, hop_length=hop_length,
      n_mels=n_mels)
  db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=top_db)
  return np.ascontiguousarray(db.T, np.float32)


def perturb(wave, kind, value, sample_rate, n_fft):
  """The wave sped up by factor `value` ('speed') or shifted by `value`
  semitones ('pitch', its phase vocoder on n_fft-sample frames), at the
  same sample rate."""
  import librosa  # pylint: disable=g-import-not-at-top
  if kind == 'speed':
    # Read as if recorded at value x the rate: 1/value as long, pitch x value.
    return librosa.resample(wave, orig_sr=round(sample_rate * value),
                            target_sr=sample_rate)
  return librosa.effects.pitch_shift(wave, sr=sample_rate, n_steps=value,
                                     n_fft=n_fft)


def fixed_frames(db_TxF, frames):
  """[frames, n_mels]: db centred and padded with its minimum (the clip's
  silence floor), or its middle `frames` frames."""
  t = len(db_TxF)
  if t >= frames:
    start = (t - frames) // 2
    return db_TxF[start:start + frames]
  out = np.full((frames, db_TxF.shape[1]), db_TxF.min(), np.float32)
  start = (frames - t) // 2
  out[start:start + t] = db_TxF
  return out


def normalize_utterance(db_TxF):
  """The clip z-scored with its own mean and std."""
  return (db_TxF - db_TxF.mean()) / max(float(db_TxF.std()), 1e-5)


def normalize_band(db_TxF):
  """Each band minus its mean over the clip, over the result's std."""
  centred = db_TxF - db_TxF.mean(0)
  return centred / max(float(centred.std()), 1e-5)


def versions(cfg):
  """[(kind, value)]: ORIGINAL, then each speed factor and pitch shift."""
  return [ORIGINAL, *(('speed', float(f)) for f in cfg.speed_perturb),
          *(('pitch', float(s)) for s in cfg.pitch_perturb)]


def check_config(cfg):
  """ConfigError naming the first bad data field."""
  for field in ('n_mels', 'n_fft', 'hop_length', 'frames', 'top_db'):
    if cfg[field] <= 0:
      raise errors.ConfigError(f'data.{field}={cfg[field]}: must be > 0')
  if cfg.normalize not in NORMALIZE:
    raise errors.ConfigError(f'data.normalize={cfg.normalize!r}: unknown; '
                             f'choices: {", ".join(NORMALIZE)}')
  if any(f <= 0 for f in cfg.speed_perturb):
    raise errors.ConfigError(
        f'data.speed_perturb={tuple(cfg.speed_perturb)}: factors must be > 0')


def _feature(cfg):
  return dict(sample_rate=cfg.sample_rate, n_mels=cfg.n_mels, n_fft=cfg.n_fft,
              hop_length=cfg.hop_length, top_db=cfg.top_db)


def wave_log_mel(wave, cfg):
  """dB log-mel [t, n_mels] of one wave at cfg.sample_rate: what the pipeline
  caches per recording version (and eval.predict computes per file)."""
  return log_mel(wave, **_feature(cfg))


def version_mels(cfg, recordings, kind, value):
  """([dB log-mel [t_i, n_mels]] of one version of every kept recording,
  kept indices into `recordings`), cached."""
  params = dict(_feature(cfg), kind=kind, value=value,
                **fsdd.source_params(cfg, recordings), version=_VERSION)

  def compute():
    waves, kept, _ = fsdd.load_waves(cfg, recordings)
    logging.info('Computing %d log-mel features, %s %g (once: they are '
                 'cached)', len(waves), kind, value)
    mels = []
    # disable=None: no bar when stderr is not a terminal.
    for wave in tqdm.tqdm(waves, desc=f'log-mel {kind} {value:g}',
                          unit='file', leave=False, disable=None):
      if (kind, value) != ORIGINAL:
        wave = perturb(wave, kind, value, cfg.sample_rate, cfg.n_fft)
      mels.append(wave_log_mel(wave, cfg))
    flat, lengths = cache.pack_ragged(mels)
    return {'flat': flat, 'lengths': lengths, 'kept': kept}

  arrays = cache.cached(cfg.cache_dir,
                        'fsdd_logmel', params, compute,
                        keys=('flat', 'lengths', 'kept'))
  return cache.unpack_ragged(arrays['flat'], arrays['lengths']), arrays['kept']


def zscore_stats(train_mels):
  """(mean, std) float32 [n_mels] over the real frames of every training row,
  copies included: the statistics of what the model trains on."""
  frames_AxF = np.concatenate(train_mels)
  return frames_AxF.mean(0), np.maximum(frames_AxF.std(0), 1e-5)


def model_inputs(mels, cfg, zscore=None):
  """float32 [N, frames, n_mels, 1] from ragged dB log-mels, framed and
  normalised by cfg.normalize ('train': with zscore = (mean, std))."""
  per_clip = {'utterance': normalize_utterance, 'band': normalize_band}
  if cfg.normalize in per_clip:
    mels = [per_clip[cfg.normalize](m) for m in mels]
  out = np.zeros((len(mels), cfg.frames, cfg.n_mels), np.float32)
  for i, m in enumerate(mels):
    out[i] = fixed_frames(m, cfg.frames)
  if cfg.normalize == 'train':
    mean, std = zscore
    out = (out - mean) / std
  return out[..., None]


def fsdd_logmel(cfg):
  """Splits of FSDD log-mel features [N, frames, n_mels, 1] by cfg.split,
  with perturbed copies of the training recordings appended to the training
  split; info['test_speakers'] names each test item's speaker and, with
  normalize='train', info['run_files'] holds the run's ZSCORE_FILE."""
  check_config(cfg)
  recordings = fsdd.list_recordings(
      fetch.ensure_fsdd(cfg.dir, cfg.allow_download))
  # Every version reads the same files, so keeps the same ones.
  mels, kept = zip(*(version_mels(cfg, recordings, kind, value)
                     for kind, value in versions(cfg)))
  kept = kept[0]
  signature = fsdd.signature(recordings, FEATURES)
  recordings = [recordings[i] for i in kept]
  labels = np.array([r.digit for r in recordings], np.int32)
  parts = fsdd.split_indices(recordings, cfg.split, cfg.split_seed,
                             tuple(cfg.fractions), cfg.test_speaker,
                             cfg.loso_fold)
  train, val, test = fsdd.train_subset(parts, labels, cfg.train_fraction,
                                       cfg.split_seed)
  train_mels = [m[i] for m in mels for i in train]
  zscore = zscore_stats(train_mels) if cfg.normalize == 'train' else None
  xs = [model_inputs(train_mels, cfg, zscore),
        *(model_inputs([mels[0][i] for i in idx], cfg, zscore)
          for idx in (val, test))]
  ys = [np.tile(labels[train], len(mels)), labels[val], labels[test]]
  logging.info('fsdd_logmel %s split: %d train (%d recordings x %d versions) '
               '/ %d val / %d test', cfg.split, len(ys[0]), len(train),
               len(mels), len(val), len(test))
  info = {'test_files': [recordings[i].path for i in test],
          'test_speakers': [recordings[i].speaker for i in test],
          'signature': signature}
  if zscore is not None:
    info['run_files'] = {ZSCORE_FILE: {'mean': zscore[0].tolist(),
                                       'std': zscore[1].tolist()}}
  return splits_lib.Splits(*(a for x, y in zip(xs, ys) for a in (x, y)),
                           num_classes=NUM_CLASSES, info=info)
