"""Data parallelism: a 1-D device mesh, global arrays, padded epoch batches."""

import math

import jax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import numpy as np

import errors


def data_mesh():
  """A 1-D mesh over every device (all hosts): the batch axis 'data'."""
  return jax.sharding.Mesh(np.asarray(jax.devices()), ('data',))


def put(array, mesh, spec=P()):
  """A global array from host data every process holds in full.

  Works the same on one CPU, several GPUs and several hosts (each process
  reads the whole, small dataset and keeps its own shards of it).
  """
  array = np.asarray(array)
  sharding = NamedSharding(mesh, spec)
  return jax.make_array_from_callback(array.shape, sharding,
                                      lambda index: array[index])


def batch_spec(replicated):
  """Index arrays are [B], or [R, B] with a leading replica axis."""
  return P(None, 'data') if replicated else P('data')


def check_divisible(field, batch_size, mesh):
  if batch_size % mesh.size:
    raise errors.ConfigError(
        f'{field}={batch_size}: not divisible by the {mesh.size} devices the '
        'batch is sharded over')


def maybe_vmap(fn, replicated, in_axes):
  return jax.vmap(fn, in_axes=in_axes) if replicated else fn


def epoch_batches(perm_RxN, batch_size):
  """(idx [..., B], mask [B]) per step of one epoch; the last batch padded to
  full size with wrapped-around indices (masked out of loss and metrics).

  perm_RxN is [N], or [R, N] with one permutation per replica.
  """
  n = perm_RxN.shape[-1]
  steps = math.ceil(n / batch_size)
  pad = steps * batch_size - n
  idx = np.concatenate([perm_RxN, perm_RxN[..., :pad]], axis=-1)
  mask = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)])
  for i in range(steps):
    s = slice(i * batch_size, (i + 1) * batch_size)
    yield idx[..., s], mask[s]
