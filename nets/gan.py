"""Conditional DCGAN (the seed's Table 4): label-conditioned generator and critic.

Both take `inputs = (a, labels)` so that `train.state.create_train_state` can
initialise them from one sample like every other model.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from nets import defaults as defaults_lib
from nets import layers


def _phase_taps(kernel_size, stride):
  """One-hot [stride, taps, kernel_size] map of a 1-D SAME transposed conv.

  With lax's SAME padding (pad_lo before the stride-dilated input), output
  o = stride*m + p reads input m + d through kernel tap k = stride*d + pad_lo
  - p. So each phase p is a stride-1 conv over the undilated input with taps
  d in [d_min, d_max]; taps a phase lacks stay zero.
  """
  pad_lo = _conv_transpose_pad_lo(kernel_size, stride)
  ds = [(p + k - pad_lo) // stride for p in range(stride)
        for k in range(kernel_size) if (p + k - pad_lo) % stride == 0]
  d_min, d_max = min(ds), max(ds)
  taps = np.zeros((stride, d_max - d_min + 1, kernel_size), np.float32)
  for p in range(stride):
    for d in range(d_min, d_max + 1):
      k = stride * d + pad_lo - p
      if 0 <= k < kernel_size:
        taps[p, d - d_min, k] = 1.0
  return taps, (-d_min, d_max)


# The fastest impl per platform, measured at the GAN's shapes, batch 128
# (bench/bench_gan.py, docs/benchmarks.md): cuDNN runs transposed and strided
# convolutions natively; XLA:CPU's convolution gradients are slow paths that
# im2col + matmul avoids.
UPSAMPLE_AUTO = {'cpu': 'patches', 'default': 'transpose'}
DOWNSAMPLE_AUTO = {'cpu': 'patches', 'default': 'strided'}


def _conv_transpose_pad_lo(k, s):
  """lax.conv_transpose's leading pad for padding='SAME'."""
  return k - 1 if s > k - 1 else int(np.ceil((k + s - 2) / 2))


class Upsample(nn.Module):
  """Exactly nn.ConvTranspose(features, (k, k), strides=(s, s), padding='SAME').

  Same parameters ('kernel' [k, k, C_in, C_out], 'bias') for every impl, so
  checkpoints do not depend on the switch. impl='phase' computes it as one
  stride-1 conv to s*s*C_out channels (the s*s output phases) followed by
  depth-to-space: on XLA:CPU the kernel gradient of the strided transposed
  conv was ~20x slower (bench/bench_gan.py, docs/benchmarks.md); 'patches'
  is the same phase conv as im2col + matmul (layers.conv_patches); 'auto'
  picks per platform (UPSAMPLE_AUTO).
  """
  features: int
  kernel_size: int = 5
  stride: int = 2
  impl: str = 'auto'  # 'auto' | 'phase' | 'patches' | 'transpose'
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x_BxHxWxC):
    k, s, c_in = self.kernel_size, self.stride, x_BxHxWxC.shape[-1]
    d = defaults_lib.get(self.defaults)
    # Keras' Conv2DTranspose kernel is [k, k, C_out, C_in]: glorot's
    # fan_in + fan_out, all it uses, is the same for this layout.
    kernel = self.param('kernel', d.kernel_init, (k, k, c_in, self.features))
    bias = self.param('bias', d.bias_init, (self.features,))
    dn = ('NHWC', 'HWIO', 'NHWC')
    impl = layers.resolve_impl('Upsample', self.impl, UPSAMPLE_AUTO, ('phase',))
    if impl == 'transpose':
      y = jax.lax.conv_transpose(x_BxHxWxC, kernel, (s, s), 'SAME',
                                 dimension_numbers=dn)
      return y + bias
    taps, pads = _phase_taps(k, s)
    # [ty, tx, C_in, py, px, C_out]: tap (ty, tx) of output phase (py, px).
    w = jnp.einsum('pak,qbl,klio->abipqo', taps, taps, kernel)
    t = taps.shape[1]
    w = w.reshape(t, t, c_in, s * s * self.features)
    if impl == 'patches':
      y = layers.conv_patches(x_BxHxWxC, w, (1, 1), (pads, pads))
    else:
      y = jax.lax.conv_general_dilated(x_BxHxWxC, w, (1, 1), (pads, pads),
                                       dimension_numbers=dn)
    b, h, wd, _ = y.shape
    y = y.reshape(b, h, wd, s, s, self.features).transpose(0, 1, 3, 2, 4, 5)
    return y.reshape(b, h * s, wd * s, self.features) + bias


