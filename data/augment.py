"""Digit augmentations in pure JAX, jit + vmap, one PRNG key per image.

Transforms (TRANSFORMS, in the order they are applied): rotation, zoom,
translation, elastic deformation, cutout, brightness, Gaussian noise. The four
geometric ones are composed into one coordinate map and resampled once
(bilinear, `jax.scipy.ndimage.map_coordinates`), so combining them costs one
interpolation and the digit is blurred once. `combined` applies each transform
of config.augment.transforms with probability `strength`, independently: a
random subset per image. Values stay in `pixel_range` (lo = background).
"""

import functools
from typing import NamedTuple

import dm_pix as pix
import jax
import jax.numpy as jnp
from jax.scipy import ndimage
import ml_collections
import numpy as np

import errors

GEOMETRIC = ('rotate', 'zoom', 'translate', 'elastic')
PHOTOMETRIC = ('cutout', 'brightness', 'noise')
TRANSFORMS = GEOMETRIC + PHOTOMETRIC


def default_config():
  """Augmentation fields (config.augment) with digit-preserving defaults."""
  cfg = ml_collections.ConfigDict()
  cfg.pixel_range = (0.0, 1.0)  # must match config.data.pixel_range
  # Probability of each transform in `combined`; 0 leaves images untouched.
  cfg.strength = 0.5
  cfg.transforms = TRANSFORMS  # the subset `combined` draws from
  cfg.rotate_degrees = 15.0  # angle ~ U(-a, a)
  cfg.zoom = 0.1  # scale ~ U(1 - z, 1 + z)
  cfg.shift = 3.0  # pixels ~ U(-s, s) on each axis
  # Simard et al. (2003): alpha 34, sigma 4 on 28x28 digits, a displacement
  # of about 1.5 px that bends strokes without breaking them.
  cfg.elastic_alpha = 34.0
  cfg.elastic_sigma = 4.0
  cfg.cutout_size = 7  # side of the background-filled square, pixels
  cfg.brightness_delta = 0.2  # max +-shift, as a fraction of the range
  cfg.noise_std = 0.1  # Gaussian noise sigma, as a fraction of the range
  return cfg


class Params(NamedTuple):
  """A validated, hashable copy of config.augment (a jit static argument)."""
  lo: float
  hi: float
  strength: float
  transforms: tuple
  rotate_degrees: float
  zoom: float
  shift: float
  elastic_alpha: float
  elastic_sigma: float
  cutout_size: int
  brightness_delta: float
  noise_std: float


def check_config(cfg):
  """Params of config.augment, or errors.ConfigError naming the bad field."""
  def fail(field, why):
    raise errors.ConfigError(f'augment.{field}={cfg[field]!r}: {why}')

  try:
    lo, hi = (float(v) for v in cfg.pixel_range)
  except (TypeError, ValueError):
    fail('pixel_range', 'must be a pair (lo, hi)')
  if not lo < hi:
    fail('pixel_range', 'needs lo < hi')
  if not cfg.strength >= 0:
    fail('strength', 'must be >= 0')
  if cfg.strength > 1:
    fail('strength', 'is the probability of each transform, must be <= 1')
  unknown = set(cfg.transforms) - set(TRANSFORMS)
  if unknown:
    fail('transforms', f'unknown {sorted(unknown)}; choices: {TRANSFORMS}')
  for field in ('rotate_degrees', 'shift', 'elastic_alpha', 'cutout_size',
                'brightness_delta', 'noise_std'):
    if not cfg[field] >= 0:
      fail(field, 'must be >= 0')
  if not 0 <= cfg.zoom < 1:
    fail('zoom', 'must be in [0, 1)')
  if not cfg.elastic_sigma > 0:
    fail('elastic_sigma', 'must be > 0')
  return Params(
      lo, hi, float(cfg.strength),
      tuple(t for t in TRANSFORMS if t in cfg.transforms),
      float(cfg.rotate_degrees), float(cfg.zoom), float(cfg.shift),
      float(cfg.elastic_alpha), float(cfg.elastic_sigma), int(cfg.cutout_size),
      float(cfg.brightness_delta), float(cfg.noise_std))


