"""optax optimizers from a `config.opt` group, with an injectable LR."""

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
