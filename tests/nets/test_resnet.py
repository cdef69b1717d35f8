"""The voices recipe's residual CNN."""

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from configs import fsdd_voices
import nets
from nets import resnet

SHAPE = (2, 64, 40, 1)  # the recipe's frames x mels


def _shapes(**fields):
  """(model, its variables' shapes): shapes need no compilation."""
  cfg = fsdd_voices.get_config().model
  cfg.update(fields)
  model = nets.get_model(cfg, 'keras')
  return model, jax.eval_shape(model.init, jax.random.PRNGKey(0),
                               jnp.zeros(SHAPE))


def _count(tree):
  return sum(x.size for x in jax.tree.leaves(tree))


def test_recipe_model_size_and_output():
  model, v = _shapes()
  assert 50_000 <= _count(v['params']) <= 200_000
  out = jax.eval_shape(model.apply, v, jnp.ones(SHAPE))
  assert out.shape == (2, 10)
  # Convs before BatchNorm carry no bias.
  assert set(v['params']['block1']['conv1']) == {'kernel'}
  assert set(v['params']['block1']) >= {'shortcut', 'bn_shortcut'}


def test_residual_false_drops_only_the_shortcuts():
  _, plain = _shapes(residual=False)
  _, res = _shapes()
  assert 'shortcut' not in plain['params']['block1']
  shortcut = sum(_count(res['params'][f'block{i}'][k])
                 for i in (1, 2, 3) for k in ('shortcut', 'bn_shortcut'))
  assert _count(res['params']) - _count(plain['params']) == shortcut


def test_training_updates_batch_stats():
  model = nets.get_model(ml_collections.ConfigDict(
      {'name': 'voice_resnet', 'stem': 4, 'widths': (8,), 'dropout': 0.5}),
                         'keras')
  x = jax.random.normal(jax.random.PRNGKey(1), (2, 8, 8, 1))
  v = jax.jit(model.init)(jax.random.PRNGKey(0), x)
  out, updates = jax.jit(functools.partial(
      model.apply, train=True, mutable=['batch_stats']))(
          v, x, rngs={'dropout': jax.random.PRNGKey(2)})
  assert out.shape == (2, 10)
  before = v['batch_stats']['bn_stem']['mean']
  assert not np.allclose(updates['batch_stats']['bn_stem']['mean'], before)


def test_block_halves_the_map_and_widths_are_free():
  block = resnet.ResidualBlock(8)
  x = jnp.ones((1, 9, 6, 4))
  out, _ = jax.eval_shape(functools.partial(block.init_with_output,
                                            train=False),
                          jax.random.PRNGKey(0), x)
  assert out.shape == (1, 5, 3, 8)
  model = nets.get_model(ml_collections.ConfigDict(
      {'name': 'voice_resnet', 'stem': 4, 'widths': (8,)}), 'flax')
  out, v = jax.eval_shape(model.init_with_output, jax.random.PRNGKey(0),
                          jnp.zeros((1, 16, 16, 1)))
  assert out.shape == (1, 10) and set(v['params']) == {
      'stem', 'bn_stem', 'block1', 'head'}
