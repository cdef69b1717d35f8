"""optax optimizers from a `config.opt` group, with an injectable LR."""

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
import optax

import errors

OPTIMIZERS = {
    'adam': lambda lr, c: optax.adam(lr, b1=c.b1, b2=c.b2, eps=c.eps),
    'adamw': lambda lr, c: optax.adamw(
        lr, b1=c.b1, b2=c.b2, eps=c.eps, weight_decay=c.weight_decay),
    'sgd': lambda lr, c: optax.sgd(lr, momentum=c.momentum or None),
    'rmsprop': lambda lr, c: optax.rmsprop(lr, eps=c.eps, momentum=c.momentum),
}


def make_optimizer(opt):
  """optax chain from an opt group (name, learning_rate, b1, b2, eps, ...).

  The LR is an injected hyper-parameter so that reduce-on-plateau can change
  it between epochs and it is saved in the optimizer state (and so in
  checkpoints).
  """
  if opt.name not in OPTIMIZERS:
    raise errors.ConfigError(f'opt.name={opt.name!r}: unknown; '
                             f'choices: {sorted(OPTIMIZERS)}')

  def build(learning_rate):
    parts = []
    if opt.clip_norm:
      parts.append(optax.clip_by_global_norm(opt.clip_norm))
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
