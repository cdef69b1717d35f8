"""Conditional DCGAN with an auxiliary classifier: three TrainStates, one jitted step.

Per batch: a discriminator step, a generator step (non-saturating BCE plus
aux_weight * cross-entropy of the classifier on its samples) and, with
aux.keep_training, a classifier step on the real batch. `fit_gan` runs the
engine's epoch skeleton over that step; the caller supplies the classifier's
starting state (pre-trained or restored) and what to do after each epoch.
Checkpoints hold all three states; a killed run resumes with the same keys.
"""

import functools
import json

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import numpy as np
import optax

import errors
import nets
from train import console
from train import evaluator as evaluator_lib
from train import loop as loop_lib
from train import losses
from train import optim
from train import sharding
from train import state as state_lib
from train import trainer

NETWORKS = ('generator', 'discriminator', 'aux')
_GAN_METRICS = ('d_loss', 'g_loss', 'g_adv', 'g_aux_ce', 'g_aux_accuracy',
                'd_real', 'd_fake', 'count')


def model_configs(config):
  """The three model configs as checkpoints store them (JSON: tuples -> lists)."""
  return json.loads(json.dumps({
      'generator': config.generator.to_dict(),
      'discriminator': config.discriminator.to_dict(),
      'aux': config.aux.model.to_dict()}))


def create_states(config, rng):
  """Freshly initialised {generator, discriminator, aux} TrainStates."""
  g_rng, d_rng, a_rng = jax.random.split(rng, 3)
  z = jnp.zeros((1, config.train.z_dim), jnp.float32)
  y = jnp.zeros((1,), jnp.int32)
  x = jnp.zeros((1, 28, 28, 1), jnp.float32)
  defaults = config.defaults
  return {
      'generator': state_lib.create_train_state(
          nets.get_model(config.generator, defaults),
          optim.make_optimizer(config.opt, defaults), g_rng, (z, y)),
      'discriminator': state_lib.create_train_state(
          nets.get_model(config.discriminator, defaults),
          optim.make_optimizer(config.opt, defaults), d_rng, (x, y)),
      'aux': state_lib.create_train_state(
          nets.get_model(config.aux.model, defaults),
          optim.make_optimizer(config.aux.opt, defaults), a_rng, x),
  }


def _bce(logits, target):
  return jnp.mean(optax.sigmoid_binary_cross_entropy(
      logits, jnp.full_like(logits, target)))


def generator_objective(images, labels, d_state, aux_state, rng, aux_weight):
  """Non-saturating GAN loss + aux_weight * CE of the classifier (eval mode)."""
  logits = d_state.apply_fn({'params': d_state.params}, (images, labels),
                            train=True, rngs={'dropout': rng})
  adv = _bce(logits, 1.0)
  aux_logits = aux_state.apply_fn(aux_state.variables(), images, train=False)
  ce, extra = losses.softmax_xent(aux_logits, labels)
  return adv + aux_weight * jnp.mean(ce), {
      'g_adv': adv, 'g_aux_ce': jnp.mean(ce),
      'g_aux_accuracy': jnp.mean(extra['accuracy'])}


def train_step(states, sums, x_all, y_all, idx_B, *, z_dim, num_classes,
               aux_weight, keep_training_aux):
  """A D step, a G step and (optionally) a classifier step on x_all[idx_B].

  The generator runs forward once: the D step uses its samples (G's params
  do not change in between, so the G step would recompute the same images)
  and the G step pulls the updated D's gradient back through the saved vjp.
  Keys come from fold_in(generator key, step) as in trainer.train_step.
  """
  g, d, a = (states[k] for k in NETWORKS)
  x, y = x_all[idx_B], y_all[idx_B]
  b = idx_B.shape[0]
  z_rng, y_rng, g_rng, d_rng, dg_rng = jax.random.split(
      jax.random.fold_in(g.rng, g.step), 5)
  z = jax.random.normal(z_rng, (b, z_dim))
  y_fake = jax.random.randint(y_rng, (b,), 0, num_classes)

  def generate(params):
    return g.apply_fn(g.variables(params), (z, y_fake), train=True,
                      mutable=['batch_stats'], rngs={'dropout': g_rng})
  fake, g_vjp, g_updates = jax.vjp(generate, g.params, has_aux=True)

  def d_objective(params):
    # Real and fake in one batch: one conv pass instead of two.
    logits = d.apply_fn({'params': params}, (jnp.concatenate([x, fake]),
                                             jnp.concatenate([y, y_fake])),
                        train=True, rngs={'dropout': d_rng})
    return _bce(logits[:b], 1.0) + _bce(logits[b:], 0.0), logits
  (d_loss, d_logits), d_grads = jax.value_and_grad(d_objective, has_aux=True)(
      d.params)
  d = d.apply_gradients(grads=d_grads)

  (g_loss, g_metrics), image_grads = jax.value_and_grad(
      generator_objective, has_aux=True)(fake, y_fake, d, a, dg_rng, aux_weight)
  g = g.apply_gradients(grads=g_vjp(image_grads)[0],
                        batch_stats=g_updates['batch_stats'])

  batch = {'d_loss': d_loss, 'g_loss': g_loss, **g_metrics,
           'd_real': jnp.mean(jax.nn.sigmoid(d_logits[:b])),
           'd_fake': jnp.mean(jax.nn.sigmoid(d_logits[b:])), 'count': 1.0}
  new_sums = {'gan': jax.tree.map(jnp.add, sums['gan'], batch), 'aux': sums['aux']}
  if keep_training_aux:
    a, new_sums['aux'] = trainer.train_step(a, sums['aux'], x_all, y_all, idx_B,
                                            loss_fn=losses.softmax_xent)
  return {'generator': g, 'discriminator': d, 'aux': a}, new_sums


