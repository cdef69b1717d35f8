"""MLP, autoencoders and the scanned utterance embedding of Approach B."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nets
from nets import mlp


def _init(model, x):
  return model.init(jax.random.PRNGKey(0), x, train=False)


def test_mlp_shapes_dropout_and_batchnorm():
  model = nets.get_model(_cfg(
      name='mlp', features=(16, 8), batch_norm=True, dropout=0.5), 'keras')
  x = jax.random.normal(jax.random.PRNGKey(1), (4, 13))
  variables = _init(model, x)
  assert model.apply(variables, x).shape == (4, 10)
  assert 'batch_stats' in variables
  out, updates = model.apply(variables, x, train=True, mutable=['batch_stats'],
                             rngs={'dropout': jax.random.PRNGKey(2)})
  assert out.shape == (4, 10)
  assert not np.allclose(updates['batch_stats']['BatchNorm_0']['mean'], 0)
  # Eval mode is deterministic; train mode draws dropout masks.
  np.testing.assert_array_equal(model.apply(variables, x),
                                model.apply(variables, x))


def _cfg(**kw):
  import ml_collections  # pylint: disable=g-import-not-at-top
  return ml_collections.ConfigDict(kw)


def test_autoencoder_reconstructs_input_shape_and_encodes():
  model = mlp.Autoencoder(hidden=16, bottleneck=5)
  x = jax.random.normal(jax.random.PRNGKey(1), (3, 40))
  params = _init(model, x)['params']
  assert model.apply({'params': params}, x).shape == (3, 40)
  z = model.encode(params, x)
  assert z.shape == (3, 5)
  h = jax.nn.relu(x @ params['encoder']['Dense_0']['kernel']
                  + params['encoder']['Dense_0']['bias'])
  expected = h @ params['encoder']['Dense_1']['kernel'] + params['encoder'][
      'Dense_1']['bias']
  np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-5)


def test_registered_stage_models_have_the_issue_sizes():
  ae = nets.get_model(_cfg(name='frame_autoencoder'), 'keras')
  merger = nets.get_model(_cfg(name='merger'), 'keras')
  ae_p = _init(ae, jnp.zeros((1, 26)))['params']
  assert ae_p['encoder']['Dense_0']['kernel'].shape == (26, 128)
  assert ae_p['encoder']['Dense_1']['kernel'].shape == (128, 32)
  m_p = _init(merger, jnp.zeros((1, 45)))['params']
  assert m_p['Dense_0']['kernel'].shape == (45, 64)
  assert m_p['Dense_1']['kernel'].shape == (64, 32)


def _loop_embedding(ae, ae_p, merger, m_p, frames, length):
  """The definition, one frame at a time in Python."""
  f = np.asarray(frames[:length])
  second = f[1] if length >= 2 else f[0]
  h = ae.encode(ae_p, np.concatenate([f[0], second]))
  for t in range(2, length):
    h = merger.apply({'params': m_p}, jnp.concatenate([h, f[t]]))
  return np.asarray(h)


@pytest.fixture(scope='module')
def stage_models():
  ae = mlp.Autoencoder(hidden=16, bottleneck=6)
  merger = mlp.MLP(features=(12,), num_classes=6)
  ae_p = _init(ae, jnp.zeros((1, 8)))['params']
  m_p = _init(merger, jnp.zeros((1, 10)))['params']
  return ae, ae_p, merger, m_p


def test_scanned_embedding_equals_frame_loop(stage_models):
  ae, ae_p, merger, m_p = stage_models
  rng = np.random.default_rng(0)
  lengths = np.array([1, 2, 3, 5, 9], np.int32)
  # Padding is random garbage: masking, not zeros, must keep it out.
  frames = rng.standard_normal((len(lengths), 9, 4)).astype(np.float32)
  got = mlp.embed_utterances(ae, ae_p, merger, m_p, frames, lengths)
  assert got.shape == (5, 6)
  for i, n in enumerate(lengths):
    np.testing.assert_allclose(
        got[i], _loop_embedding(ae, ae_p, merger, m_p, frames[i], n),
        rtol=1e-5, atol=1e-5)
  # T = 1 and T = 2 differ: with one frame it is paired with itself.
  assert not np.allclose(got[0], got[1])


def test_embedding_of_padded_batch_with_t_max_1_and_2(stage_models):
  ae, ae_p, merger, m_p = stage_models
  frames = np.random.default_rng(1).standard_normal((2, 2, 4)).astype(
      np.float32)
  got = mlp.embed_utterances(ae, ae_p, merger, m_p, frames,
                             np.array([1, 2], np.int32))
  for i, n in enumerate((1, 2)):
    np.testing.assert_allclose(
        got[i], _loop_embedding(ae, ae_p, merger, m_p, frames[i], n),
        rtol=1e-5, atol=1e-5)
  one = mlp.embed_utterances(ae, ae_p, merger, m_p, frames[:, :1],
                             np.array([1, 1], np.int32))
  np.testing.assert_allclose(one[0], got[0], rtol=1e-5, atol=1e-5)
