"""The one supervised trainer: pure jitted steps over one TrainState pytree.

`fit` runs a Python loop of jitted steps over on-device arrays (on the 2-core
CPU this beat `lax.scan` over an epoch, see docs/benchmarks.md), checkpoints
every epoch, resumes from the workdir, and handles early stopping,
reduce-LR-on-plateau or a cosine learning-rate schedule, and non-finite
losses.
"""

import functools
import math

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import numpy as np

import errors
from nets import defaults as defaults_lib
from train import console
from train import evaluator as evaluator_lib
from train import loop as loop_lib
from train import losses
from train import optim
from train import sharding
from train import state as state_lib


LR_SCHEDULES = ('constant', 'cosine')


def check_schedule(tc, where='train'):
  """Refuses a bad schedule in the train group `tc` (at `where`) in one line."""
  if tc.batch_size < 1 or tc.epochs < 0:
    raise errors.ConfigError(
        f'{where}.batch_size={tc.batch_size}, {where}.epochs={tc.epochs}: '
        'need batch_size >= 1 and epochs >= 0')
  if tc.lr_schedule not in LR_SCHEDULES:
    raise errors.ConfigError(f'{where}.lr_schedule={tc.lr_schedule!r}: '
                             f'unknown; choices: {list(LR_SCHEDULES)}')
  if tc.lr_schedule != 'constant' and tc.plateau_factor:
    raise errors.ConfigError(
        f'{where}.lr_schedule={tc.lr_schedule!r}: sets the learning rate every '
        f'epoch, so reduce-on-plateau would be overwritten; set '
        f'{where}.plateau_factor=0')


def place_train_data(tc, splits):
  """Checks the schedule; (mesh, batch size, x_train, y_train) on the mesh."""
  check_schedule(tc)
  mesh = sharding.data_mesh()
  bs = min(tc.batch_size, len(splits.x_train))
  sharding.check_divisible('train.batch_size', bs, mesh)
  return (mesh, bs, sharding.put(splits.x_train, mesh),
          sharding.put(splits.y_train, mesh))


def epoch_lr(base_lr, epoch, epochs):
  """train.lr_schedule='cosine': the rate of epoch `epoch` (0-based), half a
  cosine from base_lr towards 0 over `epochs`, one value per epoch. A
  function of the epoch index alone, so a resumed run sets the rates an
  uninterrupted one did."""
  return base_lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))


def train_step(state, sums, x_all, y_all, idx_B, mask_B=None, *, loss_fn,
               l2=0.0, l2_pattern='kernel', label_smoothing=0.0,
               report_l2=False, augment_fn=None):
  """One optimizer step on x_all[idx_B]; adds the batch's sums to `sums`.

  The gather happens inside the jitted step so the data never leaves the
  device. `mask_B` (1 real, 0 padding) lets the last partial batch be padded
  to the full batch size, so one compiled shape serves every step and the
  batch always splits evenly over devices. Dropout/noise keys are folded from
  the state's key and step, so a resumed run draws the same keys as an
  uninterrupted one. report_l2: the summed loss includes the L2 term (as
  Keras reports it), not only the data loss. augment_fn(rng, x, y) -> (x,
  targets), if given, transforms the batch on device first (targets may be
  soft labels, which the loss must take: softmax_xent does).
  """
  x, y = x_all[idx_B], y_all[idx_B]
  mask_B = jnp.ones(idx_B.shape, jnp.float32) if mask_B is None else mask_B
  step_rng = jax.random.fold_in(state.rng, state.step)
  if augment_fn is not None:
    # A key of its own, split off only here so that runs without
    # augmentation keep the dropout and noise keys they always drew.
    step_rng, augment_rng = jax.random.split(step_rng)
    x, y = augment_fn(augment_rng, x, y)
  dropout_rng, noise_rng = jax.random.split(step_rng)

  def objective(params):
    out, updates = state.apply_fn(
        state.variables(params), x, train=True, mutable=['batch_stats'],
        rngs={'dropout': dropout_rng, 'noise': noise_rng})
    loss_B, extra = loss_fn(out, y, label_smoothing)
    total = jnp.sum(loss_B * mask_B) / jnp.maximum(jnp.sum(mask_B), 1.0)
    penalty = l2 * losses.l2_penalty(params, l2_pattern) if l2 else 0.0
    return total + penalty, (loss_B, penalty, extra, updates)

  grads, (loss_B, penalty, extra, updates) = jax.grad(
      objective, has_aux=True)(state.params)
  state = state.apply_gradients(
      grads=grads, batch_stats=updates.get('batch_stats', state.batch_stats))
  if report_l2:
    loss_B = loss_B + penalty
  batch = evaluator_lib.batch_sums(loss_B, extra, mask_B)
  return state, jax.tree.map(jnp.add, sums, batch)


class Monitor:
  """Tracks the best value of one metric and epochs since it improved."""

  def __init__(self, name, min_delta, best=None, wait=0):
    self.name, self.min_delta = name, min_delta
    self.sign = 1.0 if 'acc' in name else -1.0  # maximise accuracies
    self.best, self.wait = best, wait

  def update(self, value):
    improved = self.best is None or (
        self.sign * (value - self.best) > self.min_delta)
    if improved:
      self.best, self.wait = value, 0
    else:
      self.wait += 1
    return improved

  def state(self):
    return {'best': self.best, 'wait': self.wait}


