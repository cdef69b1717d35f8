"""Augmentations: range/shape/dtype, determinism, identities, batch = per-image."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import errors
from data import augment

NAMES = list(augment.TRANSFORMS) + ['combined']


def _digits(n=4, lo=0.0, hi=1.0, seed=0):
  """Blocky fake digits in [lo, hi]: background lo, a bright bar, some gray."""
  rng = np.random.default_rng(seed)
  x = np.zeros((n, 28, 28, 1), np.float32)
  for i in range(n):
    r, c = rng.integers(4, 14, 2)
    x[i, r:r + 12, c:c + 4] = 1.0
    x[i, r:r + 3, c:c + 10] = 0.6
  return x * (hi - lo) + lo


@pytest.mark.parametrize('name,pixel_range', [
    *((name, (0.0, 1.0)) for name in NAMES), ('combined', (-1.0, 1.0))])
def test_shape_dtype_range_and_determinism(name, pixel_range):
  cfg = augment.default_config()
  cfg.pixel_range = pixel_range
  x = _digits(4, *pixel_range)
  key = jax.random.PRNGKey(0)
  out = np.asarray(augment.augment_batch(key, x, cfg, name))
  assert out.shape == x.shape and out.dtype == np.float32
  assert out.min() >= pixel_range[0] and out.max() <= pixel_range[1]
  np.testing.assert_array_equal(
      out, augment.augment_batch(key, x, cfg, name))
  other = augment.augment_batch(jax.random.PRNGKey(1), x, cfg, name)
  assert not np.array_equal(out, other)
  assert not np.array_equal(out, x)


def test_batch_equals_per_image_calls():
  cfg = augment.default_config()
  x = _digits(3)
  keys = jax.random.split(jax.random.PRNGKey(3), 3)
  batch = augment.augment_with_keys(keys, x, cfg)
  for i in range(3):
    one = augment.augment_with_keys(keys[i:i + 1], x[i:i + 1], cfg)
    np.testing.assert_allclose(batch[i], one[0], atol=1e-6)
  # augment_batch is the same function with split keys.
  np.testing.assert_array_equal(
      augment.augment_batch(jax.random.PRNGKey(3), x, cfg), batch)


def test_chunked_large_batch_equals_small_calls(monkeypatch):
  monkeypatch.setattr(augment, '_CHUNK', 2)
  cfg = augment.default_config()
  cfg.transforms = ('noise', 'cutout')
  x = _digits(5)
  keys = jax.random.split(jax.random.PRNGKey(4), 5)
  chunked = augment.augment_with_keys(keys, x, cfg)
  single = [augment.augment_with_keys(keys[i:i + 1], x[i:i + 1], cfg)[0]
            for i in range(5)]
  np.testing.assert_allclose(chunked, np.stack(single), atol=1e-6)


def test_identities():
  x = jnp.asarray(_digits(1)[0])
  np.testing.assert_array_equal(augment.warp(x), x)
  np.testing.assert_array_equal(augment.warp(x, degrees=0.0), x)
  np.testing.assert_array_equal(augment.warp(x, shift=(0.0, 0.0)), x)
  np.testing.assert_array_equal(augment.warp(x, scale=1.0), x)
  cfg = augment.default_config()
  cfg.strength = 0.0
  batch = _digits(4)
  np.testing.assert_array_equal(
      augment.augment_batch(jax.random.PRNGKey(0), batch, cfg), batch)


def test_geometry_directions():
  x = np.zeros((28, 28, 1), np.float32)
  x[5, 20] = 1.0  # upper right of the centre (13.5, 13.5)
  moved = np.asarray(augment.warp(jnp.asarray(x), shift=(2.0, -3.0)))
  assert moved[7, 17, 0] == 1.0 and moved.sum() == 1.0
  # 90 degrees counter-clockwise takes upper right to upper left.
  turned = np.asarray(augment.warp(jnp.asarray(x), degrees=90.0))
  assert turned[7, 5, 0] == pytest.approx(1.0, abs=1e-4)
  # Zooming out pulls a point towards the centre.
  shrunk = np.asarray(augment.warp(jnp.asarray(x), scale=0.5))
  r, c = np.unravel_index(np.argmax(shrunk[..., 0]), (28, 28))
  assert 9 <= r <= 10 and 16 <= c <= 17


def test_cutout_changes_only_its_square():
  cfg = augment.default_config()
  cfg.cutout_size = 5
  x = np.full((6, 28, 28, 1), 0.8, np.float32)
  out = np.asarray(augment.augment_batch(jax.random.PRNGKey(2), x, cfg,
                                         'cutout'))
  for img in out[..., 0]:
    rows, cols = np.nonzero(img != 0.8)
    assert len(rows) == 25
    assert rows.max() - rows.min() == 4 and cols.max() - cols.min() == 4
    assert np.all(img[rows, cols] == 0.0)  # background


def test_elastic_field_matches_pix_blur():
  import dm_pix as pix  # pylint: disable=g-import-not-at-top
  key = jax.random.PRNGKey(0)
  noise = jax.random.uniform(key, (2, 28, 28), minval=-1.0, maxval=1.0)
  ours = augment.elastic_field(key, (28, 28), 1.0, 4.0)
  kernel = ((4.0 - 0.8) / 0.3 + 1) / 0.5 + 1
  theirs = pix.gaussian_blur(jnp.moveaxis(noise, 0, -1), 4.0, kernel)
  np.testing.assert_allclose(ours, jnp.moveaxis(theirs, -1, 0), atol=1e-5)


def test_generate_per_class_counts_sources_and_determinism():
  cfg = augment.default_config()
  cfg.strength = 0.0  # identity, so each output shows its source image
  y = np.array([0, 0, 1, 2, 2, 2], np.int32)
  x = np.arange(6, dtype=np.float32)[:, None, None, None] / 10 * np.ones(
      (6, 28, 28, 1), np.float32)
  x_gen, y_gen = augment.generate_per_class(jax.random.PRNGKey(0), x, y, 4, cfg)
  np.testing.assert_array_equal(np.bincount(y_gen), [4, 4, 4])
  np.testing.assert_allclose(x_gen[:, 0, 0, 0] * 10,
                             [0, 1, 0, 1, 2, 2, 2, 2, 3, 4, 5, 3], atol=1e-5)
  cfg.strength = 0.5
  a = augment.generate_per_class(jax.random.PRNGKey(5), x, y, 4, cfg)[0]
  b = augment.generate_per_class(jax.random.PRNGKey(5), x, y, 4, cfg)[0]
  np.testing.assert_array_equal(a, b)
  empty = augment.generate_per_class(jax.random.PRNGKey(5), x, y, 0, cfg)
  assert empty[0].shape == (0, 28, 28, 1) and empty[1].shape == (0,)


@pytest.mark.parametrize('field,value,match', [
    ('strength', -0.1, r'augment\.strength=-0\.1: must be >= 0'),
    ('strength', 1.5, r'augment\.strength=1\.5: .*probability.*<= 1'),
    ('noise_std', -1.0, r'augment\.noise_std'),
    ('zoom', 1.0, r'augment\.zoom'),
    ('elastic_sigma', 0.0, r'augment\.elastic_sigma'),
    ('transforms', ('rotate', 'blur'), r'augment\.transforms.*blur'),
    ('pixel_range', (1.0, 0.0), r'augment\.pixel_range'),
])
def test_bad_config_is_a_config_error(field, value, match):
  cfg = augment.default_config()
  cfg[field] = value
  with pytest.raises(errors.ConfigError, match=match):
    augment.augment_batch(jax.random.PRNGKey(0), _digits(1), cfg)


def test_cutout_larger_than_image_and_unknown_name():
  cfg = augment.default_config()
  cfg.cutout_size = 30
  with pytest.raises(errors.ConfigError, match='cutout_size=30'):
    augment.augment_batch(jax.random.PRNGKey(0), _digits(1), cfg)
  with pytest.raises(errors.ConfigError, match="'blur'"):
    augment.augment_batch(jax.random.PRNGKey(0), _digits(1),
                          augment.default_config(), 'blur')


def test_figure5_has_a_row_per_transform(tmp_path):
  import matplotlib.image  # pylint: disable=g-import-not-at-top
  from eval import augment_figure  # pylint: disable=g-import-not-at-top
  path = str(tmp_path / 'figure5.png')
  # samples=4 reuses the compilations of the shape tests above.
  augment_figure.plot_augmentations(_digits(1)[0], augment.default_config(),
                                    path, samples=4)
  height, width = matplotlib.image.imread(path).shape[:2]
  assert height > width  # 8 rows of 5 images
