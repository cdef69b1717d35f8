"""The one supervised trainer: pure jitted steps over one TrainState pytree.

`fit` runs a Python loop of jitted steps over on-device arrays (on the 2-core
CPU this beat `lax.scan` over an epoch, see docs/benchmarks.md), checkpoints
every epoch, resumes from the workdir, and handles early stopping,
reduce-LR-on-plateau and non-finite losses. Other experiments call `fit` (or
reuse `create_train_state`, `make_optimizer`, `train_step`) rather than
writing their own loop.
"""

import functools
import math
import re
import time
from typing import Any

from absl import logging
from flax.training import train_state
import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import numpy as np
import optax
import tqdm

import errors
from train import checkpoint
from train import metrics as metrics_lib


class TrainState(train_state.TrainState):
  """params, opt_state and step (from Flax), BatchNorm stats, the base key."""
  batch_stats: Any = None
  rng: jax.Array = None


# Per-example losses: (outputs, targets) -> (loss [B], extra metrics {name: [B]}).
def softmax_xent(logits, labels, label_smoothing=0.0):
  onehot = jax.nn.one_hot(labels, logits.shape[-1])
  if label_smoothing:
    onehot = optax.smooth_labels(onehot, label_smoothing)
  loss = optax.softmax_cross_entropy(logits.astype(jnp.float32), onehot)
  return loss, {'accuracy': (jnp.argmax(logits, -1) == labels).astype(jnp.float32)}


def mse(outputs, targets, label_smoothing=0.0):
  del label_smoothing
  err = (outputs.astype(jnp.float32) - targets).reshape(outputs.shape[0], -1)
  return jnp.mean(err ** 2, axis=-1), {}


LOSSES = {'softmax_xent': softmax_xent, 'mse': mse}

_OPTIMIZERS = {
    'adam': lambda lr, c: optax.adam(lr, b1=c.b1, b2=c.b2, eps=c.eps),
    'adamw': lambda lr, c: optax.adamw(
        lr, b1=c.b1, b2=c.b2, eps=c.eps, weight_decay=c.weight_decay),
    'sgd': lambda lr, c: optax.sgd(lr, momentum=c.momentum or None),
    'rmsprop': lambda lr, c: optax.rmsprop(lr, eps=c.eps, momentum=c.momentum),
}


def make_optimizer(cfg):
  """optax chain from config.train; the LR is an injected hyper-parameter
  so that reduce-on-plateau can change it between epochs and it is saved in
  the optimizer state (and so in checkpoints)."""
  if cfg.optimizer not in _OPTIMIZERS:
    raise errors.ConfigError(f'train.optimizer={cfg.optimizer!r}: unknown; '
                             f'choices: {sorted(_OPTIMIZERS)}')

  def build(learning_rate):
    parts = []
    if cfg.grad_clip_norm:
      parts.append(optax.clip_by_global_norm(cfg.grad_clip_norm))
    parts.append(_OPTIMIZERS[cfg.optimizer](learning_rate, cfg))
    return optax.chain(*parts)
  return optax.inject_hyperparams(build)(learning_rate=cfg.learning_rate)


def get_lr(state):
  """The current learning rate (the mean over seeds for a replicated state)."""
  return float(np.mean(jax.device_get(
      state.opt_state.hyperparams['learning_rate'])))


def set_lr(state, lr):
  hp = dict(state.opt_state.hyperparams)
  old = hp['learning_rate']
  hp['learning_rate'] = jax.device_put(jnp.full_like(old, lr), old.sharding)
  return state.replace(opt_state=state.opt_state._replace(hyperparams=hp))


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


def seed_list(config):
  """The seeds a run trains: config.seed, config.seed+1, ... (config.seeds)."""
  n = config.get('seeds', 1)
  if n < 1:
    raise errors.ConfigError(f'seeds={n}: must be >= 1')
  return [config.seed + i for i in range(n)]


def init_state(config, model, sample_x):
  """(state, shuffle_rng) from config.seed, or stacked over seed_list(config).

  With config.seeds > 1 every leaf gets a leading replica axis: independent
  models (init, dropout and shuffle keys of their own seed) that train_step
  and eval_step, vmapped, run as one computation.
  """
  tx = make_optimizer(config.train)

  def init(seed):
    init_rng, shuffle_rng = jax.random.split(jax.random.PRNGKey(seed))
    return create_train_state(model, tx, init_rng, sample_x), shuffle_rng
  seeds = seed_list(config)
  if len(seeds) == 1:
    return init(seeds[0])
  states = [init(s) for s in seeds]
  return jax.tree.map(lambda *xs: jnp.stack(xs), *states)


