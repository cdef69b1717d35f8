"""The TrainState pytree, its initialisation and vmapped replicas."""

import functools
from typing import Any

from flax.training import train_state
import jax
import jax.numpy as jnp

import errors
from train import optim


class TrainState(train_state.TrainState):
  """params, opt_state and step (from Flax), BatchNorm stats, the base key."""
  batch_stats: Any = None
  rng: jax.Array = None

  def variables(self, params=None):
    """The Flax variables dict, with `params` in place of self.params if given."""
    return {'params': self.params if params is None else params,
            'batch_stats': self.batch_stats}


def create_train_state(model, tx, rng, sample_x):
  """Initialises params/batch stats from `sample_x` (a batch) and `rng`."""
  init_rng, state_rng = jax.random.split(rng)
  variables = jax.jit(functools.partial(model.init, train=False))(
      init_rng, sample_x)
  state = TrainState.create(
      apply_fn=model.apply, params=variables['params'], tx=tx,
      batch_stats=variables.get('batch_stats', {}), rng=state_rng)
  # A jnp step (not Python's 0) restores against an abstract target.
  return state.replace(step=jnp.zeros((), jnp.int32))


def replica_seeds(config):
  """The seeds of the vmapped replicas: config.seed .. + config.replicas - 1."""
  n = config.get('replicas', 1)
  if n < 1:
    raise errors.ConfigError(f'replicas={n}: must be >= 1')
  return [config.seed + i for i in range(n)]


def init_state(config, model, sample_x):
  """(state, shuffle_rng) from config.seed, or stacked over replica_seeds.

  With config.replicas > 1 every leaf gets a leading replica axis:
  independent models (init, dropout and shuffle keys of their own seed) that
  train_step and eval_step, vmapped, run as one computation.
  """
  tx = optim.make_optimizer(config.opt, config.defaults)

  def init(seed):
    init_rng, shuffle_rng = jax.random.split(jax.random.PRNGKey(seed))
    return create_train_state(model, tx, init_rng, sample_x), shuffle_rng
  seeds = replica_seeds(config)
  if len(seeds) == 1:
    return init(seeds[0])
  states = [init(s) for s in seeds]
  return jax.tree.map(lambda *xs: jnp.stack(xs), *states)


def count_params(state, replicas=1):
  return int(sum(x.size for x in jax.tree.leaves(state.params))) // replicas
