"""Throughput of the conditional-DCGAN train step and of its up/down-sampling.

python -m bench.bench_gan [--batch_size=128] [--steps=3] [--repeats=2] [--ceiling]
  1. the gradient of the generator's 5x5/2 upsampling layers as
     lax.conv_transpose vs phase convs + depth-to-space (lax or im2col +
     matmul, 'patches'), of the discriminator's 5x5/2 convs, strided vs
     space-to-depth vs im2col, and of MobileNetV2's 3x3 depthwise convs,
     grouped nn.Conv vs nets.layers.DepthwiseConv (shifted multiply-adds);
  2. images/s of one full G+D+aux `train.gan.train_step` (configs/gan_300.py
     models) for each generator/discriminator implementation, and the
     implied seconds per gan_300 epoch (3000 images);
  3. with --ceiling, the step's arithmetic (XLA's cost analysis) and the
     images/s it would reach at the device's matmul peak: the bound that no
     implementation, JAX's or Keras', can pass on that device.
"""

import functools
import time

from absl import app
from absl import flags
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from configs import gan_300
from nets import gan as gan_nets
from nets import layers as layers_lib
from train import gan

FLAGS = flags.FLAGS


def best_time(fn, args, steps, repeats):
  """Best seconds per call of the jitted fn (after one compile call)."""
  jax.block_until_ready(fn(*args))
  best = float('inf')
  for _ in range(repeats):
    t0 = time.perf_counter()
    for _ in range(steps):
      out = fn(*args)
    jax.block_until_ready(out)
    best = min(best, (time.perf_counter() - t0) / steps)
  return best


def layer_grads(batch_size, steps, repeats):
  """Seconds of d(sum(layer(x)^2))/d(kernel, x) per layer implementation."""
  rows = []
  ups, downs = ('transpose', 'phase', 'patches'), ('strided', 'phase', 'patches')
  cases = [('upsample', gan_nets.Upsample, 128, (7, 7, 256), ups),
           ('upsample', gan_nets.Upsample, 64, (14, 14, 128), ups),
           ('downsample', gan_nets.Downsample, 64, (28, 28, 1), downs),
           ('downsample', gan_nets.Downsample, 128, (14, 14, 64), downs),
           ('downsample', gan_nets.Downsample, 256, (7, 7, 128), downs)]
  for name, cls, features, shape, impls in cases:
    x = jnp.ones((batch_size, *shape))
    for impl in impls:
      layer = cls(features, impl=impl)
      params = layer.init(jax.random.PRNGKey(0), x[:1])
      loss = lambda p, x, layer=layer: jnp.sum(layer.apply(p, x) ** 2)
      grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
      rows.append((f'{name} {shape}->{features}', impl,
                   best_time(grad, (params, x), steps, repeats)))
  # MobileNetV2 (width 1) depthwise layers on 32x32 inputs: (H, C, stride).
  for size, channels, stride in ((16, 96, 2), (8, 144, 1), (4, 384, 1)):
    x = jnp.ones((batch_size, size, size, channels))
    impls = {'grouped': nn.Conv(channels, (3, 3), strides=stride,
                                feature_group_count=channels, use_bias=False),
             'shifted': layers_lib.DepthwiseConv((3, 3), (stride, stride))}
    for impl, layer in impls.items():
      params = layer.init(jax.random.PRNGKey(0), x[:1])
      loss = lambda p, x, layer=layer: jnp.sum(layer.apply(p, x) ** 2)
      grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
      rows.append((f'depthwise ({size}, {size}, {channels})/{stride}', impl,
                   best_time(grad, (params, x), steps, repeats)))
  return rows


def _no_classifier(variables, x, train):
  """Stands in for the aux classifier: constant logits."""
  del variables, train
  return jnp.zeros((x.shape[0], 10), x.dtype)


def _lowered_step(upsample, downsample, batch_size, aux_width, aux):
  """The full jitted GAN step of configs/gan_300.py, lowered, and its args.

  aux=False times G + D alone with the same `gan.train_step`: the classifier
  becomes a constant (its term then has no gradient, so XLA drops it) and
  takes no step of its own.
  """
  config = gan_300.get_config()
  config.generator.upsample = upsample
  config.discriminator.downsample = downsample
  config.aux.model.width = aux_width
  config.aux.keep_training = config.aux.keep_training and aux
  states = gan.create_states(config, jax.random.PRNGKey(0))
  if not aux:
    states['aux'] = states['aux'].replace(apply_fn=_no_classifier)
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.uniform(-1, 1, (1024, 28, 28, 1)).astype(np.float32))
  y = jnp.asarray(rng.integers(0, 10, 1024).astype(np.int32))
  step = jax.jit(functools.partial(
      gan.train_step, z_dim=config.train.z_dim, num_classes=10,
      aux_weight=config.train.aux_weight,
      keep_training_aux=config.aux.keep_training))
  args = (states, gan.zero_sums(states, x, y), x, y,
          np.arange(batch_size, dtype=np.int32))
  return step.lower(*args), args