def fit(config, workdir, model, splits, augment_fn=None):
  """Trains `model` on `splits` per config.train/opt; returns (state, run).

  Resumes from the newest readable checkpoint in `workdir` if there is one,
  after refusing a workdir that holds a run of another config or other data
  (splits.info['signature']); writes config.json and data.json. With
  train.restore_best the returned state is the best epoch's by
  train.monitor, otherwise the last epoch's. With config.replicas > 1 the
  state carries a leading replica axis and the history rows hold the mean
  over replicas plus `<metric>_per_seed` lists; early stopping and plateau
  then follow the mean. The batch is sharded over every device (data
  parallel, parameters replicated); the global batch size stays
  train.batch_size. augment_fn: the on-device batch transform of train_step
  (training batches only), or None.
  """
  tc = config.train
  loss_fn = losses.get_loss(tc.loss)
  mesh, bs, x_train, y_train = place_train_data(tc, splits)
  n = len(splits.x_train)
  x_val, y_val = sharding.put(splits.x_val, mesh), sharding.put(splits.y_val, mesh)

  replicas = len(state_lib.replica_seeds(config))
  replicated = replicas > 1
  state, shuffle_rng = state_lib.init_state(config, model, splits.x_train[:1])
  console.header(f'{config.experiment} {config.model.name}', workdir, splits,
                 state_lib.count_params(state, replicas), replicas)
  state = jax.tree.map(lambda a: sharding.put(a, mesh), state)
  one = jax.tree.map(lambda a: a[0], state) if replicated else state
  zero = evaluator_lib.zero_sums(one, loss_fn, x_train, y_train,
                                 state.step.shape)
  loop = loop_lib.EpochLoop(workdir, state, config, config.model.to_dict(),
                            config_lr=config.opt.learning_rate,
                            signature=(splits.info or {}).get('signature'),
                            desc=config.model.name)
  state = loop.state
  stopper = Monitor(tc.monitor, tc.min_delta, **(loop.meta.get('monitor') or {}))
  plateau = Monitor(tc.monitor, tc.min_delta, **(loop.meta.get('plateau') or {}))

  step = jax.jit(sharding.maybe_vmap(functools.partial(
      train_step, loss_fn=loss_fn, l2=tc.l2, l2_pattern=tc.l2_pattern,
      label_smoothing=tc.label_smoothing,
      report_l2=defaults_lib.get(config.defaults).l2_in_reported_loss,
      augment_fn=augment_fn),
      replicated, (0, 0, None, None, 0, None)), donate_argnums=(0, 1))
  evaluate = evaluator_lib.Evaluator(loss_fn, config.eval.batch_size,
                                     replicated, mesh,
                                     **evaluator_lib.reported_l2(config))
  permute = jax.jit(sharding.maybe_vmap(
      lambda key, epoch: jax.random.permutation(
          jax.random.fold_in(key, epoch), n), replicated, (0, None)))
  batch_spec = sharding.batch_spec(replicated)
  stopped = bool(tc.patience) and stopper.wait >= tc.patience
  compile_s = 0.0
  if loop.epoch < tc.epochs and not stopped:
    # A finished run that is resumed compiles nothing.
    idx0, mask0 = next(sharding.epoch_batches(
        np.zeros(state.step.shape + (n,), np.int32), bs))
    step, compile_s = loop_lib.compile_ahead(
        step, state, zero, x_train, y_train,
        sharding.put(idx0, mesh, batch_spec),
        sharding.put(mask0, mesh, P('data')))
    evaluate(state, splits.x_val[:1], splits.y_val[:1])
  while loop.epoch < tc.epochs and not stopped:
    loop.start_epoch()
    if tc.lr_schedule == 'cosine':
      state = optim.set_lr(state, epoch_lr(config.opt.learning_rate,
                                           loop.epoch, tc.epochs))
    perm = np.asarray(permute(shuffle_rng, loop.epoch), np.int32)
    sums = jax.tree.map(jnp.copy, zero)
    for idx, mask in loop.steps(sharding.epoch_batches(perm, bs),
                                -(-n // bs)):
      state, sums = step(state, sums, x_train, y_train,
                         sharding.put(idx, mesh, batch_spec),
                         sharding.put(mask, mesh, P('data')))
    row = {'epoch': loop.epoch + 1,
           **evaluator_lib.summarize(evaluator_lib.means(sums, 'train_')),
           **evaluator_lib.summarize(evaluate(state, x_val, y_val, 'val_')),
           'lr': optim.get_lr(state)}
    value = row[tc.monitor]
    improved = stopper.update(value)
    stopped = bool(tc.patience) and stopper.wait >= tc.patience
    if tc.plateau_factor and not plateau.update(value) and (
        plateau.wait >= tc.plateau_patience):
      state = optim.set_lr(state, max(optim.get_lr(state) * tc.plateau_factor,
                                      tc.plateau_min_lr))
      plateau.wait = 0
    loop.end_epoch(state, row, best=improved, monitor=stopper.state(),
                   plateau=plateau.state())
  if tc.restore_best:
    state = loop.restore_best(state)
  return state, loop.close(compile_s)
