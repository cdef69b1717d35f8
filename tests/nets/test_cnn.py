"""The five Problem-4A nets: shapes, parameter counts, attention maps."""

import flax.linen as nn
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


def _zero_attention_output(variables):
  """The block's variables with MHA's output projection zeroed: attn(x) = 0."""
  params = jax.tree.map(lambda p: p, variables['params'])
  params['mha']['out'] = jax.tree.map(jnp.zeros_like, params['mha']['out'])
  return {'params': params}


def test_self_attention_is_mha_then_layernorm_without_a_residual():
  """Table 8: MultiHeadAttention -> LayerNormalization; ours added x first."""
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 5, 64))
  study = attention.SelfAttention2D()
  variables = _zero_attention_output(study.init(jax.random.PRNGKey(1), x))
  # LayerNorm(0) is its bias (zeros at init): nothing of x gets through.
  np.testing.assert_array_equal(study.apply(variables, x), 0.0)
  ours = attention.SelfAttention2D(residual=True)
  ln = nn.LayerNorm(epsilon=1e-3)  # Keras' epsilon, nets/defaults.py
  expected = ln.apply(ln.init(jax.random.PRNGKey(2), x), x)
  np.testing.assert_allclose(ours.apply(variables, x), expected, rtol=1e-5,
                             atol=1e-5)


def test_self_attention_model_follows_the_residual_field():
  model, variables, x = _init('self_attention')
  ours = nets.get_model(ml_collections.ConfigDict(
      {'name': 'self_attention', 'dropout': 0.3, 'attention_residual': True}),
                        'keras')
  assert jax.tree.structure(variables) == jax.tree.structure(
      ours.init(jax.random.PRNGKey(1), x))
  assert not np.allclose(model.apply(variables, x), ours.apply(variables, x))


def _channel_weights(pool, x, variables=None):
  gate = attention.ChannelAttention(pool=pool)
  variables = variables or gate.init(jax.random.PRNGKey(1), x)
  _, inter = gate.apply(variables, x, mutable=['intermediates'])
  return inter['intermediates']['channel_weights'][0], variables


def test_channel_gate_pools_average_only_by_default():
  """Sections 5.2.2 and 6.2.2: "Global average pooling"; ours added max."""
  x = jax.random.uniform(jax.random.PRNGKey(0), (2, 13, 13, 32))
  # The same per-channel means, other maxima: a spike and its opposite.
  y = x.at[:, 0, 0, :].add(1.0).at[:, 0, 1, :].add(-1.0)
  w_x, variables = _channel_weights('avg', x)
  w_y, _ = _channel_weights('avg', y, variables)
  np.testing.assert_allclose(w_x, w_y, rtol=1e-5)
  m_x, _ = _channel_weights('avg_max', x, variables)
  m_y, _ = _channel_weights('avg_max', y, variables)
  assert not np.allclose(m_x, m_y, rtol=1e-3)


def test_avg_max_gate_is_the_shared_mlp_on_both_pools():
  x = jax.random.uniform(jax.random.PRNGKey(0), (2, 13, 13, 32))
  w, variables = _channel_weights('avg_max', x)
  p = variables['params']
  mlp = lambda v: (nn.relu(v @ p['Dense_0']['kernel'] + p['Dense_0']['bias'])
                   @ p['Dense_1']['kernel'] + p['Dense_1']['bias'])
  expected = nn.sigmoid(mlp(x.mean((1, 2))) + mlp(x.max((1, 2))))
  np.testing.assert_allclose(w, expected, rtol=1e-5, atol=1e-6)
  avg, _ = _channel_weights('avg', x, variables)
  np.testing.assert_allclose(avg, nn.sigmoid(mlp(x.mean((1, 2)))), rtol=1e-5,
                             atol=1e-6)


def test_cbam_model_follows_the_channel_pool_field():
  model, variables, x = _init('cbam')
  ours = nets.get_model(ml_collections.ConfigDict(
      {'name': 'cbam', 'dropout': 0.3, 'channel_pool': 'avg_max'}), 'keras')
  assert not np.allclose(model.apply(variables, x), ours.apply(variables, x))


@pytest.mark.parametrize('name', ['base', 'cbam'])
def test_unknown_channel_pool_is_a_config_error(name):
  model = nets.get_model(ml_collections.ConfigDict(
      {'name': name, 'channel_pool': 'max'}), 'keras')
  with pytest.raises(errors.ConfigError,
                     match=r"model.channel_pool='max': unknown; choices: avg, "
                           'avg_max'):
    model.init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))


def test_dropout_only_in_training():
  model, variables, x = _init('base')
  a = model.apply(variables, x, train=False)
  b = model.apply(variables, x, train=False)
  c = model.apply(variables, x, train=True, rngs={'dropout': jax.random.PRNGKey(2)})
  np.testing.assert_array_equal(a, b)
  assert not jnp.allclose(a, c)


def test_pool2x2_matches_flax_pooling():
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 11, 11, 3))
  np.testing.assert_allclose(layers.pool2x2(x),
                             nn.max_pool(x, (2, 2), strides=(2, 2)))
  np.testing.assert_allclose(layers.pool2x2(x, jnp.mean),
                             nn.avg_pool(x, (2, 2), strides=(2, 2)), rtol=1e-6)


@pytest.mark.parametrize('impl', ['shifted', 'grouped', 'auto'])
@pytest.mark.parametrize('size,stride', [(8, 1), (8, 2), (7, 2), (5, 1)])
def test_depthwise_conv_matches_grouped_flax_conv(size, stride, impl):
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