def make_step(upsample, downsample, batch_size, aux_width, aux=True):
  """A no-argument call of the full jitted GAN step, compiled."""
  lowered, args = _lowered_step(upsample, downsample, batch_size, aux_width,
                                aux)
  compiled = lowered.compile()
  return lambda: compiled(*args)[0]


def step_gflop(batch_size, aux_width, aux=True):
  """GFLOP of one step as XLA's cost analysis counts the lax-conv form
  ('transpose'/'strided'): 2 per multiply-add of the convolutions' valid
  taps (no padding taps, no zeros of the transposed conv's dilation) and of
  the dots, 1 per element of the other ops. Every implementation of the
  step computes at least this."""
  lowered, _ = _lowered_step('transpose', 'strided', batch_size, aux_width,
                             aux)
  return lowered.cost_analysis()['flops'] / 1e9


def matmul_gflops(n=2048, repeats=5):
  """GFLOP/s of one jitted [n, n] x [n, n] float32 matmul: the device's
  practical peak, which no step of convolutions, BatchNorm and optimizer
  updates reaches."""
  a = jnp.ones((n, n), jnp.float32)
  return 2 * n ** 3 / best_time(jax.jit(jnp.matmul), (a, a), 1, repeats) / 1e9


def ceilings(batch_size, aux_width):
  """Rows (step, GFLOP, images/s at the matmul peak): the fastest any
  implementation of the step's arithmetic could run on this machine."""
  peak = matmul_gflops()
  rows = []
  for name, aux in (('G + D', False), ('G + D + classifier', True)):
    gflop = step_gflop(batch_size, aux_width, aux)
    rows.append((name, gflop, batch_size * peak / gflop))
  return peak, rows


def step_throughputs(pairs, batch_size, steps, repeats, aux_width):
  """Images/s of each (upsample, downsample) full step, timed round-robin so
  that load changes on a shared machine hit every variant alike."""
  calls = [make_step(up, down, batch_size, aux_width) for up, down in pairs]
  best = [float('inf')] * len(calls)
  for _ in range(repeats):
    for i, call in enumerate(calls):
      best[i] = min(best[i], best_time(call, (), steps, 1))
  return [batch_size / b for b in best]


def main(_):
  print(f'device: {jax.devices()[0].device_kind}, jax {jax.__version__}, '
        f'batch {FLAGS.batch_size}')
  if FLAGS.layers:
    # Milliseconds: a GPU's layer gradients take well under one.
    print(f'{"layer gradient":>34} {"impl":>10} {"ms/step":>9}')
    for layer, impl, seconds in layer_grads(FLAGS.batch_size, FLAGS.steps,
                                            FLAGS.repeats):
      print(f'{layer:>34} {impl:>10} {seconds * 1e3:>9.3f}')
  print(f'{"generator":>10} {"discrim.":>10} {"images/s":>9} {"s/epoch(3000)":>14}')
  pairs = [pair.split('/') for pair in FLAGS.impls]
  for (up, down), ips in zip(pairs, step_throughputs(
      pairs, FLAGS.batch_size, FLAGS.steps, FLAGS.repeats, FLAGS.aux_width)):
    epoch_s = (3000 // FLAGS.batch_size) * FLAGS.batch_size / ips
    print(f'{up:>10} {down:>10} {ips:>9.1f} {epoch_s:>14.1f}')
  if FLAGS.ceiling:
    peak, rows = ceilings(FLAGS.batch_size, FLAGS.aux_width)
    print(f'matmul peak (jitted 2048x2048 float32): {peak:.1f} GFLOP/s')
    print(f'{"step":>20} {"GFLOP":>7} {"images/s at peak":>17}')
    for name, gflop, ips in rows:
      print(f'{name:>20} {gflop:>7.1f} {ips:>17.1f}')


if __name__ == '__main__':
  # Defined here, not on import: bench/jax_twins.py imports make_step and has
  # flags of the same names.
  flags.DEFINE_integer('batch_size', 128, 'Batch size.')
  flags.DEFINE_integer('steps', 3, 'Timed calls per measurement.')
  flags.DEFINE_integer('repeats', 2,
                       'Measurements per setting; the best is kept.')
  flags.DEFINE_bool('layers', True, 'Also time the single-layer gradients.')
  flags.DEFINE_bool('ceiling', False, 'Also print the step\'s arithmetic and '
                    'the images/s it allows at the device\'s matmul peak.')
  flags.DEFINE_float('aux_width', 1.0,
                     'MobileNetV2 width of the aux classifier.')
  flags.DEFINE_list('impls', ['patches/patches', 'phase/strided'],
                    'generator.upsample/discriminator.downsample pairs to time '
                    'in the full step (each costs a compile of minutes on '
                    'CPU).')
  app.run(main)
