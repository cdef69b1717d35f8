"""optax optimizers from a `config.opt` group, with an injectable LR."""

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
import optax

import errors
from nets import defaults as defaults_lib

OPTIMIZERS = {
    'adam': lambda lr, c: optax.adam(lr, b1=c.b1, b2=c.b2, eps=c.eps),
    'adamw': lambda lr, c: optax.adamw(
        lr, b1=c.b1, b2=c.b2, eps=c.eps, weight_decay=c.weight_decay),
    'sgd': lambda lr, c: optax.sgd(lr, momentum=c.momentum or None),
    'rmsprop': lambda lr, c: optax.rmsprop(lr, eps=c.eps, momentum=c.momentum),
}


def clip_by_variable_norm(max_norm):
  """Keras' `clipnorm`: each gradient leaf scaled to norm <= max_norm alone."""
  def clip(updates, _):
    norms = jax.tree.map(lambda g: jnp.sqrt(jnp.sum(jnp.square(g))), updates)
    # A non-finite gradient anywhere turns every leaf NaN, as a global norm
    # does, so that the non-finite loss guard stops the run: confined to one
    # leaf, a NaN conv kernel went on behind a finite jitted loss on XLA:CPU
    # (tests/experiments/test_spectrogram.py's inf input).
    finite = jnp.all(jnp.isfinite(jnp.stack(jax.tree.leaves(norms))))
    # max(norm, max_norm) leaves small leaves (and all-zero ones) unscaled.
    return jax.tree.map(
        lambda g, n: g * jnp.where(finite, max_norm / jnp.maximum(n, max_norm),
                                   jnp.nan), updates, norms)
  return optax.stateless(clip)


def make_optimizer(opt, defaults):
  """optax chain from an opt group (name, learning_rate, b1, b2, eps, ...).

  defaults (config.defaults) picks what opt.clip_norm means: per variable as
  Keras' clipnorm ('keras'), or the global norm ('flax'). The LR is an
  injected hyper-parameter so that reduce-on-plateau can change it between
  epochs and it is saved in the optimizer state (and so in checkpoints).
  """
  if opt.name not in OPTIMIZERS:
    raise errors.ConfigError(f'opt.name={opt.name!r}: unknown; '
                             f'choices: {sorted(OPTIMIZERS)}')
  per_variable = defaults_lib.get(defaults).clip_per_variable

  def build(learning_rate):
    parts = []
    if opt.clip_norm:
      parts.append(clip_by_variable_norm(opt.clip_norm) if per_variable
                   else optax.clip_by_global_norm(opt.clip_norm))
    parts.append(OPTIMIZERS[opt.name](learning_rate, opt))
    return optax.chain(*parts)
  return optax.inject_hyperparams(build)(learning_rate=opt.learning_rate)


def get_lr(state):
  """The current learning rate (the mean over replicas of a replicated state)."""
  return float(np.mean(jax.device_get(
      state.opt_state.hyperparams['learning_rate'])))


def set_lr(state, lr):
  hp = dict(state.opt_state.hyperparams)
  old = hp['learning_rate']
  hp['learning_rate'] = jax.device_put(jnp.full_like(old, lr), old.sharding)
  return state.replace(opt_state=state.opt_state._replace(hyperparams=hp))


def follow_config_lr(state, saved_lr, config_lr):
  """The state a resumed run goes on with, for its learning rate.

  saved_lr: the config's learning rate when the checkpoint was saved. If the
  config's rate has changed since (a run forced with another
  opt.learning_rate), the new rate applies; otherwise the state keeps its
  own, which reduce-on-plateau may have lowered. Both may be dicts by
  network name for a dict of TrainStates (the GAN). Checkpoints without a
  saved_lr (older ones) keep theirs.
  """
  if saved_lr is None or saved_lr == config_lr:
    return state
  logging.warning('opt.learning_rate changed since the checkpoint: %s -> %s; '
                  'training on with the new rate', saved_lr, config_lr)
  if isinstance(config_lr, dict):
    return {k: set_lr(s, config_lr[k])
            if k in config_lr and saved_lr.get(k) != config_lr[k] else s
            for k, s in state.items()}
  return set_lr(state, config_lr)
