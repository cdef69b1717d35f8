"""train.optim: clip_norm's meaning under each config.defaults, Adam's eps."""

import jax.numpy as jnp
import numpy as np
import pytest

from configs import base
import errors
from train import optim

# One leaf with norm 5, one with norm 0.5: a global norm of ~5.02.
GRADS = {'big': jnp.array([3.0, 4.0]), 'small': jnp.array([0.3, 0.4])}


def _step(defaults, clip_norm=1.0):
  """The parameter change of one SGD step (lr 1) on GRADS."""
  tx = optim.make_optimizer(
      base.get_opt(name='sgd', learning_rate=1.0, clip_norm=clip_norm),
      defaults)
  params = {k: jnp.zeros_like(v) for k, v in GRADS.items()}
  updates, _ = tx.update(GRADS, tx.init(params), params)
  return {k: -np.asarray(v) for k, v in updates.items()}


def test_keras_clipnorm_clips_each_variable_alone():
  """Keras' clipnorm: g * clipnorm / max(||g||, clipnorm) per variable, so the
  small leaf is untouched (global-norm clipping would shrink it 5x)."""
  step = _step('keras')
  np.testing.assert_allclose(step['big'], [0.6, 0.8], rtol=1e-6)
  np.testing.assert_allclose(step['small'], [0.3, 0.4], rtol=1e-6)


def test_flax_clip_norm_clips_the_global_norm():
  step = _step('flax')
  scale = 1.0 / np.sqrt(25.0 + 0.25)
  np.testing.assert_allclose(step['big'], np.array([3.0, 4.0]) * scale,
                             rtol=1e-5)
  np.testing.assert_allclose(step['small'], np.array([0.3, 0.4]) * scale,
                             rtol=1e-5)


@pytest.mark.parametrize('defaults', ['keras', 'flax'])
def test_no_clipping_when_clip_norm_is_zero(defaults):
  step = _step(defaults, clip_norm=0.0)
  for k, v in GRADS.items():
    np.testing.assert_allclose(step[k], v, rtol=1e-6)


def test_zero_gradient_stays_zero():
  tx = optim.clip_by_variable_norm(1.0)
  updates, _ = tx.update({'w': jnp.zeros(3)}, tx.init(None))
  np.testing.assert_array_equal(updates['w'], 0.0)


def test_non_finite_gradient_poisons_every_variable():
  """So that the loss turns non-finite and the trainer's guard stops the run."""
  tx = optim.clip_by_variable_norm(1.0)
  updates, _ = tx.update({'bad': jnp.array([jnp.inf, 0.0]),
                          'good': jnp.array([0.1])}, tx.init(None))
  assert np.isnan(updates['good']).all() and np.isnan(updates['bad']).all()


def test_adam_eps_is_keras():
  # keras.io, Adam: epsilon=1e-7 (optax's default is 1e-8).
  assert base.get_opt().eps == 1e-7


def test_unknown_defaults_is_config_error():
  with pytest.raises(errors.ConfigError, match="defaults='tf': unknown"):
    optim.make_optimizer(base.get_opt(), 'tf')