def warp(image, degrees=0.0, scale=1.0, shift=(0.0, 0.0), field=None, lo=0.0):
  """Rotates (counter-clockwise), zooms about the centre, moves, then deforms.

  image [H,W,C]; shift (dy, dx) in pixels; field [2,H,W] an extra (elastic)
  displacement of the sampling grid. Output pixel o reads the input at
  R(-degrees) (o + field(o) - c - shift) / scale + c, bilinearly, with
  background `lo` beyond the border; identity parameters return the image.
  """
  h, w, _ = image.shape
  theta = jnp.deg2rad(degrees)
  cos, sin = jnp.cos(theta), jnp.sin(theta)
  # (row, col) axes: the inverse of a counter-clockwise rotation, as pix.rotate.
  pull = jnp.array([[cos, sin], [-sin, cos]]) / scale
  center = jnp.array([(h - 1) / 2, (w - 1) / 2])[:, None, None]
  grid = jnp.mgrid[0:h, 0:w].astype(jnp.float32)
  if field is not None:
    grid = grid + field
  coords = jnp.einsum('ij,jhw->ihw', pull,
                      grid - center - jnp.asarray(shift)[:, None, None]) + center
  resample = functools.partial(ndimage.map_coordinates, coordinates=coords,
                               order=1, mode='constant', cval=lo)
  return jax.vmap(resample, in_axes=-1, out_axes=-1)(image)


@functools.lru_cache(maxsize=None)
def _blur_matrix(n, sigma):
  """[n,n] matrix of pix.gaussian_blur's 1-D kernel ('SAME', zero padding).

  Blurring by two small matmuls instead of pix's depthwise conv: the vmapped
  conv ran at ~700 images/s on XLA:CPU, the matmuls at ~60,000.
  """
  radius = int((((sigma - 0.8) / 0.3 + 1) / 0.5 + 1) / 2)  # pix's kernel size
  taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma ** 2))
  taps /= taps.sum()
  d = np.arange(n)[:, None] - np.arange(n)[None, :]
  return np.where(np.abs(d) <= radius, taps[np.clip(d + radius, 0, 2 * radius)],
                  0.0).astype(np.float32)


def elastic_field(key, shape, alpha, sigma):
  """[2,H,W] displacement: uniform noise, Gaussian-blurred, times alpha.

  The field of pix.elastic_deformation (Simard et al., 2003).
  """
  h, w = shape
  noise = jax.random.uniform(key, (2, h, w), minval=-1.0, maxval=1.0)
  bh, bw = _blur_matrix(h, sigma), _blur_matrix(w, sigma)
  return alpha * jnp.einsum('ij,cjk,lk->cil', bh, noise, bw)


def cutout(image, top, left, size, lo):
  """Sets the size x size square at (top, left) to background."""
  rows = jnp.arange(image.shape[0])[:, None, None]
  cols = jnp.arange(image.shape[1])[None, :, None]
  inside = ((rows >= top) & (rows < top + size) &
            (cols >= left) & (cols < left + size))
  return jnp.where(inside, lo, image)