def zero_sums(states, x, y):
  """The accumulators `train_step` adds into."""
  return {'gan': {k: jnp.zeros((), jnp.float32) for k in _GAN_METRICS},
          'aux': evaluator_lib.zero_sums(states['aux'], losses.softmax_xent,
                                         x, y)}


def _means(sums):
  host = jax.device_get(sums)
  row = {k: float(v) / max(float(host['gan']['count']), 1.0)
         for k, v in host['gan'].items() if k != 'count'}
  if host['aux']['count']:
    row.update({f'aux_{k}': float(v) / float(host['aux']['count'])
                for k, v in host['aux'].items() if k != 'count'})
  return row


def sample(state, z, labels, batch_stats=False):
  """Generator images for (z, labels) in eval mode: running BN averages, or the
  batch's own statistics with batch_stats=True (dropout off either way)."""
  if batch_stats:
    return state.apply_fn(state.variables(), (z, labels), batch_stats=True,
                          mutable=['batch_stats'])[0]
  return state.apply_fn(state.variables(), (z, labels))


def check_schedule(tc, where='train'):
  """trainer.check_schedule, and the GAN's rates stay constant."""
  trainer.check_schedule(tc, where)
  if tc.lr_schedule != 'constant':
    raise errors.ConfigError(f"{where}.lr_schedule={tc.lr_schedule!r}: the "
                             "GAN trains at constant rates; use 'constant'")


def fit_gan(config, workdir, splits, init_aux, on_epoch=None):
  """Trains the GAN per config.train; returns (states, run) like trainer.fit.

  init_aux(template aux state) gives the classifier's starting state of a
  fresh run (a resumed run restores it); on_epoch(loop, states) runs after
  each epoch's checkpoint (sample grids).
  """
  tc = config.train
  check_schedule(tc)
  mesh, bs, x_train, y_train = trainer.place_train_data(tc, splits)
  n = len(splits.x_train)
  init_rng, shuffle_rng = jax.random.split(jax.random.PRNGKey(config.seed))
  loop = loop_lib.EpochLoop(
      workdir, create_states(config, init_rng), config, model_configs(config),
      config_lr={'generator': config.opt.learning_rate,
                 'discriminator': config.opt.learning_rate,
                 'aux': config.aux.opt.learning_rate},
      signature=(splits.info or {}).get('signature'), desc='gan',
      postfix=('d_loss', 'g_loss', 'd_real', 'd_fake'))
  states = loop.state
  if not loop.resumed:
    states = {**states, 'aux': init_aux(states['aux'])}
  console.header('gan', workdir, splits,
                 {k: state_lib.count_params(states[k]) for k in NETWORKS})
  states = jax.tree.map(lambda a: sharding.put(a, mesh), states)

  step = jax.jit(functools.partial(
      train_step, z_dim=tc.z_dim, num_classes=splits.num_classes,
      aux_weight=tc.aux_weight, keep_training_aux=config.aux.keep_training),
                 donate_argnums=(0, 1))
  zero = zero_sums(states, x_train, y_train)
  # One batch shape: the remainder n % bs is dropped, a different one each
  # epoch, so one compiled step serves every batch.
  step, compile_s = loop_lib.compile_ahead(
      step, states, zero, x_train, y_train,
      sharding.put(np.zeros(bs, np.int32), mesh, P('data')))
  while loop.epoch < tc.epochs:
    loop.start_epoch()
    perm = np.asarray(jax.random.permutation(
        jax.random.fold_in(shuffle_rng, loop.epoch), n)).astype(np.int32)
    sums = jax.tree.map(jnp.copy, zero)
    for i in loop.steps(range(0, n - bs + 1, bs), n // bs):
      states, sums = step(states, sums, x_train, y_train,
                          sharding.put(perm[i:i + bs], mesh, P('data')))
    loop.end_epoch(states, {'epoch': loop.epoch + 1, **_means(sums)})
    if on_epoch:
      on_epoch(loop, states)
  return states, loop.close(compile_s)
