"""MobileNetV2 (Sandler et al. 2018) for 28x28 digits: the GAN's auxiliary classifier."""

import flax.linen as nn
import jax
import jax.numpy as jnp

from nets import defaults as defaults_lib
from nets import layers

# (expansion t, channels c, repeats n, first stride s) of the paper's Table 2.
STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
          (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _divisible(v, divisor=8):
  """Channels rounded as in the reference implementation (never below 90%)."""
  new = max(divisor, int(v + divisor / 2) // divisor * divisor)
  return new + divisor if new < 0.9 * v else new


class InvertedResidual(nn.Module):
  """1x1 expand - 3x3 depthwise (stride) - 1x1 linear project, skip if shapes match."""
  features: int
  stride: int
  expansion: int
  bn_momentum: float
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x_BxHxWxC, train):
    d = defaults_lib.get(self.defaults)
    bn = lambda: d.batch_norm(not train, momentum=self.bn_momentum)
    c_in = x_BxHxWxC.shape[-1]
    hidden = c_in * self.expansion
    h = x_BxHxWxC
    if self.expansion != 1:
      h = nn.relu6(bn()(d.conv(hidden, (1, 1), use_bias=False)(h)))
    h = layers.DepthwiseConv((3, 3), (self.stride, self.stride),
                             defaults=self.defaults)(h)
    h = nn.relu6(bn()(h))
    h = bn()(d.conv(self.features, (1, 1), use_bias=False)(h))
    if self.stride == 1 and c_in == self.features:
      h = h + x_BxHxWxC
    return h


class MobileNetV2(nn.Module):
  """Grayscale 28x28 -> logits. The image is replicated to 3 channels and
  zero-padded to 32x32 (resized when input_size > 32), as ImageNet-style
  weights expect; head GAP-Dense(512, ReLU)-Dropout-Dense(classes).

  width: the paper's width multiplier. pad_value: the background pixel (-1
  for the GAN's tanh range). stages: (t, c, n, s) rows, shortened
  by tests to keep compile time low. bn_momentum stays 0.9 in both
  nets.defaults: keras.applications' 0.999 suits its pre-trained statistics,
  and this classifier trains from scratch for a few hundred steps.
  """
  width: float = 1.0
  num_classes: int = 10
  dropout: float = 0.5
  input_size: int = 32
  pad_value: float = -1.0
  head_features: int = 512
  bn_momentum: float = 0.9
  stages: tuple = STAGES
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x_BxHxWxC, train: bool = False):
    d = defaults_lib.get(self.defaults)
    x = jnp.repeat(x_BxHxWxC, 3, axis=-1) if x_BxHxWxC.shape[-1] == 1 else x_BxHxWxC
    b, h, w, c = x.shape
    if h < 32 or w < 32:
      ph, pw = max(32 - h, 0), max(32 - w, 0)
      x = jnp.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2),
                      (0, 0)), constant_values=self.pad_value)
    if self.input_size > 32:
      x = jax.image.resize(x, (b, self.input_size, self.input_size, c),
                           'bilinear')
    bn = lambda: d.batch_norm(not train, momentum=self.bn_momentum)
    x = nn.relu6(bn()(d.conv(_divisible(32 * self.width), (3, 3),
                             strides=(2, 2), use_bias=False)(x)))
    for t, c_out, n, s in self.stages:
      for i in range(n):
        x = InvertedResidual(_divisible(c_out * self.width), s if i == 0 else 1,
                             t, self.bn_momentum, self.defaults)(x, train)
    last = _divisible(1280 * max(self.width, 1.0))
    x = nn.relu6(bn()(d.conv(last, (1, 1), use_bias=False)(x)))
    x = jnp.mean(x, axis=(1, 2))
    x = nn.relu(d.dense(self.head_features)(x))
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return d.dense(self.num_classes)(x)
