"""nets.defaults: each 'keras' constant against what Keras documents, 'flax'
against Flax's own defaults, and every net built from them."""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

import errors
import nets
from nets import defaults

KEY = jax.random.PRNGKey(0)


def _glorot_limit(fan_in, fan_out):
  # keras.io, GlorotUniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)).
  return math.sqrt(6.0 / (fan_in + fan_out))


def _check_uniform(kernel, limit):
  """Inside +-limit, reaching near it, with U(-l, l)'s variance l^2 / 3."""
  k = np.asarray(kernel)
  assert np.abs(k).max() <= limit
  assert np.abs(k).max() > 0.95 * limit
  assert k.var() == pytest.approx(limit ** 2 / 3, rel=0.1)


def test_keras_dense_kernel_is_glorot_uniform_and_bias_zero():
  params = defaults.KERAS.dense(300).init(KEY, jnp.ones((1, 500)))['params']
  _check_uniform(params['kernel'], _glorot_limit(500, 300))
  np.testing.assert_array_equal(params['bias'], 0.0)


def test_keras_conv_kernel_is_glorot_uniform_over_receptive_field():
  # Keras: fan_in = kh * kw * C_in, fan_out = kh * kw * C_out.
  params = defaults.KERAS.conv(64, (3, 3)).init(
      KEY, jnp.ones((1, 8, 8, 32)))['params']
  _check_uniform(params['kernel'], _glorot_limit(9 * 32, 9 * 64))
  np.testing.assert_array_equal(params['bias'], 0.0)


def test_keras_embedding_is_uniform_005():
  # keras.io, Embedding: embeddings_initializer='uniform' = U(-0.05, 0.05).
  params = defaults.KERAS.embed(1000, 64).init(KEY, jnp.array([0]))['params']
  _check_uniform(params['embedding'], 0.05)


def test_keras_attention_kernels_use_einsum_dense_fans():
  """Keras' MultiHeadAttention: query kernel [C, heads, key_dim] and output
  kernel [heads, key_dim, C]; glorot's fans count the leading dims as a
  receptive field."""
  model = nets.get_model(ml_collections.ConfigDict({'name': 'self_attention'}),
                         'keras')
  params = model.init(KEY, jnp.ones((1, 28, 28, 1)))['params']
  mha = params['SelfAttention2D_0']['mha']
  c, heads, key_dim = 64, 4, 64
  for name in ('query', 'key', 'value'):
    assert mha[name]['kernel'].shape == (c, heads, key_dim)
    _check_uniform(mha[name]['kernel'], _glorot_limit(heads * c, key_dim * c))
    np.testing.assert_array_equal(mha[name]['bias'], 0.0)
  _check_uniform(mha['out']['kernel'], _glorot_limit(key_dim * heads, c * heads))


def test_flax_record_is_flax_own_defaults():
  """'flax' builds exactly the layers Flax builds when nothing is passed."""
  f = defaults.FLAX
  pairs = [(f.dense(7), nn.Dense(7), jnp.ones((2, 5))),
           (f.conv(4, (3, 3)), nn.Conv(4, (3, 3)), jnp.ones((1, 6, 6, 2))),
           (f.embed(10, 6), nn.Embed(10, 6), jnp.array([1, 3]))]
  for ours, flax_own, x in pairs:
    jax.tree.map(np.testing.assert_array_equal, ours.init(KEY, x),
                 flax_own.init(KEY, x))
  assert (f.bn_momentum, f.bn_epsilon) == (nn.BatchNorm.momentum,
                                           nn.BatchNorm.epsilon)
  assert f.ln_epsilon == nn.LayerNorm.epsilon


def test_keras_norm_constants():
  # keras.io: BatchNormalization(momentum=0.99, epsilon=1e-3),
  # LayerNormalization(epsilon=1e-3).
  k = defaults.KERAS
  assert (k.bn_momentum, k.bn_epsilon, k.ln_epsilon) == (0.99, 1e-3, 1e-3)
  assert k.clip_per_variable and k.l2_in_reported_loss
  assert not defaults.FLAX.clip_per_variable
  assert not defaults.FLAX.l2_in_reported_loss


def _norm_layers(name, x, **fields):
  """(type, momentum, epsilon) of every norm layer `name` builds."""
  found = []

  def record(next_fun, args, kwargs, context):
    if context.method_name == '__call__' and isinstance(
        context.module, (nn.BatchNorm, nn.LayerNorm)):
      m = context.module
      found.append((type(m).__name__, getattr(m, 'momentum', None), m.epsilon))
    return next_fun(*args, **kwargs)

  for d in ('keras', 'flax'):
    model = nets.get_model(ml_collections.ConfigDict({'name': name, **fields}),
                           d)
    with nn.intercept_methods(record):
      jax.eval_shape(lambda: model.init(KEY, x))
  return found


