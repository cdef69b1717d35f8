"""A small residual CNN on log-mel features: the voices recipe's model."""

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from nets import defaults as defaults_lib


class ResidualBlock(nn.Module):
  """Conv3x3(stride)-BN-ReLU-Conv3x3-BN, plus the input (through a strided
  1x1 conv and BN where the shape changes), then ReLU. residual=False drops
  the shortcut: the same convolutions as a plain CNN."""
  features: int
  strides: int = 2
  residual: bool = True
  dtype: str = 'float32'
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x, train: bool):
    d = defaults_lib.get(self.defaults)
    conv = lambda f, k, s, name: d.conv(f, k, strides=s, use_bias=False,
                                        dtype=self.dtype, name=name)
    bn = lambda name: d.batch_norm(not train, dtype=self.dtype, name=name)
    s = (self.strides, self.strides)
    y = nn.relu(bn('bn1')(conv(self.features, (3, 3), s, 'conv1')(x)))
    y = bn('bn2')(conv(self.features, (3, 3), (1, 1), 'conv2')(y))
    if not self.residual:
      return nn.relu(y)
    if x.shape[-1] != self.features or self.strides != 1:
      x = bn('bn_shortcut')(conv(self.features, (1, 1), s, 'shortcut')(x))
    return nn.relu(x + y)


class VoiceResNet(nn.Module):
  """Conv3x3(stem)-BN-ReLU, a ResidualBlock per entry of `widths` (each
  halving time and frequency), global average pooling, Dropout, Dense.

  The defaults hold about 170k parameters: at 64 frames x 40 mel bands the
  stride-2 blocks see 32x20, 16x10 and 8x5 maps, which keeps a training step
  cheap on a CPU while the last block still spans the whole utterance.
  """
  stem: int = 16
  widths: Sequence[int] = (24, 48, 96)
  residual: bool = True
  dropout: float = 0.2
  num_classes: int = 10
  dtype: str = 'float32'  # compute dtype; params stay float32
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x_BxTxFxC, train: bool = False):
    d = defaults_lib.get(self.defaults)
    dtype = jnp.dtype(self.dtype)
    x = d.conv(self.stem, (3, 3), use_bias=False, dtype=dtype,
               name='stem')(x_BxTxFxC.astype(dtype))
    x = nn.relu(d.batch_norm(not train, dtype=dtype, name='bn_stem')(x))
    for i, features in enumerate(self.widths):
      x = ResidualBlock(features, residual=self.residual, dtype=self.dtype,
                        defaults=self.defaults, name=f'block{i + 1}')(x, train)
    x = x.mean(axis=(1, 2))
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return d.dense(self.num_classes, dtype=dtype, name='head')(x)
