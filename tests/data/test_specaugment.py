"""On-device log-mel augmentations: shapes, off = identity, what each does."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from data import specaugment
import errors

B, T, F = 16, 20, 12


def batch(seed=0):
  x = jax.random.normal(jax.random.PRNGKey(seed), (B, T, F, 1)) + 3.0
  return x, jnp.arange(B) % 10


def params(**on):
  """Params with every augmentation off but `on`."""
  fields = dict(shift=0, freq_shift=0, time_mask=0, time_masks=0,
                freq_mask=0, freq_masks=0, noise_std=0.0, mixup=0.0)
  return specaugment.Params(**{**fields, **on})


def run(p, x=None, y=None, seed=1):
  if x is None:
    x, y = batch()
  return jax.jit(lambda r, x, y: specaugment.augment(
      r, x, y, params=p, num_classes=10))(jax.random.PRNGKey(seed), x, y)


def test_every_augmentation_off_is_the_identity_with_one_hot_labels():
  x, y = batch()
  out, soft = run(params(time_mask=5, freq_mask=5))  # 0 masks: still off
  np.testing.assert_array_equal(out, x)
  np.testing.assert_array_equal(soft, jax.nn.one_hot(y, 10))
  cfg = specaugment.default_config()
  cfg.update(shift=0, freq_shift=0, time_mask=0, freq_mask=0, noise_std=0.0,
             mixup=0.0)
  assert specaugment.make(cfg, 10) is None  # the plain train step


def test_full_recipe_keeps_shapes_and_is_deterministic_per_key():
  fn = jax.jit(specaugment.make(specaugment.default_config(), 10))
  x, y = batch()
  a = fn(jax.random.PRNGKey(3), x, y)
  b = fn(jax.random.PRNGKey(3), x, y)
  c = fn(jax.random.PRNGKey(4), x, y)
  assert a[0].shape == x.shape and a[1].shape == (B, 10)
  assert a[0].dtype == x.dtype and a[1].dtype == jnp.float32
  for u, v in zip(a, b):
    np.testing.assert_array_equal(u, v)
  assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize('axis,field', [(1, 'time'), (2, 'freq')])
def test_masks_set_whole_spans_to_the_example_mean(axis, field):
  x, _ = batch()
  out, _ = run(params(**{f'{field}_mask': 4, f'{field}_masks': 2}))
  out, x = np.asarray(out), np.asarray(x)
  changed = out != x
  # A masked position is masked across the other axis, at the mean.
  lines = changed.any(axis=3 - axis)[..., 0]  # [B, length]
  other = 2 if axis == 1 else 1
  np.testing.assert_array_equal(changed.all(axis=other)[..., 0], lines)
  mean = x.mean(axis=(1, 2, 3))
  for b in range(B):
    picked = np.take(out[b, ..., 0], np.flatnonzero(lines[b]), axis=axis - 1)
    np.testing.assert_allclose(picked, mean[b], rtol=1e-6)
    assert lines[b].sum() <= 2 * 4  # two masks of at most 4
  assert lines.any()  # some mask is not empty


def test_span_mask_widths_stay_within_bounds():
  m = np.asarray(specaugment.span_mask(jax.random.PRNGKey(0), 500, 10, 3, 1))
  widths = m.sum(1)
  assert widths.max() == 3 and widths.min() == 0
  # One span per row: contiguous.
  for row in m[widths > 0]:
    on = np.flatnonzero(row)
    assert on[-1] - on[0] + 1 == len(on)


def _shifts(out, x, axis, max_shift):
  """Per example (s, lo, hi): `out` is x moved by s along `axis` (1: time,
  2: mel bands) in out[lo:hi] on that axis; an AssertionError otherwise."""
  found, n = [], x.shape[axis]
  for b in range(B):
    for s in range(-max_shift, max_shift + 1):
      lo, hi = max(s, 0), n + min(s, 0)
      if np.array_equal(np.take(out[b], range(lo, hi), axis - 1),
                        np.take(x[b], range(lo - s, hi - s), axis - 1)):
        found.append((s, lo, hi))
        break
    else:
      raise AssertionError(f'example {b} is not a shift of its input')
  assert len({s for s, _, _ in found}) > 1
  return found


def test_time_shift_moves_frames_and_fills_with_the_minimum():
  x, _ = batch()
  out = np.asarray(specaugment.time_shift(jax.random.PRNGKey(2), x, 3))
  x = np.asarray(x)
  for b, (_, lo, hi) in enumerate(_shifts(out, x, 1, 3)):
    filled = np.concatenate([out[b, :lo], out[b, hi:]])
    np.testing.assert_array_equal(filled, x[b].min())


def test_freq_shift_moves_bands_and_repeats_the_edges():
  x, _ = batch()
  out = np.asarray(specaugment.freq_shift(jax.random.PRNGKey(2), x, 2))
  x = np.asarray(x)
  for b, (_, lo, hi) in enumerate(_shifts(out, x, 2, 2)):
    np.testing.assert_array_equal(
        out[b, :, :lo], np.repeat(x[b, :, :1], lo, axis=1))
    np.testing.assert_array_equal(
        out[b, :, hi:], np.repeat(x[b, :, -1:], F - hi, axis=1))


def test_runs_without_freq_shift_draw_the_keys_they_always_did():
  # The time shift takes the first of five keys, as before freq_shift
  # existed: an older run resumes to the numbers it would have reached.
  x, y = batch()
  out, _ = run(params(shift=3), x, y, seed=1)
  before = specaugment.time_shift(
      jax.random.split(jax.random.PRNGKey(1), 5)[0], x, 3)
  np.testing.assert_array_equal(out, before)


def test_noise_has_the_configured_std():
  x, _ = batch()
  out, _ = run(params(noise_std=0.5))
  assert float(jnp.std(out - x)) == pytest.approx(0.5, rel=0.05)


def test_mixup_mixes_examples_and_labels_alike():
  x, y = batch()
  out, soft = run(params(mixup=0.4))
  np.testing.assert_allclose(soft.sum(-1), 1.0, rtol=1e-6)
  assert float(soft.max(-1).min()) < 0.99  # some example is mixed
  # Each example is a convex mix of itself and the example whose label
  # carries the other weight.
  checked = 0
  for b in range(B):
    lam = float(soft[b, y[b]])
    if lam > 0.999:  # mixed with its own class, or hardly at all
      continue
    checked += 1
    assert any(np.allclose(out[b], lam * x[b] + (1 - lam) * x[j], atol=1e-4)
               for j in range(B) if y[j] != y[b])
  assert checked


@pytest.mark.parametrize('field', ['time_mask', 'freq_shift'])
def test_negative_fields_are_config_errors(field):
  cfg = specaugment.default_config()
  cfg[field] = -1
  with pytest.raises(errors.ConfigError, match=f'augment.{field}=-1'):
    specaugment.make(cfg, 10)