def _augment_one(key, image, p):
  """Each transform of p.transforms with probability p.strength."""
  keys = dict(zip(('apply',) + TRANSFORMS,
                  jax.random.split(key, len(TRANSFORMS) + 1)))
  draw = jax.random.uniform(keys['apply'], (len(TRANSFORMS),)) < p.strength
  # Transforms left out of p.transforms are not traced at all.
  on = {t: draw[i] for i, t in enumerate(TRANSFORMS) if t in p.transforms}
  span = p.hi - p.lo
  x = image.astype(jnp.float32)

  if set(GEOMETRIC) & set(on):
    def draw_if(name, a, shape=()):
      if name not in on:
        return jnp.zeros(shape)
      return jax.random.uniform(keys[name], shape, minval=-a, maxval=a) * on[name]
    field = None
    if 'elastic' in on:
      field = on['elastic'] * elastic_field(
          keys['elastic'], x.shape[:2], p.elastic_alpha, p.elastic_sigma)
    warped = warp(x, draw_if('rotate', p.rotate_degrees),
                  1 + draw_if('zoom', p.zoom),
                  draw_if('translate', p.shift, (2,)), field, p.lo)
    # Exactly the input when no geometric transform was drawn.
    x = jnp.where(jnp.any(jnp.stack([on[t] for t in GEOMETRIC if t in on])),
                  warped, x)

  # Under vmap a lax.cond becomes a select anyway; jnp.where says so plainly.
  if 'cutout' in on:
    h, w, _ = x.shape
    top_key, left_key = jax.random.split(keys['cutout'])
    top = jax.random.randint(top_key, (), 0, h - p.cutout_size + 1)
    left = jax.random.randint(left_key, (), 0, w - p.cutout_size + 1)
    x = jnp.where(on['cutout'], cutout(x, top, left, p.cutout_size, p.lo), x)
  if 'brightness' in on:
    x = jnp.where(on['brightness'], pix.random_brightness(
        keys['brightness'], x, p.brightness_delta * span), x)
  if 'noise' in on:
    x = x + on['noise'] * p.noise_std * span * jax.random.normal(
        keys['noise'], x.shape)
  return jnp.clip(x, p.lo, p.hi).astype(image.dtype)


@functools.lru_cache(maxsize=None)
def _batch_fn(p):
  return jax.jit(jax.vmap(functools.partial(_augment_one, p=p)))


def _checked(images, cfg, name):
  """The jitted batch function for `name` ('combined' or one transform)."""
  p = check_config(cfg)
  if name != 'combined':
    if name not in TRANSFORMS:
      raise errors.ConfigError(
          f'augmentation {name!r}: unknown; choices: combined, {TRANSFORMS}')
    p = p._replace(transforms=(name,), strength=1.0)
  if images.ndim != 4:
    raise errors.DataError(f'images of shape {images.shape}: need [N,H,W,C]')
  if p.cutout_size > min(images.shape[1:3]):
    raise errors.ConfigError(
        f'augment.cutout_size={p.cutout_size}: larger than the '
        f'{images.shape[1]}x{images.shape[2]} images')
  return _batch_fn(p)


# Larger calls ran 2.5x slower per image on the 2-core CPU (the vmapped
# intermediates outgrow the cache); one fixed chunk shape also means one
# compilation for every set size.
_CHUNK = 1024


def augment_with_keys(keys, images, cfg, name='combined'):
  """images[i] augmented with keys[i]; `name` picks one transform alone."""
  fn = _checked(images, cfg, name)
  n = len(images)
  if n <= _CHUNK:
    return fn(keys, jnp.asarray(images))
  pad = -n % _CHUNK
  keys = jnp.concatenate([keys, jnp.repeat(keys[:1], pad, 0)])
  images = jnp.concatenate([images, jnp.repeat(images[:1], pad, 0)])
  return jnp.concatenate([fn(keys[i:i + _CHUNK], images[i:i + _CHUNK])
                          for i in range(0, n + pad, _CHUNK)])[:n]


def augment_batch(key, images, cfg, name='combined'):
  """Augments images [N,H,W,C], one key split per image; same shape/dtype/range."""
  return augment_with_keys(jax.random.split(key, len(images)), images, cfg, name)


def generate_per_class(key, x, y, per_class, cfg):
  """`per_class` augmented images of every class of y, cycling its images.

  Class c's images use fold_in(key, c), so they do not depend on the other
  classes. Returns numpy (x_gen [classes * per_class, ...], y_gen int32),
  class by class.
  """
  if per_class < 0:
    raise errors.ConfigError(f'per_class={per_class}: must be >= 0')
  y = np.asarray(y)
  classes = np.unique(y)
  sources = np.concatenate([
      np.flatnonzero(y == c)[np.arange(per_class) % np.sum(y == c)]
      for c in classes]).astype(np.int64)
  if not len(sources):
    return np.asarray(x)[:0], y[:0].astype(np.int32)
  keys = jnp.concatenate([
      jax.random.split(jax.random.fold_in(key, int(c)), per_class)
      for c in classes])
  x_gen = augment_with_keys(keys, np.asarray(x)[sources], cfg)
  return np.asarray(x_gen), y[sources].astype(np.int32)
