"""LeNet and its attention variants for spectrograms (Problem 4B)."""

import re

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from configs import spectrogram_cnn
import errors
import nets
from nets import lenet


def _init(name, shape=(1, 128, 128, 3), **fields):
  model = nets.get_model(ml_collections.ConfigDict({'name': name, **fields}),
                         'keras')
  variables = model.init(jax.random.PRNGKey(0), jnp.zeros(shape), train=False)
  return model, variables


def _count(tree):
  return sum(x.size for x in jax.tree.leaves(tree))


def test_baseline_matches_table_11():
  _, v = _init('lenet')
  # 456 + 2,416 conv, 13,456*120+120 + 120*84+84 + 84*10+10 dense.
  assert _count(v['params']) == 1_628_726
  assert v['params']['fc1']['kernel'].shape == (29 * 29 * 16, 120)


@pytest.mark.parametrize('name,blocks', [
    ('lenet_cbam', ('CBAM_0', 'CBAM_1')),
    ('lenet_hybrid', ('HybridChannelAttention_0', 'HybridChannelAttention_1')),
])
def test_attention_variants_add_their_blocks(name, blocks):
  _, v = _init(name)
  for block in blocks:
    assert block in v['params']
  assert set(v['batch_stats']) == {'BatchNorm_0', 'BatchNorm_1'}
  assert _count(v['params']) - 1_628_726 < 1000  # attention is cheap


def test_noise_only_in_training():
  model, v = _init('lenet', shape=(2, 32, 32, 1), noise_std=0.02)
  x = jnp.ones((2, 32, 32, 1)) * 0.5
  evals = [model.apply(v, x, train=False) for _ in range(2)]
  np.testing.assert_array_equal(evals[0], evals[1])
  train = [model.apply(v, x, train=True, rngs={'noise': jax.random.PRNGKey(k)})
           for k in range(2)]
  assert not np.allclose(train[0], train[1])
  assert not np.allclose(train[0], evals[0])
  noise = lenet.GaussianNoise(0.02)
  out = noise.apply({}, jnp.zeros((64, 64)), train=True,
                    rngs={'noise': jax.random.PRNGKey(0)})
  assert 0.018 < float(jnp.std(out)) < 0.022
  np.testing.assert_array_equal(
      noise.apply({}, jnp.zeros((4, 4)), train=False), 0.0)


def test_hybrid_dropout_and_noise_draw_from_their_streams():
  model, v = _init('lenet_hybrid', shape=(2, 40, 40, 3))
  x = jnp.full((2, 40, 40, 3), 0.5)
  out = lambda d, n: model.apply(
      v, x, train=True, mutable=['batch_stats'],
      rngs={'dropout': jax.random.PRNGKey(d), 'noise': jax.random.PRNGKey(n)})[0]
  np.testing.assert_array_equal(out(0, 0), out(0, 0))
  assert not np.allclose(out(0, 0), out(0, 1))
  assert not np.allclose(out(0, 0), out(1, 0))


def test_bfloat16_computes_in_bf16_with_f32_params():
  model, v = _init('lenet_cbam', shape=(1, 40, 40, 3), dtype='bfloat16')
  assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(v['params']))
  assert model.apply(v, jnp.zeros((1, 40, 40, 3)), train=False).dtype == (
      jnp.bfloat16)


@pytest.mark.parametrize('arg,kernels', [
    # Table 11: "120 units, ReLU, L2 (0.001)", "84 units, ReLU, L2 (0.001)".
    ('lenet_hybrid', [(13_456, 120), (120, 84)]),
    # Ours also hit the 10-unit output layer.
    ('lenet_hybrid,ours', [(13_456, 120), (120, 84), (84, 10)]),
])
def test_hybrid_l2_pattern_hits_its_dense_kernels(arg, kernels):
  config = spectrogram_cnn.get_config(arg)
  assert config.train.l2 == 1e-3
  assert spectrogram_cnn.get_config('lenet').train.l2 == 0.0
  _, v = _init('lenet_hybrid')
  hit = [leaf.shape for p, leaf in
         jax.tree_util.tree_flatten_with_path(v['params'])[0]
         if re.search(config.train.l2_pattern, '/'.join(str(k.key) for k in p))]
  assert sorted(hit) == sorted(kernels)


def _train_out(model, v, x, noise_key):
  return model.apply(v, x, train=True, mutable=['batch_stats'],
                     rngs={'dropout': jax.random.PRNGKey(0),
                           'noise': jax.random.PRNGKey(noise_key)})[0]


@pytest.mark.parametrize('name', list(spectrogram_cnn.L2))
@pytest.mark.parametrize('arg', ['', ',ours'])
def test_training_noise_follows_table_12(name, arg):
  """Table 12 ("for All Models"): "Noise Factor (Training) 0.02"; ours put
  it on the hybrid only. Never in eval."""
  fields = spectrogram_cnn.get_config(name + arg).model.to_dict()
  model, v = _init(fields.pop('name'), shape=(2, 40, 40, 3), **fields)
  x = jnp.full((2, 40, 40, 3), 0.5)
  noisy = not arg or name == 'lenet_hybrid'
  assert noisy == (not np.array_equal(_train_out(model, v, x, 1),
                                      _train_out(model, v, x, 2)))
  np.testing.assert_array_equal(model.apply(v, x), model.apply(v, x))


def test_channel_pool_reaches_both_attention_blocks():
  x = jax.random.uniform(jax.random.PRNGKey(3), (2, 40, 40, 3))
  for name in ('lenet_cbam', 'lenet_hybrid'):
    model, v = _init(name, shape=(2, 40, 40, 3))
    ours, v_ours = _init(name, shape=(2, 40, 40, 3), channel_pool='avg_max')
    assert jax.tree.structure(v) == jax.tree.structure(v_ours)
    assert not np.allclose(model.apply(v, x), ours.apply(v, x))


@pytest.mark.parametrize('field,value', [('noise_models', 'cbam'),
                                         ('channel_pool', 'sum')])
def test_unknown_protocol_field_is_a_config_error(field, value):
  with pytest.raises(errors.ConfigError,
                     match=rf"model.{field}='{value}': unknown; choices"):
    _init('lenet', shape=(1, 32, 32, 1), **{field: value})


def test_unknown_block_is_a_config_error():
  with pytest.raises(errors.ConfigError, match='model.block'):
    _init('lenet', shape=(1, 32, 32, 1), block='nope')