def l2_penalty(params, pattern):
  """sum of squared weights whose '/'-joined path matches `pattern`."""
  total = 0.0
  for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
    name = '/'.join(str(getattr(k, 'key', k)) for k in path)
    if re.search(pattern, name):
      total += jnp.sum(jnp.square(leaf.astype(jnp.float32)))
  return total


def _variables(state, params):
  return {'params': params, 'batch_stats': state.batch_stats}


def _sums(loss, extra, mask):
  sums = {'loss': jnp.sum(loss * mask), 'count': jnp.sum(mask)}
  sums.update({k: jnp.sum(v * mask) for k, v in extra.items()})
  return sums


def train_step(state, sums, x_all, y_all, idx, mask=None, *, loss_fn, l2=0.0,
               l2_pattern='kernel', label_smoothing=0.0):
  """One optimizer step on x_all[idx]; adds the batch's sums to `sums`.

  The gather happens inside the jitted step so the data never leaves the
  device. `mask` (1 real, 0 padding) lets the last partial batch be padded to
  the full batch size, so one compiled shape serves every step and the batch
  always splits evenly over devices. Dropout/noise keys are folded from the
  state's key and step, so a resumed run draws the same keys as an
  uninterrupted one.
  """
  x, y = x_all[idx], y_all[idx]
  mask = jnp.ones(idx.shape, jnp.float32) if mask is None else mask
  step_rng = jax.random.fold_in(state.rng, state.step)
  dropout_rng, noise_rng = jax.random.split(step_rng)

  def objective(params):
    out, updates = state.apply_fn(
        _variables(state, params), x, train=True, mutable=['batch_stats'],
        rngs={'dropout': dropout_rng, 'noise': noise_rng})
    loss, extra = loss_fn(out, y, label_smoothing)
    total = jnp.sum(loss * mask) / jnp.maximum(jnp.sum(mask), 1.0)
    if l2:
      total += l2 * l2_penalty(params, l2_pattern)
    return total, (loss, extra, updates)

  grads, (loss, extra, updates) = jax.grad(objective, has_aux=True)(state.params)
  state = state.apply_gradients(
      grads=grads, batch_stats=updates.get('batch_stats', state.batch_stats))
  batch = _sums(loss, extra, mask)
  return state, jax.tree.map(jnp.add, sums, batch)


def eval_step(state, sums, x_all, y_all, idx, mask, *, loss_fn):
  """Adds the masked sums of x_all[idx] (eval mode) to `sums`."""
  out = state.apply_fn(_variables(state, state.params), x_all[idx], train=False)
  loss, extra = loss_fn(out, y_all[idx])
  return jax.tree.map(jnp.add, sums, _sums(loss, extra, mask))


def zero_sums(state, loss_fn, x, y):
  """The accumulator pytree that `train_step`/`eval_step` add into."""
  _, extra = jax.eval_shape(lambda: loss_fn(state.apply_fn(
      _variables(state, state.params), x[:1], train=False), y[:1]))
  return {k: jnp.zeros((), jnp.float32) for k in ['loss', 'count', *extra]}


def _means(sums, prefix):
  """Per-example means on the host: floats, or lists over seeds."""
  host = jax.device_get(sums)
  n = np.maximum(np.asarray(host['count'], np.float64), 1.0)
  return {f'{prefix}{k}': (np.asarray(v) / n).tolist()
          for k, v in host.items() if k != 'count'}


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


def _batch_spec(replicated):
  return P(None, 'data') if replicated else P('data')


def _check_divisible(field, batch_size, mesh):
  if batch_size % mesh.size:
    raise errors.ConfigError(
        f'{field}={batch_size}: not divisible by the {mesh.size} devices the '
        'batch is sharded over')


def _maybe_vmap(fn, replicated, in_axes):
  return jax.vmap(fn, in_axes=in_axes) if replicated else fn


