"""FSDD recordings as log-mel spectrogram images (Problem 4B).

Each recording becomes an image of n_mels x frames (128 x 128): the log-mel
power in dB relative to the clip's peak, clipped at -top_db and scaled to
[0, 1], low frequencies at the bottom as in a rendered spectrogram. The time
extent is fixed by padding (silence) or cropping the waveform to
hop_length * (frames - 1) samples (1.016 s at the defaults; 17 of the 3000
recordings are longer and lose their tail); time_axis='resize' instead
stretches the whole clip's frames to `frames`. channels=3 renders the image
through a matplotlib colormap like the seed's saved images, channels=1 keeps
the scaled dB. Images are cached as uint8 (as an image file would hold them)
under data.cache, keyed by every parameter below and the files' signature.
"""

from absl import logging
import numpy as np
import tqdm

import errors
from data import cache
from data import fetch
from data import fsdd
from data import splits as splits_lib

_VERSION = 1  # bump when the image computation changes


def log_mel_image(wave, *, sample_rate, n_mels, n_fft, hop_length, frames,
                  top_db, time_axis):
  """float32 [n_mels, frames] in [0, 1]; row 0 is the highest mel band."""
  import librosa  # pylint: disable=g-import-not-at-top
  if time_axis == 'pad':
    # With librosa's centred frames, 1 + len // hop = frames.
    wave = librosa.util.fix_length(wave, size=hop_length * (frames - 1))
  mel = librosa.feature.melspectrogram(
      y=wave, sr=sample_rate, n_fft=n_fft, hop_length=hop_length,
      n_mels=n_mels)
  db = librosa.power_to_db(mel, ref=np.max, top_db=top_db)
  if time_axis == 'resize':
    t = np.linspace(0, db.shape[1] - 1, frames)
    db = np.stack([np.interp(t, np.arange(db.shape[1]), row) for row in db])
  return np.flipud((db + top_db) / top_db).astype(np.float32)


def render(image, channels, cmap):
  """[H, W] in [0, 1] -> uint8 [H, W, channels], through `cmap` if 3."""
  if channels == 1:
    out = image[..., None]
  else:
    import matplotlib  # pylint: disable=g-import-not-at-top
    out = matplotlib.colormaps[cmap](image)[..., :3]
  return np.round(out * 255).astype(np.uint8)


def _check(cfg):
  if cfg.channels not in (1, 3):
    raise errors.ConfigError(f'data.channels={cfg.channels}: must be 1 or 3')
  if cfg.time_axis not in ('pad', 'resize'):
    raise errors.ConfigError(
        f'data.time_axis={cfg.time_axis!r}: choices: pad, resize')
  if cfg.channels == 3:
    import matplotlib  # pylint: disable=g-import-not-at-top
    if cfg.cmap not in matplotlib.colormaps:
      raise errors.ConfigError(f'data.cmap={cfg.cmap!r}: not a matplotlib '
                               'colormap')
  for field in ('n_mels', 'n_fft', 'hop_length', 'frames', 'top_db'):
    if cfg[field] <= 0:
      raise errors.ConfigError(f'data.{field}={cfg[field]}: must be > 0')


def _feature(cfg):
  return dict(sample_rate=cfg.sample_rate, n_mels=cfg.n_mels, n_fft=cfg.n_fft,
              hop_length=cfg.hop_length, frames=cfg.frames, top_db=cfg.top_db,
              time_axis=cfg.time_axis)


def wave_image(wave, cfg):
  """uint8 [n_mels, frames, channels] of one wave at cfg.sample_rate: what the
  pipeline caches per recording (and eval.predict computes per file)."""
  return render(log_mel_image(wave, **_feature(cfg)), cfg.channels, cfg.cmap)


def model_inputs(images):
  """uint8 images -> the float32 in [0, 1] a model takes."""
  return images.astype(np.float32) / 255.0


def spectrogram_images(cfg, recordings):
  """(uint8 images [N, n_mels, frames, channels], kept indices), cached."""
  _check(cfg)
  params = dict(_feature(cfg), channels=cfg.channels, cmap=cfg.cmap,
                **fsdd.source_params(cfg, recordings), version=_VERSION)

  def compute():
    waves, kept, _ = fsdd.load_waves(cfg, recordings)
    logging.info('Computing %d spectrogram images (once: they are cached)',
                 len(waves))
    # disable=None: no bar when stderr is not a terminal.
    images = [wave_image(w, cfg) for w in tqdm.tqdm(
        waves, desc='spectrograms', unit='file', leave=False, disable=None)]
    return {'images': np.stack(images), 'kept': kept}

  arrays = cache.cached(cfg.cache_dir,
                        'fsdd_spectrogram', params, compute,
                        keys=('images', 'kept'))
  return arrays['images'], arrays['kept']


def fsdd_spectrogram(cfg):
  """Splits of FSDD spectrogram images (float32 in [0, 1]) by cfg.split;
  info['test_speakers'] names each test item's speaker."""
  recordings = fsdd.list_recordings(
      fetch.ensure_fsdd(cfg.dir, cfg.allow_download))
  images, kept = spectrogram_images(cfg, recordings)
  signature = fsdd.signature(recordings, f'log-mel images v{_VERSION}')
  recordings = [recordings[i] for i in kept]
  parts = fsdd.split_indices(recordings, cfg.split, cfg.split_seed,
                             tuple(cfg.fractions), cfg.test_speaker,
                             cfg.loso_fold)
  labels = np.array([r.digit for r in recordings], np.int32)
  parts = fsdd.train_subset(parts, labels, cfg.train_fraction, cfg.split_seed)
  arrays = []
  for idx in parts:
    arrays += [model_inputs(images[idx]), labels[idx]]
  logging.info('fsdd_spectrogram %s split: %s train/val/test', cfg.split,
               [len(p) for p in parts])
  return splits_lib.Splits(
      *arrays, num_classes=10,
      info={'test_files': [recordings[i].path for i in parts[2]],
            'test_speakers': [recordings[i].speaker for i in parts[2]],
            'signature': signature})
