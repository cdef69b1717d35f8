"""Conditional DCGAN nets and the MobileNetV2 auxiliary classifier."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nets import gan
from nets import layers
from nets import mobilenet

SMALL_G = dict(features=(8, 8, 4), embed_dim=4)


def _grads(layer, variables, x):
  """Output and the gradients of sum(out^2) w.r.t. params and input."""
  loss = lambda v, x: jnp.sum(layer.apply(v, x) ** 2)
  return layer.apply(variables, x), jax.grad(loss, argnums=(0, 1))(variables, x)


def _assert_close(a, b):
  jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-4,
                                                       atol=1e-4), a, b)


@pytest.mark.parametrize('impl', ['phase', 'patches', 'transpose', 'auto'])
@pytest.mark.parametrize('size,kernel,stride', [(7, 5, 2), (5, 4, 3)])
def test_upsample_impls_equal_conv_transpose(size, kernel, stride, impl):
  x = jax.random.normal(jax.random.PRNGKey(0), (2, size, size, 3))
  up = gan.Upsample(4, kernel_size=kernel, stride=stride, impl=impl)
  variables = up.init(jax.random.PRNGKey(1), x)
  variables['params']['bias'] = jnp.arange(4.0)
  ref = nn.ConvTranspose(4, (kernel, kernel), strides=(stride, stride),
                         padding='SAME')
  out, grads = _grads(up, variables, x)
  assert out.shape == (2, size * stride, size * stride, 4)
  _assert_close((out, grads), _grads(ref, variables, x))


@pytest.mark.parametrize('impl', ['phase', 'patches', 'strided', 'auto'])
@pytest.mark.parametrize('size,kernel,stride', [(7, 5, 2), (10, 4, 3), (28, 5, 2)])
def test_downsample_impls_equal_strided_conv(size, kernel, stride, impl):
  x = jax.random.normal(jax.random.PRNGKey(0), (2, size, size, 3))
  down = gan.Downsample(4, kernel_size=kernel, stride=stride, impl=impl)
  variables = down.init(jax.random.PRNGKey(1), x)
  variables['params']['bias'] = jnp.arange(4.0)
  ref = nn.Conv(4, (kernel, kernel), strides=(stride, stride), padding='SAME')
  _assert_close(_grads(down, variables, x), _grads(ref, variables, x))


def test_auto_is_the_platforms_choice(monkeypatch):
  cpu = jax.default_backend() == 'cpu'
  assert layers.resolve_impl('Upsample', 'auto', gan.UPSAMPLE_AUTO) == (
      'patches' if cpu else 'transpose')
  monkeypatch.setattr(jax, 'default_backend', lambda: 'gpu')
  assert layers.resolve_impl('Downsample', 'auto', gan.DOWNSAMPLE_AUTO) == (
      'strided')
  assert layers.resolve_impl('DepthwiseConv', 'auto',
                             layers.DEPTHWISE_AUTO) == 'grouped'
  with pytest.raises(ValueError, match='choices'):
    layers.resolve_impl('Downsample', 'lax', gan.DOWNSAMPLE_AUTO, ('phase',))


def _init_generator(**kw):
  g = gan.Generator(**{**SMALL_G, **kw})
  z = jax.random.normal(jax.random.PRNGKey(0), (4, 16))
  labels = jnp.array([0, 1, 2, 3])
  return g, g.init(jax.random.PRNGKey(1), (z, labels)), z


def test_generator_shapes_and_range():
  g, variables, z = _init_generator()
  out = g.apply(variables, (z, jnp.arange(4)))
  assert out.shape == (4, 28, 28, 1)
  assert jnp.all(jnp.abs(out) <= 1.0)


def test_conditional_bn_depends_on_label():
  g, variables, z = _init_generator(dropout=0.0)
  params = jax.tree_util.tree_map_with_path(
      # Give each class its own scale/shift, as training would.
      lambda p, v: v + jnp.arange(v.shape[0])[:, None] * 0.3
      if 'ConditionalBatchNorm' in str(p) else v, variables['params'])
  cbn = [k for k in params if k.startswith('ConditionalBatchNorm')]
  assert cbn and set(params[cbn[0]]) == {'scale', 'shift'}
  np.testing.assert_allclose(params[cbn[0]]['scale']['embedding'][0], 1.0)
  same_z = jnp.repeat(z[:1], 2, axis=0)
  out = g.apply({**variables, 'params': params}, (same_z, jnp.array([3, 7])),
                batch_stats=True, mutable=['batch_stats'])[0]
  assert float(jnp.abs(out[0] - out[1]).max()) > 1e-3
  # Only the label differs, and with the label embedding zeroed the
  # difference must come from the conditional BN alone.
  no_embed = {**params, 'Embed_0': {'embedding': jnp.zeros_like(
      params['Embed_0']['embedding'])}}
  out = g.apply({**variables, 'params': no_embed}, (same_z, jnp.array([3, 7])),
                batch_stats=True, mutable=['batch_stats'])[0]
  assert float(jnp.abs(out[0] - out[1]).max()) > 1e-3


def test_generator_eval_modes_and_dropout():
  g, variables, z = _init_generator()
  labels = jnp.arange(4)
  running = g.apply(variables, (z, labels))
  batch = g.apply(variables, (z, labels), batch_stats=True,
                  mutable=['batch_stats'])[0]
  # Fresh running stats are (0, 1), the batch's are not: the modes differ.
  assert float(jnp.abs(running - batch).max()) > 1e-3
  np.testing.assert_array_equal(running, g.apply(variables, (z, labels)))
  train = lambda k: g.apply(variables, (z, labels), train=True,
                            mutable=['batch_stats'], rngs={'dropout': k})[0]
  assert float(jnp.abs(train(jax.random.PRNGKey(2)) -
                       train(jax.random.PRNGKey(3))).max()) > 1e-4


def test_discriminator_shape_and_label_dependence():
  d = gan.Discriminator(features=(4, 8, 8), embed_dim=4)
  x = jnp.ones((2, 28, 28, 1))
  variables = d.init(jax.random.PRNGKey(0), (x, jnp.zeros(2, jnp.int32)))
  logits = d.apply(variables, (x, jnp.array([1, 8])))
  assert logits.shape == (2,)
  assert float(jnp.abs(logits[0] - logits[1])) > 1e-6


def test_mobilenet_shapes_and_width():
  width = 0.5
  m = mobilenet.MobileNetV2(width=width, stages=mobilenet.STAGES[:2])
  x = jnp.zeros((2, 28, 28, 1))
  variables = jax.jit(m.init)(jax.random.PRNGKey(0), x)
  assert jax.eval_shape(m.apply, variables, x).shape == (2, 10)
  stem = variables['params']['Conv_0']['kernel']
  assert stem.shape == (3, 3, 3, mobilenet._divisible(32 * width))


def test_discriminator_label_term_does_not_depend_on_the_image():
  # The seed's discriminator concatenates the label embedding right before
  # its last Dense: logit = f(x) + g(y). Why configs/gan_base.py leans on the
  # aux classifier (aux_weight) for class-consistent samples.
  d = gan.Discriminator(features=(4, 4, 4), embed_dim=3)
  x = jax.random.normal(jax.random.PRNGKey(0), (5, 28, 28, 1))
  params = d.init(jax.random.PRNGKey(1), (x[:1], jnp.zeros(1, jnp.int32)))
  logit = lambda y: d.apply(params, (x, jnp.full(5, y, jnp.int32)))
  gap = logit(3) - logit(7)
  np.testing.assert_allclose(gap, np.full(5, gap[0]), atol=1e-5)
  assert abs(float(gap[0])) > 1e-4