class Evaluator:
  """Jitted masked evaluation over all of (x, y), last partial batch kept.

  With `replicated`, the state has a leading seed axis and every seed is
  evaluated on the same batches in one vmapped step.
  """

  def __init__(self, loss_fn, batch_size, replicated=False, mesh=None):
    self.loss_fn, self.batch_size, self.zero = loss_fn, batch_size, None
    self.replicated, self.mesh = replicated, mesh or data_mesh()
    _check_divisible('eval.batch_size', batch_size, self.mesh)
    self.step = jax.jit(_maybe_vmap(
        functools.partial(eval_step, loss_fn=loss_fn), replicated,
        (0, 0, None, None, None, None)), donate_argnums=1)

  def __call__(self, state, x, y, prefix=''):
    if self.zero is None:
      one = jax.tree.map(lambda a: a[0], state) if self.replicated else state
      zero = zero_sums(one, self.loss_fn, x, y)
      reps = jax.tree.leaves(state.step)[0].shape
      self.zero = {k: jnp.zeros(reps, v.dtype) for k, v in zero.items()}
    n, bs = len(x), self.batch_size
    num_batches = math.ceil(n / bs)
    idx = np.zeros(num_batches * bs, np.int32)
    idx[:n] = np.arange(n)
    mask = np.zeros(num_batches * bs, np.float32)
    mask[:n] = 1.0
    sums = jax.tree.map(jnp.copy, self.zero)
    for i in range(num_batches):
      s = slice(i * bs, (i + 1) * bs)
      sums = self.step(state, sums, x, y, put(idx[s], self.mesh, P('data')),
                       put(mask[s], self.mesh, P('data')))
    return _means(sums, prefix)


class _Monitor:
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


def check_finite(row, epoch, workdir):
  """Raises NonFiniteLossError naming the metrics of `row` that are NaN/Inf."""
  bad = [k for k, v in row.items()
         if isinstance(v, float) and not math.isfinite(v)]
  if bad:
    raise errors.NonFiniteLossError(
        f'epoch {epoch}: non-finite {", ".join(bad)}; training stopped, the '
        f'last good checkpoint stays in {workdir}/checkpoints')


def summarize(means):
  """Flat row from _means: seed lists become their mean plus `<k>_per_seed`."""
  row = {}
  for k, v in means.items():
    if isinstance(v, list):
      row[k], row[f'{k}_per_seed'] = float(np.mean(v)), v
    else:
      row[k] = v
  return row


def _epoch_batches(perm, batch_size):
  """(idx, mask) per step of one epoch; the last batch padded to full size
  with wrapped-around indices (masked out of loss and metrics)."""
  n = perm.shape[-1]
  steps = math.ceil(n / batch_size)
  pad = steps * batch_size - n
  idx = np.concatenate([perm, perm[..., :pad]], axis=-1)
  mask = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)])
  for i in range(steps):
    s = slice(i * batch_size, (i + 1) * batch_size)
    yield idx[..., s], mask[s]


