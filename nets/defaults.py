"""What the study ran (Keras' defaults) and Flax's, picked by `config.defaults`.

Every net takes its initialisers and normalisation constants from one of
these records instead of Flax's built-in defaults, and the engine reads the
two training conventions at the end of each record. 'keras' is what the
study's Keras code got without asking (keras.io: glorot_uniform kernels,
zero biases, Embedding uniform(-0.05, 0.05), BatchNormalization momentum
0.99 / epsilon 1e-3, LayerNormalization epsilon 1e-3, `clipnorm` per
variable, regularisation losses inside the reported loss). 'flax' is what
this codebase ran before the switch, and what a run directory whose
config.json has no `defaults` field was trained with (LEGACY). Values a
config or a net sets on purpose (the generator's bn_momentum, Adam's eps)
are not defaults and stay as set.
"""

import math
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

import errors


def _uniform(limit):
  """U(-limit, limit): Keras' RandomUniform (Flax's `uniform` starts at 0)."""
  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -limit, limit)
  return init


def keras_fans(shape):
  """(fan_in, fan_out) as Keras computes them: the dims before the last two
  are a receptive field that multiplies both."""
  receptive = math.prod(shape[:-2])
  return shape[-2] * receptive, shape[-1] * receptive


def _keras_einsum_glorot(keras_shape):
  # Keras' MultiHeadAttention keeps its kernels unflattened ([C, heads,
  # key_dim] and [heads, key_dim, C]) and takes glorot's fans from that shape;
  # Flax's DenseGeneral hands its initialiser the flattened 2-D kernel, whose
  # fans differ (3.7x the limit for the query kernels of 4A's self-attention).
  return _uniform(math.sqrt(6.0 / sum(keras_fans(keras_shape))))


def _flax_einsum(keras_shape):
  del keras_shape  # Flax's MultiHeadDotProductAttention default.
  return nn.initializers.lecun_normal()


class Defaults(NamedTuple):
  """Initialisers and constants for the nets; two conventions for the engine."""
  name: str
  kernel_init: Callable[..., Any]
  bias_init: Callable[..., Any]
  embed_init: Callable[..., Any]
  # keras_shape -> initialiser of an attention kernel that Flax flattens.
  einsum_kernel_init: Callable[[tuple], Callable[..., Any]]
  bn_momentum: float  # weight of the old running average (both conventions)
  bn_epsilon: float
  ln_epsilon: float
  clip_per_variable: bool  # opt.clip_norm bounds each gradient leaf alone
  l2_in_reported_loss: bool  # reported train/val/test losses include train.l2

  # Layer factories: Flax layers with this record's initialisers and
  # constants; keyword arguments override them (an explicit config value).
  def dense(self, features, **kwargs):
    return nn.Dense(features, **self._inits(kwargs))

  def conv(self, features, kernel_size, **kwargs):
    return nn.Conv(features, kernel_size, **self._inits(kwargs))

  def embed(self, num_embeddings, features, **kwargs):
    return nn.Embed(num_embeddings, features,
                    **{'embedding_init': self.embed_init, **kwargs})

  def batch_norm(self, use_running_average, **kwargs):
    return nn.BatchNorm(use_running_average=use_running_average, **{
        'momentum': self.bn_momentum, 'epsilon': self.bn_epsilon, **kwargs})

  def layer_norm(self, **kwargs):
    return nn.LayerNorm(**{'epsilon': self.ln_epsilon, **kwargs})

  def _inits(self, kwargs):
    return {'kernel_init': self.kernel_init, 'bias_init': self.bias_init,
            **kwargs}


KERAS = Defaults(
    name='keras',
    kernel_init=nn.initializers.glorot_uniform(),
    bias_init=nn.initializers.zeros,
    embed_init=_uniform(0.05),
    einsum_kernel_init=_keras_einsum_glorot,
    bn_momentum=0.99,
    bn_epsilon=1e-3,
    ln_epsilon=1e-3,
    clip_per_variable=True,
    l2_in_reported_loss=True,
)

FLAX = Defaults(
    name='flax',
    kernel_init=nn.initializers.lecun_normal(),
    bias_init=nn.initializers.zeros,
    embed_init=nn.initializers.variance_scaling(1.0, 'fan_in', 'normal',
                                                out_axis=0),
    einsum_kernel_init=_flax_einsum,
    bn_momentum=0.99,
    bn_epsilon=1e-5,
    ln_epsilon=1e-6,
    clip_per_variable=False,
    l2_in_reported_loss=False,
)

CHOICES = {d.name: d for d in (KERAS, FLAX)}
# What `defaults` means where a saved config.json lacks it: runs made before
# the field existed were trained with Flax's defaults.
LEGACY = 'flax'


def get(name):
  """The Defaults record `name` ('keras' or 'flax')."""
  if name not in CHOICES:
    raise errors.ConfigError(
        f'defaults={name!r}: unknown; choices: {", ".join(CHOICES)}')
  return CHOICES[name]
