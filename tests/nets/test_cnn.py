"""The five Problem-4A nets: shapes, parameter counts, attention maps."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

import errors
from eval import attention_maps
import nets
from nets import attention, layers

# conv 320 + conv 18,496 + dense 204,928 + out 1,290 = 225,034 for `base`.
PARAMS = {'base': 225_034, 'spatial': 225_067, 'self_attention': 291_530,
          'cbam': 225_425, 'se': 225_326}


def _init(name):
  model = nets.get_model(
      ml_collections.ConfigDict({'name': name, 'dropout': 0.3}), 'keras')
  x = jax.random.uniform(jax.random.PRNGKey(0), (3, 28, 28, 1))
  return model, model.init(jax.random.PRNGKey(1), x), x


@pytest.mark.parametrize('name', sorted(PARAMS))
def test_shapes_and_param_counts(name):
  model, variables, x = _init(name)
  assert model.apply(variables, x).shape == (3, 10)
  assert sum(p.size for p in jax.tree.leaves(variables['params'])) == PARAMS[name]


MAP_SHAPES = {
    'spatial': {'spatial_map': (3, 13, 13)},
    'cbam': {'channel_weights': (3, 32), 'cbam_spatial_map': (3, 13, 13)},
    'se': {'channel_weights': (3, 32)},
    'self_attention': {'self_attention_received': (3, 5, 5)},
    'base': {},
}


@pytest.mark.parametrize('name', sorted(MAP_SHAPES))
def test_attention_maps_in_unit_range(name):
  model, variables, x = _init(name)
  state = type('S', (), {'apply_fn': model.apply, 'params': variables['params'],
                         'batch_stats': {}})
  maps, preds = attention_maps.collect_maps(state, x)
  assert {k: v.shape for k, v in maps.items()} == MAP_SHAPES[name]
  assert preds.shape == (3,)
  for m in maps.values():
    assert 0.0 <= m.min() and m.max() <= 1.0


def test_self_attention_rows_are_distributions():
  model, variables, x = _init('self_attention')
  _, inter = model.apply(variables, x, mutable=['intermediates'])
  w = jax.tree.leaves(inter)[0]
  assert w.shape == (3, 4, 25, 25)
  np.testing.assert_allclose(np.asarray(w.sum(-1)), 1.0, rtol=1e-5)


def test_gates_scale_features():
  """A gate's output is its input times the sown map (not, say, a copy)."""
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 13, 13, 32))
  block = attention.SqueezeExcite()
  variables = block.init(jax.random.PRNGKey(1), x)
  y, inter = block.apply(variables, x, mutable=['intermediates'])
  w = inter['intermediates']['channel_weights'][0]
  np.testing.assert_allclose(y, x * w[:, None, None, :], rtol=1e-6)


def test_dropout_only_in_training():
  model, variables, x = _init('base')
  a = model.apply(variables, x, train=False)
  b = model.apply(variables, x, train=False)
  c = model.apply(variables, x, train=True, rngs={'dropout': jax.random.PRNGKey(2)})
  np.testing.assert_array_equal(a, b)
  assert not jnp.allclose(a, c)


def test_pool2x2_matches_flax_pooling():
  import flax.linen as nn
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 11, 11, 3))
  np.testing.assert_allclose(layers.pool2x2(x),
                             nn.max_pool(x, (2, 2), strides=(2, 2)))
  np.testing.assert_allclose(layers.pool2x2(x, jnp.mean),
                             nn.avg_pool(x, (2, 2), strides=(2, 2)), rtol=1e-6)


@pytest.mark.parametrize('impl', ['shifted', 'grouped', 'auto'])
@pytest.mark.parametrize('size,stride', [(8, 1), (8, 2), (7, 2), (5, 1)])
def test_depthwise_conv_matches_grouped_flax_conv(size, stride, impl):
  import flax.linen as nn
  x = jax.random.normal(jax.random.PRNGKey(0), (2, size, size, 6))
  layer = layers.DepthwiseConv((3, 3), (stride, stride), impl=impl)
  params = layer.init(jax.random.PRNGKey(1), x)
  grouped = nn.Conv(6, (3, 3), strides=(stride, stride), feature_group_count=6,
                    use_bias=False)
  grads = lambda f: jax.grad(lambda p, x: jnp.sum(f(p, x) ** 2),
                             argnums=(0, 1))(params, x)
  for a, b in [(layer.apply(params, x), grouped.apply(params, x)),
               *zip(jax.tree.leaves(grads(layer.apply)),
                    jax.tree.leaves(grads(grouped.apply)))]:
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_unknown_model_lists_choices():
  with pytest.raises(errors.ConfigError, match="model.name='vit'.*'base'.*'se'"):
    nets.get_model(ml_collections.ConfigDict({'name': 'vit'}), 'keras')


def test_unknown_model_field_is_config_error():
  with pytest.raises(errors.ConfigError, match='model.base.*widht'):
    nets.get_model(ml_collections.ConfigDict({'name': 'base', 'widht': 3}),
                   'keras')


@pytest.mark.parametrize('shape,kernel,strides,padding', [
    ((2, 7, 7, 5), 5, (2, 2), 'SAME'), ((2, 28, 28, 1), 3, (1, 1), 'VALID'),
    ((2, 9, 8, 3), 3, (1, 1), ((1, 1), (2, 0))), ((2, 6, 6, 3), 4, (3, 3), 'VALID')])
def test_conv_patches_equals_lax_conv(shape, kernel, strides, padding):
  x = jax.random.normal(jax.random.PRNGKey(0), shape)
  k = jax.random.normal(jax.random.PRNGKey(1), (kernel, kernel, shape[-1], 4))
  lax_conv = lambda k, x: jax.lax.conv_general_dilated(
      x, k, strides, padding, dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  patches = lambda k, x: layers.conv_patches(x, k, strides, padding)
  for f in (lambda conv: conv(k, x),
            lambda conv: jax.grad(lambda k, x: jnp.sum(conv(k, x) ** 2),
                                  argnums=(0, 1))(k, x)):
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4,
                                                         atol=1e-4),
                 f(patches), f(lax_conv))
