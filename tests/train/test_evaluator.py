"""train.evaluator.adapt_batch_stats: BatchNorm statistics of a batch."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from nets import resnet
from train import evaluator
from train import state as state_lib


class ConvBN(nn.Module):
  momentum: float

  @nn.compact
  def __call__(self, x, train=False):
    x = nn.Conv(3, (3, 3), name='conv')(x)
    return nn.BatchNorm(not train, momentum=self.momentum, name='bn')(x)


def _state(model, x):
  return state_lib.create_train_state(model, optax.sgd(0.1),
                                      jax.random.PRNGKey(0), x)


@pytest.mark.parametrize('momentum', [0.9, 0.99])
def test_the_stats_are_the_batch_s_whatever_the_momentum(momentum):
  x = jax.random.normal(jax.random.PRNGKey(1), (32, 8, 6, 2)) * 3 + 1
  model = ConvBN(momentum)
  state = _state(model, x[:1])
  adapted = evaluator.adapt_batch_stats(state, x)
  conv = nn.Conv(3, (3, 3)).apply(
      {'params': state.params['conv']}, x).reshape(-1, 3)
  stats = adapted.batch_stats['bn']
  np.testing.assert_allclose(stats['mean'], conv.mean(0), rtol=1e-4,
                             atol=1e-5)
  np.testing.assert_allclose(stats['var'], conv.var(0), rtol=1e-4)
  np.testing.assert_array_equal(adapted.params['conv']['kernel'],
                                state.params['conv']['kernel'])


def test_eval_mode_then_normalises_the_batch_as_training_mode_does():
  x = jax.random.normal(jax.random.PRNGKey(2), (16, 16, 12, 1)) + 0.5
  model = resnet.VoiceResNet(stem=4, widths=(8, 8), dropout=0.0)
  state = _state(model, x[:1])
  trained_mode = model.apply(state.variables(), x, train=True,
                             mutable=['batch_stats'])[0]
  adapted = evaluator.adapt_batch_stats(state, x)
  eval_mode = model.apply(adapted.variables(), x, train=False)
  np.testing.assert_allclose(eval_mode, trained_mode, rtol=2e-3, atol=2e-4)
  # Unadapted (fresh running stats), eval mode differs.
  assert jnp.abs(model.apply(state.variables(), x, train=False)
                 - trained_mode).max() > 1e-2
