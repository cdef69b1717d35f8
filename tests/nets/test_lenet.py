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


def test_hybrid_l2_pattern_hits_only_dense_kernels():
  config = spectrogram_cnn.get_config('lenet_hybrid')
  assert config.train.l2 == 1e-3
  assert spectrogram_cnn.get_config('lenet').train.l2 == 0.0
  _, v = _init('lenet_hybrid')
  paths = ['/'.join(str(k.key) for k in p) for p, _ in
           jax.tree_util.tree_flatten_with_path(v['params'])[0]]
  hit = sorted(p for p in paths if re.search(config.train.l2_pattern, p))
  assert hit == ['fc1/kernel', 'fc2/kernel', 'fc3/kernel']


def test_unknown_block_is_a_config_error():
  with pytest.raises(errors.ConfigError, match='model.block'):
    _init('lenet', shape=(1, 32, 32, 1), block='nope')
