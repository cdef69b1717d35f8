"""MFCC features of FSDD, z-scored with training statistics, as `Splits`.

Features: librosa MFCCs at the native rate, `n_fft` = one frame of
`frame_ms` (120 samples at 8 kHz), hop `hop_ms` (60 samples); librosa centres
frames, so an utterance of T samples has 1 + T // hop frames. They are cached
on disk (data/cache.py) keyed by every parameter and the files' sizes/mtimes.
The z-score uses the mean/std over all frames of the training split only;
cfg.split picks the split (data/fsdd.py: random, official, speaker, loso);
info['test_speakers'] names each test item's speaker.

Three views, one per approach of Problem 1:
  fsdd_mfcc_mean:   mean of the normalised frames [N, n_mfcc] (baseline).
  fsdd_mfcc_flat:   frames zero-padded to the longest utterance of all splits
                    and flattened [N, T_max * n_mfcc] (Approach A).
  fsdd_mfcc_frames: the padded frames [N, T_max, n_mfcc]; lengths in
                    info['lengths'][split] (Approach B).
"""

from absl import logging
import librosa
import numpy as np
import tqdm

import errors
from data import cache
from data import fetch
from data import fsdd
from data import splits as splits_lib

# Bump when the feature code changes its output, to invalidate cached entries.
FEATURE_VERSION = 1
SPLIT_NAMES = ('train', 'val', 'test')
# Beside a baseline run: {'mean', 'std'}, the training statistics its inputs
# were z-scored with, which new recordings need too (eval.predict).
ZSCORE_FILE = 'mfcc_zscore.json'


def frame_params(sample_rate, frame_ms, hop_ms):
  """(n_fft, hop_length) in samples: 15 ms / 7.5 ms at 8 kHz -> (120, 60)."""
  n_fft = int(round(sample_rate * frame_ms / 1000))
  hop = int(round(sample_rate * hop_ms / 1000))
  if n_fft < 2 or hop < 1:
    raise errors.ConfigError(
        f'data.frame_ms={frame_ms}, data.hop_ms={hop_ms}: give n_fft={n_fft} '
        f'and hop={hop} samples at {sample_rate} Hz; need n_fft >= 2, hop >= 1')
  return n_fft, hop


def num_frames(num_samples, hop):
  """Frames librosa's centred STFT gives for `num_samples` samples."""
  return 1 + num_samples // hop


def mfcc(wave, cfg):
  """float32 [frames, n_mfcc] of one mono wave at cfg.sample_rate."""
  n_fft, hop = frame_params(cfg.sample_rate, cfg.frame_ms, cfg.hop_ms)
  m = librosa.feature.mfcc(y=wave, sr=cfg.sample_rate, n_mfcc=cfg.n_mfcc,
                           n_fft=n_fft, hop_length=hop, n_mels=cfg.n_mels)
  return m.T.astype(np.float32)


def select_recordings(cfg):
  """The recordings of cfg.dir, limited to index < cfg.max_index if set."""
  recordings = fsdd.list_recordings(
      fetch.ensure_fsdd(cfg.dir, cfg.allow_download))
  if cfg.max_index:
    recordings = [r for r in recordings if r.index < cfg.max_index]
  return recordings


def _feature_params(cfg, recordings):
  return {
      'version': FEATURE_VERSION,
      'features': {k: cfg[k] for k in ('sample_rate', 'n_mfcc', 'frame_ms',
                                        'hop_ms', 'n_mels', 'on_other_rate',
                                        'on_bad_file')},
      'files': cache.file_signature([r.path for r in recordings]),
  }