def fit(config, workdir, model, splits):
  """Trains `model` on `splits` per config.train; returns (state, run).

  Resumes from the newest checkpoint in `workdir` if there is one. With
  train.restore_best the returned state is the best epoch's by
  train.monitor, otherwise the last epoch's. With config.seeds > 1 the state
  carries a leading seed axis and the history rows hold the mean over seeds
  plus `<metric>_per_seed` lists; early stopping and plateau then follow the
  mean. The batch is sharded over every device (data parallel, parameters
  replicated); the global batch size stays train.batch_size.
  """
  tc = config.train
  if tc.loss not in LOSSES:
    raise errors.ConfigError(
        f'train.loss={tc.loss!r}: unknown; choices: {sorted(LOSSES)}')
  if tc.batch_size < 1 or tc.epochs < 0:
    raise errors.ConfigError(
        f'train.batch_size={tc.batch_size}, train.epochs={tc.epochs}: '
        'need batch_size >= 1 and epochs >= 0')
  loss_fn = LOSSES[tc.loss]
  mesh = data_mesh()
  n, bs = len(splits.x_train), min(tc.batch_size, len(splits.x_train))
  _check_divisible('train.batch_size', bs, mesh)
  x_train, y_train = put(splits.x_train, mesh), put(splits.y_train, mesh)
  x_val, y_val = put(splits.x_val, mesh), put(splits.y_val, mesh)

  replicated = len(seed_list(config)) > 1
  state, shuffle_rng = init_state(config, model, splits.x_train[:1])
  state = jax.tree.map(lambda a: put(a, mesh), state)
  one = jax.tree.map(lambda a: a[0], state) if replicated else state
  zero = zero_sums(one, loss_fn, x_train, y_train)
  zero = {k: jnp.zeros(state.step.shape, v.dtype) for k, v in zero.items()}
  ckpts = checkpoint.Checkpoints(workdir, keep=tc.keep_checkpoints)
  model_cfg = config.model.to_dict()

  meta = {'epoch': 0, 'history': [], 'monitor': None, 'plateau': None,
          'model': model_cfg}
  restored = ckpts.restore(ckpts.latest, state, model_cfg)
  if restored:
    state, meta = restored
    logging.info('Resumed from %s at epoch %d', workdir, meta['epoch'])
  stopper = _Monitor(tc.monitor, tc.min_delta, **(meta['monitor'] or {}))
  plateau = _Monitor(tc.monitor, tc.min_delta, **(meta['plateau'] or {}))
  writer = metrics_lib.MetricWriter(workdir, meta['history'])

  step = jax.jit(_maybe_vmap(functools.partial(
      train_step, loss_fn=loss_fn, l2=tc.l2, l2_pattern=tc.l2_pattern,
      label_smoothing=tc.label_smoothing), replicated,
      (0, 0, None, None, 0, None)), donate_argnums=(0, 1))
  evaluate = Evaluator(loss_fn, config.eval.batch_size, replicated, mesh)
  permute = jax.jit(_maybe_vmap(
      lambda key, epoch: jax.random.permutation(
          jax.random.fold_in(key, epoch), n), replicated, (0, None)))
  batch_spec = _batch_spec(replicated)
  history, epoch = meta['history'], meta['epoch']
  stopped = bool(tc.patience) and stopper.wait >= tc.patience
  compile_s = 0.0
  if epoch < tc.epochs and not stopped:
    # Compile up front so epoch times measure training alone; a finished run
    # that is resumed compiles nothing.
    t0 = time.perf_counter()
    idx0, mask0 = next(_epoch_batches(
        np.zeros(state.step.shape + (n,), np.int32), bs))
    step = step.lower(state, zero, x_train, y_train,
                      put(idx0, mesh, batch_spec),
                      put(mask0, mesh, P('data'))).compile()
    evaluate(state, splits.x_val[:1], splits.y_val[:1])
    compile_s = time.perf_counter() - t0
    logging.info('Compiled train/eval steps in %.2fs', compile_s)
  bar = tqdm.tqdm(total=tc.epochs, initial=epoch, desc=config.model.name,
                  disable=not tc.progress, leave=False)
  while epoch < tc.epochs and not stopped:
    t0 = time.perf_counter()
    perm = np.asarray(permute(shuffle_rng, epoch), np.int32)
    sums = jax.tree.map(jnp.copy, zero)
    for idx, mask in _epoch_batches(perm, bs):
      state, sums = step(state, sums, x_train, y_train,
                         put(idx, mesh, batch_spec), put(mask, mesh, P('data')))
    row = {'epoch': epoch + 1, **summarize(_means(sums, 'train_')),
           **summarize(evaluate(state, x_val, y_val, 'val_')),
           'lr': get_lr(state)}
    row['epoch_time_s'] = time.perf_counter() - t0
    check_finite(row, epoch + 1, workdir)
    epoch += 1
    history.append(row)
    improved = stopper.update(row[tc.monitor])
    stopped = bool(tc.patience) and stopper.wait >= tc.patience
    if tc.plateau_factor and not plateau.update(row[tc.monitor]) and (
        plateau.wait >= tc.plateau_patience):
      state = set_lr(state, max(get_lr(state) * tc.plateau_factor,
                                tc.plateau_min_lr))
      plateau.wait = 0
    meta = {'epoch': epoch, 'history': history, 'model': model_cfg,
            'monitor': stopper.state(), 'plateau': plateau.state()}
    if improved:
      ckpts.save(ckpts.best, epoch, state, meta)
    ckpts.save(ckpts.latest, epoch, state, meta)
    writer.write(row)
    bar.update(1)
    bar.set_postfix({k: f'{v:.4f}' for k, v in row.items()
                     if k.endswith(('loss', 'accuracy'))})
    logging.info('epoch %d: %s', epoch, {k: v for k, v in row.items()
                                         if not k.endswith('_per_seed')})
  bar.close()
  ckpts.wait()
  if tc.restore_best and ckpts.best.latest_step() is not None:
    state, _ = ckpts.restore(ckpts.best, state, model_cfg)
  ckpts.close()
  writer.close()
  train_s = sum(r['epoch_time_s'] for r in history)
  logging.info('Trained %d epochs in %.2fs (+%.2fs compile)', epoch, train_s,
               compile_s)
  return state, {'history': history, 'train_time_s': train_s,
                 'compile_time_s': compile_s, 'epochs_run': epoch}
