"""On-device augmentations of log-mel batches, run inside the jitted train step.

`make(config.augment, num_classes)` gives augment_fn(rng, x, y) -> (x, y_soft),
a pure function of its key and batch that trainer.fit's train step applies to
every training batch: x float [B, T, F, C] (time first, as data/logmel.py
makes it), y int labels [B], y_soft [B, classes] (one-hot unless mixed). In
this order:
  shift:  each example moved by 0..±`shift` frames in time; the frames it
          exposes take the example's minimum (its silence floor);
  freq_shift: each example moved by 0..±`freq_shift` mel bands, its edge
          bands repeated where it exposes bands: on the mel scale a longer or
          shorter vocal tract moves formants by roughly a constant number of
          bands, so this imitates another speaker (a cheap VTLP, Jaitly &
          Hinton, 2013) on device;
  masks:  SpecAugment (Park et al., 2019): `freq_masks` bands of 0..`freq_mask`
          mel bands and `time_masks` spans of 0..`time_mask` frames per
          example, set to the example's mean (0 for utterance-normalised
          features), so a mask removes information without adding an edge;
  noise:  additive N(0, noise_std^2), in feature units (the utterance's std
          when data.normalize='utterance');
  mixup:  (Zhang et al., 2018) each example mixed with another of the batch
          with weight lam ~ Beta(mixup, mixup), drawn per example, and its
          one-hot label alike.
Each is off when its field is 0, so an ablation toggles one field; with all
off `make` returns None and the train step is the plain one.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections

import errors


def default_config():
  """The augment group of configs/fsdd_voices.py: the full recipe's values."""
  cfg = ml_collections.ConfigDict()
  cfg.shift = 6  # frames either way (96 ms at the 16 ms hop)
  cfg.freq_shift = 0  # mel bands either way
  cfg.time_mask = 8  # widest time mask, frames
  cfg.time_masks = 2
  cfg.freq_mask = 6  # widest frequency mask, mel bands
  cfg.freq_masks = 2
  cfg.noise_std = 0.1
  cfg.mixup = 0.2  # Beta(alpha, alpha)
  return cfg


class Params(NamedTuple):
  """A validated, hashable copy of config.augment."""
  shift: int
  freq_shift: int
  time_mask: int
  time_masks: int
  freq_mask: int
  freq_masks: int
  noise_std: float
  mixup: float


def check_config(cfg):
  """Params of config.augment, or a ConfigError naming a negative field."""
  for field in Params._fields:
    if cfg[field] < 0:
      raise errors.ConfigError(f'augment.{field}={cfg[field]}: must be >= 0')
  return Params(**{field: cfg[field] for field in Params._fields})


def time_shift(rng, x_BxTxFxC, max_shift):
  """Each example shifted by its own 0..±max_shift frames, filled with its
  minimum where the shift exposes frames."""
  b, t = x_BxTxFxC.shape[:2]
  shift_B = jax.random.randint(rng, (b,), -max_shift, max_shift + 1)
  src_BxT = jnp.arange(t)[None, :] - shift_B[:, None]
  inside_BxT = (src_BxT >= 0) & (src_BxT < t)
  moved = x_BxTxFxC[jnp.arange(b)[:, None], jnp.clip(src_BxT, 0, t - 1)]
  floor = x_BxTxFxC.min(axis=(1, 2, 3), keepdims=True)
  return jnp.where(inside_BxT[:, :, None, None], moved, floor)


def freq_shift(rng, x_BxTxFxC, max_shift):
  """Each example shifted by its own 0..±max_shift mel bands, its edge bands
  repeated where the shift exposes bands."""
  b, _, f = x_BxTxFxC.shape[:3]
  shift_B = jax.random.randint(rng, (b,), -max_shift, max_shift + 1)
  src_BxF = jnp.clip(jnp.arange(f)[None, :] - shift_B[:, None], 0, f - 1)
  return jnp.take_along_axis(x_BxTxFxC, src_BxF[:, None, :, None], axis=2)