def extract(cfg, recordings):
  """(MFCC list, kept indices into recordings, skipped paths), cached."""

  def compute():
    waves, kept, skipped = fsdd.load_all(
        recordings, cfg.sample_rate, cfg.on_other_rate, cfg.on_bad_file)
    logging.info('Computing the MFCCs of %d recordings (once: they are '
                 'cached)', len(waves))
    # disable=None: no bar when stderr is not a terminal.
    frames, lengths = cache.pack_ragged([mfcc(w, cfg) for w in tqdm.tqdm(
        waves, desc='MFCCs', unit='file', leave=False, disable=None)])
    return {'frames': frames, 'lengths': lengths, 'kept': kept,
            'skipped': np.array([p for p, _ in skipped], dtype=str)}

  out = cache.cached(cfg.cache_dir, 'fsdd_mfcc',
                     _feature_params(cfg, recordings), compute,
                     keys=('frames', 'lengths', 'kept', 'skipped'))
  feats = cache.unpack_ragged(out['frames'], out['lengths'])
  return feats, out['kept'], list(out['skipped'])


def zscore_stats(frames_list):
  """(mean [F], std [F]) over every frame of every utterance in the list."""
  allf = np.concatenate(frames_list).astype(np.float64)
  std = allf.std(axis=0)
  return allf.mean(axis=0), np.where(std > 0, std, 1.0)


def normalise(frames_list, mean, std):
  return [((f - mean) / std).astype(np.float32) for f in frames_list]


def pad_frames(frames_list, length):
  """Zero-pads (at the end) to [N, length, F]; returns it and the lengths."""
  out = np.zeros((len(frames_list), length, frames_list[0].shape[1]), np.float32)
  for i, f in enumerate(frames_list):
    out[i, :len(f)] = f
  return out, np.array([len(f) for f in frames_list], np.int32)


def load_normalised(cfg):
  """{split: (normalised frames list, labels int32)} and an info dict."""
  all_recordings = select_recordings(cfg)
  feats, kept, skipped = extract(cfg, all_recordings)
  recordings = [all_recordings[i] for i in kept]
  idx = dict(zip(SPLIT_NAMES, fsdd.split_indices(
      recordings, cfg.split, cfg.split_seed, tuple(cfg.fractions),
      cfg.test_speaker, cfg.loso_fold)))
  if not len(idx['train']):
    raise errors.ConfigError(
        f'data.split={cfg.split!r}: empty training split '
        f'({len(recordings)} recordings, data.max_index={cfg.max_index})')
  mean, std = zscore_stats([feats[i] for i in idx['train']])
  digits = np.array([r.digit for r in recordings], np.int32)
  parts = {s: (normalise([feats[i] for i in ix], mean, std), digits[ix])
           for s, ix in idx.items()}
  info = {'indices': idx, 'skipped': skipped, 'mean': mean, 'std': std,
          'signature': fsdd.signature(all_recordings,
                                      f'MFCC v{FEATURE_VERSION}'),
          'speakers': [r.speaker for r in recordings],
          'test_speakers': [recordings[i].speaker for i in idx['test']],
          'max_frames': max(len(f) for f in feats)}
  return parts, info


def _splits(parts, info, view):
  xs = [view(parts[s][0]) for s in SPLIT_NAMES]
  ys = [parts[s][1] for s in SPLIT_NAMES]
  return splits_lib.Splits(xs[0], ys[0], xs[1], ys[1], xs[2], ys[2], info=info)


def mean_frames(frames_list):
  """[N, n_mfcc]: each utterance's mean normalised frame (the baseline's
  input, here and in eval.predict)."""
  return np.stack([f.mean(axis=0) for f in frames_list])


def fsdd_mfcc_mean(cfg):
  """Baseline features: the mean normalised frame of each utterance."""
  parts, info = load_normalised(cfg)
  return _splits(parts, info, mean_frames)


def fsdd_mfcc_flat(cfg):
  """Approach A: frames padded to the longest utterance, flattened."""
  parts, info = load_normalised(cfg)
  t = info['max_frames']
  return _splits(parts, info,
                 lambda fl: pad_frames(fl, t)[0].reshape(len(fl), -1))


def fsdd_mfcc_frames(cfg):
  """Approach B: padded frames [N, T_max, F]; info['lengths'][split]."""
  parts, info = load_normalised(cfg)
  t = info['max_frames']
  info['lengths'] = {s: pad_frames(parts[s][0], t)[1] for s in SPLIT_NAMES}
  return _splits(parts, info, lambda fl: pad_frames(fl, t)[0])
