"""Gradient time of 2x2 max pooling: nn.max_pool vs nets.layers.pool2x2.

python -m bench.bench_pool
The two feature-map shapes of the Problem-4A CNN at batch 32. nn.max_pool's
gradient is XLA's select-and-scatter; pool2x2's is a reduce's broadcast.
"""

import time

from absl import app
import flax.linen as nn
import jax

from nets import layers


def _ms(fn, x, n=200):
  jax.block_until_ready(fn(x))
  t0 = time.perf_counter()
  for _ in range(n):
    out = fn(x)
  jax.block_until_ready(out)
  return (time.perf_counter() - t0) / n * 1e3


def main(_):
  print(f'device: {jax.devices()[0].device_kind}')
  pools = {'nn.max_pool': lambda x: nn.max_pool(x, (2, 2), strides=(2, 2)),
           'layers.pool2x2': layers.pool2x2}
  for shape in ((32, 26, 26, 32), (32, 11, 11, 64)):
    x = jax.random.normal(jax.random.PRNGKey(0), shape)
    for name, pool in pools.items():
      fwd = jax.jit(pool)
      grad = jax.jit(jax.grad(lambda x, pool=pool: (pool(x) ** 2).sum()))
      print(f'{str(shape):>18} {name:>15}: forward {_ms(fwd, x):.3f} ms, '
            f'gradient {_ms(grad, x):.3f} ms')


if __name__ == '__main__':
  app.run(main)
