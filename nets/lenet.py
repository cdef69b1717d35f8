"""LeNet-5 on spectrogram images and its attention variants (Problem 4B).

One module covers the seed's three Table-11 models; nets.MODELS binds their
settings ('lenet', 'lenet_cbam', 'lenet_hybrid'), so a variant is a set of
arguments, not a copy of the network.
"""

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

import errors
from nets import attention
from nets import defaults as defaults_lib
from nets import layers


class GaussianNoise(nn.Module):
  """Adds N(0, stddev^2) noise in training only (Keras' GaussianNoise)."""
  stddev: float

  @nn.compact
  def __call__(self, x, train: bool):
    if not train or not self.stddev:
      return x
    noise = jax.random.normal(self.make_rng('noise'), x.shape, jnp.float32)
    return x + (self.stddev * noise).astype(x.dtype)


class HybridChannelAttention(nn.Module):
  """CBAM channel gate followed by LayerNorm, the seed's hybrid block."""
  reduction: int = 8
  channel_pool: str = 'avg'  # the channel gate's pool (attention.CHANNEL_POOLS)
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x):
    x = attention.ChannelAttention(self.reduction, self.channel_pool,
                                   defaults=self.defaults)(x)
    return defaults_lib.get(self.defaults).layer_norm(dtype=x.dtype)(x)


_BLOCKS = {'cbam': attention.CBAM, 'hybrid': HybridChannelAttention}

# Which models add the training noise: 'all' (Table 12, "Training
# Hyperparameters for All Models": "Noise Factor (Training) 0.02") or
# 'hybrid' (block='hybrid' only, whose section 6.2.3 introduces "noise
# injection augmentation": what this codebase ran before issue 12).
NOISE_MODELS = ('all', 'hybrid')


class LeNet(nn.Module):
  """Conv6(5x5)-AvgPool-Conv16(5x5)-AvgPool-Dense120-Dense84-Dense(classes).

  With `block` set, each conv is followed by BatchNorm, the block and
  Dropout(conv_dropout) before its pool. Gaussian noise of `noise_std` is
  added to the input in training, for every model or with
  noise_models='hybrid' for the hybrid only (NOISE_MODELS). The activation of
  the last conv is exposed as the perturbation 'last_conv' (and sown under the
  same name) so eval.gradcam can take gradients with respect to it.
  """
  block: Optional[str] = None  # None | 'cbam' | 'hybrid'
  reduction: int = 8
  channel_pool: str = 'avg'  # the blocks' channel gate (attention.CHANNEL_POOLS)
  conv_dropout: float = 0.0
  dense_dropout: float = 0.0
  noise_std: float = 0.02
  noise_models: str = 'all'
  num_classes: int = 10
  dtype: str = 'float32'  # compute dtype; params stay float32
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x_BxHxWxC, train: bool = False):
    if self.block not in (None, *_BLOCKS):
      raise errors.ConfigError(f'model.block={self.block!r}: unknown; choices: '
                               f'None, {", ".join(_BLOCKS)}')
    if self.noise_models not in NOISE_MODELS:
      raise errors.ConfigError(
          f'model.noise_models={self.noise_models!r}: unknown; choices: '
          f'{", ".join(NOISE_MODELS)}')
    attention.check_channel_pool(self.channel_pool)
    d = defaults_lib.get(self.defaults)
    dtype = jnp.dtype(self.dtype)
    noisy = self.noise_models == 'all' or self.block == 'hybrid'
    x = GaussianNoise(self.noise_std if noisy else 0.0)(
        x_BxHxWxC.astype(dtype), train)
    for i, features in enumerate((6, 16)):
      x = nn.relu(d.conv(features, (5, 5), padding='VALID', dtype=dtype,
                         name=f'conv{i + 1}')(x))
      if i == 1:
        x = self.perturb('last_conv', x)
        self.sow('intermediates', 'last_conv', x)
      if self.block:
        x = d.batch_norm(not train, dtype=dtype)(x)
        x = _BLOCKS[self.block](self.reduction, self.channel_pool,
                                defaults=self.defaults)(x)
        x = nn.Dropout(self.conv_dropout, deterministic=not train)(x)
      x = layers.pool2x2(x, op=jnp.mean)
    x = x.reshape(x.shape[0], -1)
    for i, features in enumerate((120, 84)):
      x = nn.relu(d.dense(features, dtype=dtype, name=f'fc{i + 1}')(x))
      x = nn.Dropout(self.dense_dropout, deterministic=not train)(x)
    return d.dense(self.num_classes, dtype=dtype, name='fc3')(x)
