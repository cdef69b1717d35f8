"""Timing shared by the bench scripts."""

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

import nets
from train import evaluator
from train import losses
from train import optim
from train import state as state_lib
from train import trainer


def train_step_images_per_s(config, input_shape, batch_size, steps, repeats,
                            n=5000):
  """Images/s of config.model's jitted train_step (best of `repeats`).

  Random inputs of `input_shape` per image; `steps` steps called from a
  Python loop on on-device data, the way train.trainer.fit calls them.
  """
  model = nets.get_model(config.model, config.defaults)
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.random((n, *input_shape), np.float32))
  y = jnp.asarray(rng.integers(0, 10, n).astype(np.int32))
  state = state_lib.create_train_state(
      model, optim.make_optimizer(config.opt, config.defaults),
      jax.random.PRNGKey(0), x[:1])
  sums = evaluator.zero_sums(state, losses.softmax_xent, x, y)
  step = jax.jit(functools.partial(
      trainer.train_step, loss_fn=losses.softmax_xent, l2=config.train.l2,
      l2_pattern=config.train.l2_pattern), donate_argnums=(0, 1))
  idx = [rng.permutation(n)[:batch_size].astype(np.int32)
         for _ in range(steps)]
  state, sums = step(state, sums, x, y, idx[0])
  best = float('inf')
  for _ in range(repeats):
    jax.block_until_ready(state)
    t0 = time.perf_counter()
    for i in idx:
      state, sums = step(state, sums, x, y, i)
    jax.block_until_ready(state)
    best = min(best, time.perf_counter() - t0)
  return steps * batch_size / best
