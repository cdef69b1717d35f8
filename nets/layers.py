"""Small layers shared by the nets."""

import flax.linen as nn
import jax
import jax.numpy as jnp

from nets import defaults as defaults_lib


def pool2x2(x_BxHxWxC, op=jnp.max):
  """2x2/stride-2 'VALID' pooling (max by default) written as reshape+reduce.

  Same forward values as nn.max_pool/avg_pool, but the gradient of a reduce
  is a cheap broadcast while nn.max_pool's is XLA's select-and-scatter, which
  on XLA:CPU was 6x slower and half of a 4A train step (docs/benchmarks.md).
  At ties the gradient is shared instead of going to one element: an equally
  valid subgradient.
  """
  b, h, w, c = x_BxHxWxC.shape
  x = x_BxHxWxC[:, :h // 2 * 2, :w // 2 * 2, :]
  return op(x.reshape(b, h // 2, 2, w // 2, 2, c), axis=(2, 4))


def conv_patches(x_BxHxWxC, kernel_KxKxCxF, strides, padding):
  """lax.conv_general_dilated(x, kernel, strides, padding), NHWC x HWIO, as
  im2col: the kh*kw (strided) shifted slices stacked on channels, then one
  matmul with the kernel flattened to [kh*kw*C, F].

  Its gradients are slices, pads and matmuls. XLA:CPU's convolution-gradient
  paths are slow for small maps with many channels (the GAN discriminator's
  7x7x128 -> 4x4x256 layer: 5x, docs/benchmarks.md), so on CPU this form wins
  there; it costs kh*kw times the input's memory, and it loses where the
  maps are large and the channels few. padding: 'SAME', 'VALID' or
  ((lo, hi), (lo, hi)).
  """
  (kh, kw, c, f), (sh, sw) = kernel_KxKxCxF.shape, strides
  h, w = x_BxHxWxC.shape[1:3]
  if isinstance(padding, str):
    padding = jax.lax.padtype_to_pads((h, w), (kh, kw), strides, padding)
  x = jnp.pad(x_BxHxWxC, ((0, 0), *padding, (0, 0)))
  ho, wo = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
  cols = [x[:, i:i + (ho - 1) * sh + 1:sh, j:j + (wo - 1) * sw + 1:sw]
          for i in range(kh) for j in range(kw)]
  return jnp.concatenate(cols, -1) @ kernel_KxKxCxF.reshape(kh * kw * c, f)


# The fastest depthwise impl per platform (bench/bench_gan.py,
# docs/benchmarks.md): cuDNN runs grouped convolutions natively.
DEPTHWISE_AUTO = {'cpu': 'shifted', 'default': 'grouped'}


class DepthwiseConv(nn.Module):
  """nn.Conv(C, kernel_size, strides, padding='SAME', feature_group_count=C,
  use_bias=False), same 'kernel' parameter [kh, kw, 1, C].

  impl='shifted' computes it as kh*kw shifted multiply-adds: XLA:CPU runs
  grouped convolutions, and above all their kernel gradient, on a slow path;
  for MobileNetV2's 3x3 depthwise layers at batch 128 the gradient of this
  form was 4-15x faster (docs/benchmarks.md). 'grouped' is the lax op;
  'auto' picks per platform (DEPTHWISE_AUTO).
  """
  kernel_size: tuple = (3, 3)
  strides: tuple = (1, 1)
  impl: str = 'auto'  # 'auto' | 'shifted' | 'grouped'
  defaults: str = 'keras'

  @nn.compact
  def __call__(self, x_BxHxWxC):
    (kh, kw), (sh, sw) = self.kernel_size, self.strides
    _, h, w, c = x_BxHxWxC.shape
    # Keras' depthwise kernel is [kh, kw, C, 1]: glorot's fan_in + fan_out,
    # all it uses, is the same for this layout.
    kernel = self.param('kernel', defaults_lib.get(self.defaults).kernel_init,
                        (kh, kw, 1, c))
    impl = resolve_impl('DepthwiseConv', self.impl, DEPTHWISE_AUTO)
    if impl == 'grouped':
      return jax.lax.conv_general_dilated(
          x_BxHxWxC, kernel, self.strides, 'SAME', feature_group_count=c,
          dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    ho, wo = -(-h // sh), -(-w // sw)
    # TensorFlow/Flax 'SAME': the odd pixel of padding goes after.
    pad_h, pad_w = max((ho - 1) * sh + kh - h, 0), max((wo - 1) * sw + kw - w, 0)
    x = jnp.pad(x_BxHxWxC, ((0, 0), (pad_h // 2, pad_h - pad_h // 2),
                            (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    out = 0.0
    for i in range(kh):
      for j in range(kw):
        out = out + (x[:, i:i + (ho - 1) * sh + 1:sh, j:j + (wo - 1) * sw + 1:sw]
                     * kernel[i, j, 0])
    return out


def resolve_impl(layer, impl, auto, others=()):
  """The impl to trace: 'auto' becomes the platform's entry of `auto`
  (XLA:CPU's fastest measured form; the native lax op elsewhere); `others`
  are further valid choices that 'auto' never picks."""
  choices = {'auto', *auto.values(), *others}
  if impl not in choices:
    raise ValueError(f'{layer} impl={impl!r}: choices: {sorted(choices)}')
  if impl != 'auto':
    return impl
  return auto.get(jax.default_backend(), auto['default'])