class Downsample(nn.Module):
  """Exactly nn.Conv(features, (k, k), strides=(s, s), padding='SAME').

  Same parameters for every impl. impl='phase' pads the input, moves each
  s x s block into channels (space-to-depth) and applies one stride-1
  ceil(k/s)^2 conv whose kernel is the zero-padded k x k kernel regrouped
  the same way: the strided conv's gradient was ~10x its forward on XLA:CPU.
  'patches' is the strided conv as im2col + matmul (layers.conv_patches);
  'auto' picks per platform (DOWNSAMPLE_AUTO).
  """
  features: int
  kernel_size: int = 5
  stride: int = 2
  impl: str = 'auto'  # 'auto' | 'patches' | 'phase' | 'strided'
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x_BxHxWxC):
    k, s = self.kernel_size, self.stride
    b, h, w, c_in = x_BxHxWxC.shape
    d = defaults_lib.get(self.defaults)
    kernel = self.param('kernel', d.kernel_init, (k, k, c_in, self.features))
    bias = self.param('bias', d.bias_init, (self.features,))
    dn = ('NHWC', 'HWIO', 'NHWC')
    impl = layers.resolve_impl('Downsample', self.impl, DOWNSAMPLE_AUTO,
                               ('phase',))
    if impl == 'strided':
      return jax.lax.conv_general_dilated(
          x_BxHxWxC, kernel, (s, s), 'SAME', dimension_numbers=dn) + bias
    if impl == 'patches':
      return layers.conv_patches(x_BxHxWxC, kernel, (s, s), 'SAME') + bias
    (ph_lo, ph_hi), (pw_lo, pw_hi) = jax.lax.padtype_to_pads(
        (h, w), (k, k), (s, s), 'SAME')
    t = -(-k // s)  # taps per phase
    out_h, out_w = -(-h // s), -(-w // s)
    # Pad to (out + t - 1) * s so that a VALID t x t conv gives out outputs.
    x = jnp.pad(x_BxHxWxC, ((0, 0), (ph_lo, (out_h + t - 1) * s - h - ph_lo),
                            (pw_lo, (out_w + t - 1) * s - w - pw_lo), (0, 0)))
    hp, wp = x.shape[1] // s, x.shape[2] // s
    x = x.reshape(b, hp, s, wp, s, c_in).transpose(0, 1, 3, 2, 4, 5)
    x = x.reshape(b, hp, wp, s * s * c_in)
    # kernel[s*dy + py, s*dx + px] -> w[dy, dx, (py, px, c_in)].
    kp = jnp.pad(kernel, ((0, t * s - k), (0, t * s - k), (0, 0), (0, 0)))
    kp = kp.reshape(t, s, t, s, c_in, self.features).transpose(0, 2, 1, 3, 4, 5)
    y = jax.lax.conv_general_dilated(
        x, kp.reshape(t, t, s * s * c_in, self.features), (1, 1), 'VALID',
        dimension_numbers=dn)
    return y + bias


class ConditionalBatchNorm(nn.Module):
  """BatchNorm without affine, then a per-class scale (init 1) and shift (0)."""
  num_classes: int = 10
  momentum: float = 0.9
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x_BxHxWxC, labels_B, use_running_average):
    x = defaults_lib.get(self.defaults).batch_norm(
        use_running_average, momentum=self.momentum, use_scale=False,
        use_bias=False)(x_BxHxWxC)
    c = x.shape[-1]
    scale_BxC = nn.Embed(self.num_classes, c, embedding_init=nn.initializers.ones,
                         name='scale')(labels_B)
    shift_BxC = nn.Embed(self.num_classes, c, embedding_init=nn.initializers.zeros,
                         name='shift')(labels_B)
    return x * scale_BxC[:, None, None, :] + shift_BxC[:, None, None, :]


class Generator(nn.Module):
  """(z [B, z_dim], labels [B]) -> images [B, 28, 28, 1] in [-1, 1].

  Dense(7*7*f0)-BN-ReLU-Dropout, then two 5x5/2 upsamplings (f1, f2) each
  with label-conditional BN, ReLU and Dropout, then Conv(1, 5x5) and tanh.
  bn_momentum: Flax's convention (the weight of the old running average, as
  Keras' 0.99; PyTorch's 0.1 is Flax's 0.9). The default 0.9 lets the running
  averages follow a generator whose activations move every step; eval-mode
  sampling uses them (`batch_stats=True` samples with batch statistics).
  """
  num_classes: int = 10
  embed_dim: int = 50
  features: tuple = (256, 128, 64)
  dropout: float = 0.3
  bn_momentum: float = 0.9
  upsample: str = 'auto'
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, inputs, train: bool = False, batch_stats=None):
    z_BxZ, labels_B = inputs
    d = defaults_lib.get(self.defaults)
    use_running = not (train if batch_stats is None else batch_stats)
    drop = nn.Dropout(self.dropout, deterministic=not train)
    f0, f1, f2 = self.features
    h = jnp.concatenate(
        [z_BxZ, d.embed(self.num_classes, self.embed_dim)(labels_B)], -1)
    h = d.dense(7 * 7 * f0, use_bias=False)(h)
    h = d.batch_norm(use_running, momentum=self.bn_momentum)(h)
    h = drop(nn.relu(h)).reshape(-1, 7, 7, f0)
    for f in (f1, f2):
      h = Upsample(f, impl=self.upsample, defaults=self.defaults)(h)
      h = ConditionalBatchNorm(self.num_classes, self.bn_momentum,
                               self.defaults)(h, labels_B, use_running)
      h = drop(nn.relu(h))
    return jnp.tanh(d.conv(1, (5, 5))(h))


class Discriminator(nn.Module):
  """(images [B, 28, 28, 1], labels [B]) -> real/fake logit [B].

  Three 5x5/2 convs (LeakyReLU 0.2, Dropout), flatten, concatenate a label
  embedding, Dense(1).
  """
  num_classes: int = 10
  embed_dim: int = 50
  features: tuple = (64, 128, 256)
  dropout: float = 0.3
  downsample: str = 'auto'
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, inputs, train: bool = False):
    x_BxHxWxC, labels_B = inputs
    d = defaults_lib.get(self.defaults)
    h = x_BxHxWxC
    for f in self.features:
      h = Downsample(f, impl=self.downsample, defaults=self.defaults)(h)
      h = nn.Dropout(self.dropout, deterministic=not train)(
          nn.leaky_relu(h, 0.2))
    label_BxE = d.embed(self.num_classes, self.embed_dim)(labels_B)
    h = jnp.concatenate([h.reshape(h.shape[0], -1), label_BxE], -1)
    return d.dense(1)(h)[:, 0]
