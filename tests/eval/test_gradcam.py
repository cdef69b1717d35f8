"""Grad-CAM of the spectrogram LeNets and the per-class channel weights."""

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from eval import gradcam
import nets
from train import evaluator
from train import losses
from train import state as state_lib
from train import trainer


def _model(name):
  return nets.get_model(ml_collections.ConfigDict({'name': name}), 'keras')


def blob_images(n, seed=0):
  """32x32 noise; class 0 has a bright square top-left, class 1 bottom-right."""
  rng = np.random.default_rng(seed)
  x = rng.uniform(0, 0.3, (n, 32, 32, 1)).astype(np.float32)
  y = np.arange(n) % 2
  x[y == 0, 2:10, 2:10] = 1.0
  x[y == 1, 22:30, 22:30] = 1.0
  return x, y.astype(np.int32)


def test_maps_shape_range_and_per_sample_class():
  model = _model('lenet_cbam')
  x = jnp.asarray(np.random.default_rng(0).random((4, 32, 32, 3)), jnp.float32)
  v = model.init(jax.random.PRNGKey(0), x, train=False)
  v = {'params': v['params'], 'batch_stats': v['batch_stats']}
  labels = jnp.array([0, 3, 3, 7])
  cams = gradcam.gradcam(model, v, x, labels)
  assert cams.shape == (4, 32, 32)
  assert cams.min() >= 0 and cams.max() <= 1
  # Each sample's map is its own class's, as if computed alone.
  for i in range(4):
    alone = gradcam.gradcam(model, v, x[i:i + 1], labels[i:i + 1])
    np.testing.assert_allclose(cams[i], alone[0], atol=1e-5)
  other = gradcam.gradcam(model, v, x[:1], jnp.array([5]))
  assert not np.allclose(other[0], cams[0])


def test_gradcam_is_higher_where_the_class_evidence_is():
  model = _model('lenet')
  x, y = blob_images(64)
  x, y = jnp.asarray(x), jnp.asarray(y)
  state = state_lib.create_train_state(model, optax.adam(3e-3),
                                     jax.random.PRNGKey(0), x[:1])
  sums = evaluator.zero_sums(state, losses.softmax_xent, x, y)
  step = jax.jit(functools.partial(trainer.train_step,
                                   loss_fn=losses.softmax_xent))
  for i in range(60):
    state, sums = step(state, sums, x, y, jnp.arange(16) + 16 * (i % 4))
  v = {'params': state.params, 'batch_stats': state.batch_stats}
  xt, yt = blob_images(8, seed=1)
  logits = model.apply(v, jnp.asarray(xt), train=False)
  assert np.all(np.argmax(logits, -1) == yt)  # the constructed task is learnt
  cams = gradcam.gradcam(model, v, jnp.asarray(xt), jnp.asarray(yt))
  assert np.all(cams.reshape(8, -1).max(-1) > 0)  # every sample gets a map
  top_left = cams[:, :16, :16].mean((1, 2))
  bottom_right = cams[:, 16:, 16:].mean((1, 2))
  assert np.all(top_left[yt == 0] > bottom_right[yt == 0])
  assert np.all(bottom_right[yt == 1] > top_left[yt == 1])


def test_channel_weights_per_class():
  model = _model('lenet_hybrid')
  x = jnp.asarray(np.random.default_rng(0).random((12, 32, 32, 3)), jnp.float32)
  v = model.init(jax.random.PRNGKey(0), x, train=False)
  v = {'params': v['params'], 'batch_stats': v['batch_stats']}
  y = np.arange(12) % 3
  w = gradcam.channel_weights_per_class(model, v, x, y, 3, batch_size=5)
  assert sorted(w) == ['HybridChannelAttention_0/ChannelAttention_0',
                       'HybridChannelAttention_1/ChannelAttention_0']
  first = w['HybridChannelAttention_0/ChannelAttention_0']
  assert first.shape == (3, 6)
  inter = model.apply(v, x, train=False, mutable=['intermediates'])[1]
  per_item = inter['intermediates']['HybridChannelAttention_0'][
      'ChannelAttention_0']['channel_weights'][0]
  np.testing.assert_allclose(first[1], np.mean(per_item[y == 1], 0), rtol=1e-5)
  assert gradcam.channel_weights_per_class(_model('lenet'), {
      'params': _model('lenet').init(jax.random.PRNGKey(0), x[:1])['params']},
      x, y, 3) == {}


def test_pick_examples_one_per_label():
  idx = gradcam.pick_examples(np.array([3, 3, 1, 0, 1, 2]), 3)
  np.testing.assert_array_equal(idx, [3, 2, 5])
