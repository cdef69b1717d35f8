"""Small layers shared by the nets."""

import jax.numpy as jnp


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