def span_mask(rng, batch, length, max_width, count):
  """bool [batch, length]: per row the union of `count` spans, each of a
  width drawn from 0..max_width and a start that keeps it inside."""
  width_rng, start_rng = jax.random.split(rng)
  max_width = min(max_width, length)
  width_BxM = jax.random.randint(width_rng, (batch, count), 0, max_width + 1)
  # uniform < 1, so start <= length - width.
  start_BxM = (jax.random.uniform(start_rng, (batch, count)) *
               (length - width_BxM + 1)).astype(jnp.int32)
  pos = jnp.arange(length)
  inside_BxMxL = ((pos >= start_BxM[..., None]) &
                  (pos < (start_BxM + width_BxM)[..., None]))
  return inside_BxMxL.any(axis=1)


def mask_axis(rng, x_BxTxFxC, axis, max_width, count, fill_B111):
  """x with `count` spans of up to max_width along `axis` (1: time, 2:
  frequency) set to fill_B111, per example."""
  b, length = x_BxTxFxC.shape[0], x_BxTxFxC.shape[axis]
  shape = [b, 1, 1, 1]
  shape[axis] = length
  masked = span_mask(rng, b, length, max_width, count).reshape(shape)
  return jnp.where(masked, fill_B111.astype(x_BxTxFxC.dtype), x_BxTxFxC)


def mixup(rng, x_BxTxFxC, y_BxK, alpha):
  """Each example and label mixed with those of a permutation of the batch,
  weight lam_B ~ Beta(alpha, alpha) on the example's own."""
  lam_rng, perm_rng = jax.random.split(rng)
  b = x_BxTxFxC.shape[0]
  lam_B = jax.random.beta(lam_rng, alpha, alpha, (b,))
  perm = jax.random.permutation(perm_rng, b)
  lam_x = lam_B.reshape(b, 1, 1, 1).astype(x_BxTxFxC.dtype)
  lam_y = lam_B[:, None]
  return (lam_x * x_BxTxFxC + (1 - lam_x) * x_BxTxFxC[perm],
          lam_y * y_BxK + (1 - lam_y) * y_BxK[perm])


def augment(rng, x_BxTxFxC, y_B, *, params, num_classes):
  """(augmented x, soft labels [B, num_classes]) of one batch (see above)."""
  # freq_shift's key comes last: the first five keys do not depend on the
  # count (jax_threefry_partitionable), so runs without it draw as before.
  (shift_rng, freq_rng, time_rng, noise_rng, mix_rng,
   band_rng) = jax.random.split(rng, 6)
  x = x_BxTxFxC
  if params.shift:
    x = time_shift(shift_rng, x, params.shift)
  if params.freq_shift:
    x = freq_shift(band_rng, x, params.freq_shift)
  fill = x.mean(axis=(1, 2, 3), keepdims=True)
  if params.freq_mask and params.freq_masks:
    x = mask_axis(freq_rng, x, 2, params.freq_mask, params.freq_masks, fill)
  if params.time_mask and params.time_masks:
    x = mask_axis(time_rng, x, 1, params.time_mask, params.time_masks, fill)
  if params.noise_std:
    x = x + params.noise_std * jax.random.normal(noise_rng, x.shape, x.dtype)
  y = jax.nn.one_hot(y_B, num_classes, dtype=jnp.float32)
  if params.mixup:
    x, y = mixup(mix_rng, x, y, params.mixup)
  return x, y


def make(cfg, num_classes):
  """augment_fn(rng, x, y) of config.augment for trainer.fit, or None when
  every augmentation is off."""
  params = check_config(cfg)
  if not (params.shift or params.freq_shift or params.noise_std or
          params.mixup or (params.time_mask and params.time_masks) or
          (params.freq_mask and params.freq_masks)):
    return None
  return functools.partial(augment, params=params, num_classes=num_classes)