@pytest.mark.parametrize('name,x,fields,keras,flax', [
    ('lenet_hybrid', jnp.ones((1, 32, 32, 3)), {},
     {('BatchNorm', 0.99, 1e-3), ('LayerNorm', None, 1e-3)},
     {('BatchNorm', 0.99, 1e-5), ('LayerNorm', None, 1e-6)}),
    ('self_attention', jnp.ones((1, 28, 28, 1)), {},
     {('LayerNorm', None, 1e-3)}, {('LayerNorm', None, 1e-6)}),
    ('mlp', jnp.ones((1, 13)), {'batch_norm': True, 'features': (8,)},
     {('BatchNorm', 0.99, 1e-3)}, {('BatchNorm', 0.99, 1e-5)}),
    # Momenta set on purpose (config's bn_momentum, MobileNetV2's 0.9) stay.
    ('gan_generator', (jnp.ones((1, 100)), jnp.array([3])),
     {'features': (8, 4, 2)},
     {('BatchNorm', 0.9, 1e-3)}, {('BatchNorm', 0.9, 1e-5)}),
    ('mobilenet_v2', jnp.ones((1, 28, 28, 1)),
     {'width': 0.35, 'stages': ((1, 16, 1, 1),)},
     {('BatchNorm', 0.9, 1e-3)}, {('BatchNorm', 0.9, 1e-5)}),
])
def test_nets_take_norm_constants_from_defaults(name, x, fields, keras, flax):
  found = _norm_layers(name, x, **fields)
  half = len(found) // 2
  assert found and set(found[:half]) == keras and set(found[half:]) == flax


@pytest.mark.parametrize('name,x,fields', [
    ('base', jnp.ones((1, 28, 28, 1)), {}),
    ('lenet_cbam', jnp.ones((1, 32, 32, 3)), {}),
    ('autoencoder', jnp.ones((1, 40)), {}),
    ('gan_generator', (jnp.ones((1, 100)), jnp.array([3])),
     {'features': (8, 4, 2), 'upsample': 'patches'}),
    ('gan_discriminator', (jnp.ones((1, 28, 28, 1)), jnp.array([3])),
     {'features': (4, 8, 8), 'downsample': 'patches'}),
])
def test_every_kernel_is_glorot_and_every_bias_zero(name, x, fields):
  """Keras mode: each kernel inside its glorot limit (fans as Keras counts
  them), each bias zero; Flax mode gives other kernels, same structure."""
  cfg = ml_collections.ConfigDict({'name': name, **fields})
  keras = nets.get_model(cfg, 'keras').init(KEY, x)['params']
  flax = nets.get_model(cfg, 'flax').init(KEY, x)['params']
  assert jax.tree.structure(keras) == jax.tree.structure(flax)
  flat = jax.tree_util.tree_flatten_with_path(keras)[0]
  kernels = [(p, v) for p, v in flat if p[-1].key == 'kernel']
  assert kernels
  for path, v in flat:
    if path[-1].key == 'bias':
      np.testing.assert_array_equal(v, 0.0)
  for path, v in kernels:
    limit = _glorot_limit(*defaults.keras_fans(v.shape))
    assert np.abs(np.asarray(v)).max() <= limit, path
  flax_kernels = [v for p, v in jax.tree_util.tree_flatten_with_path(flax)[0]
                  if p[-1].key == 'kernel']
  assert any(not np.array_equal(a, b)
             for (_, a), b in zip(kernels, flax_kernels))


def test_lecun_normal_in_flax_mode():
  # Flax's default kernel init: truncated normal with variance 1 / fan_in.
  model = nets.get_model(ml_collections.ConfigDict({'name': 'mlp'}), 'flax')
  kernel = model.init(KEY, jnp.ones((1, 2000)))['params']['Dense_0']['kernel']
  assert np.asarray(kernel).var() == pytest.approx(1 / 2000, rel=0.1)


@pytest.mark.parametrize('bad', ['Keras', 'tf', '', None])
def test_unknown_defaults_is_one_config_error(bad):
  with pytest.raises(errors.ConfigError,
                     match=r"^defaults=.*: unknown; choices: keras, flax$"):
    nets.get_model(ml_collections.ConfigDict({'name': 'base'}), bad)
