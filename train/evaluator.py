"""Masked evaluation and the metric sums that train and eval steps add into."""

import functools
import math

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import numpy as np

from nets import defaults as defaults_lib
from train import losses
from train import sharding


def batch_sums(loss_B, extra, mask_B):
  sums = {'loss': jnp.sum(loss_B * mask_B), 'count': jnp.sum(mask_B)}
  sums.update({k: jnp.sum(v * mask_B) for k, v in extra.items()})
  return sums


def zero_sums(state, loss_fn, x, y, replicas_shape=()):
  """The accumulator pytree that train and eval steps add into."""
  _, extra = jax.eval_shape(lambda: loss_fn(state.apply_fn(
      state.variables(), x[:1], train=False), y[:1]))
  return {k: jnp.zeros(replicas_shape, jnp.float32)
          for k in ['loss', 'count', *extra]}


def means(sums, prefix):
  """Per-example means on the host: floats, or lists over replicas."""
  host = jax.device_get(sums)
  n = np.maximum(np.asarray(host['count'], np.float64), 1.0)
  return {f'{prefix}{k}': (np.asarray(v) / n).tolist()
          for k, v in host.items() if k != 'count'}


def summarize(row_means):
  """Flat row from `means`: replica lists become their mean plus `<k>_per_seed`."""
  row = {}
  for k, v in row_means.items():
    if isinstance(v, list):
      row[k], row[f'{k}_per_seed'] = float(np.mean(v)), v
    else:
      row[k] = v
  return row


def reported_l2(config):
  """Evaluator's l2 arguments: the run's L2 term where config.defaults puts
  it inside reported losses (Keras' fit and evaluate do), else none."""
  if not defaults_lib.get(config.defaults).l2_in_reported_loss:
    return {}
  return {'l2': config.train.l2, 'l2_pattern': config.train.l2_pattern}


def eval_step(state, sums, x_all, y_all, idx_B, mask_B, *, loss_fn, l2=0.0,
              l2_pattern='kernel'):
  """Adds the masked sums of x_all[idx_B] (eval mode) to `sums`; a nonzero
  l2 adds l2 * the L2 penalty to every example's loss, as Keras reports it."""
  out = state.apply_fn(state.variables(), x_all[idx_B], train=False)
  loss, extra = loss_fn(out, y_all[idx_B])
  if l2:
    loss = loss + l2 * losses.l2_penalty(state.params, l2_pattern)
  return jax.tree.map(jnp.add, sums, batch_sums(loss, extra, mask_B))


class Evaluator:
  """Jitted masked evaluation over all of (x, y), last partial batch kept.

  With `replicated`, the state has a leading replica axis and every replica
  is evaluated on the same batches in one vmapped step. l2, l2_pattern: the
  L2 term the reported loss includes (see eval_step; 0: none).
  """

  def __init__(self, loss_fn, batch_size, replicated=False, mesh=None, l2=0.0,
               l2_pattern='kernel'):
    self.loss_fn, self.batch_size, self.zero = loss_fn, batch_size, None
    self.replicated, self.mesh = replicated, mesh or sharding.data_mesh()
    sharding.check_divisible('eval.batch_size', batch_size, self.mesh)
    self.step = jax.jit(sharding.maybe_vmap(
        functools.partial(eval_step, loss_fn=loss_fn, l2=l2,
                          l2_pattern=l2_pattern), replicated,
        (0, 0, None, None, None, None)), donate_argnums=1)

  def __call__(self, state, x, y, prefix=''):
    if self.zero is None:
      one = jax.tree.map(lambda a: a[0], state) if self.replicated else state
      self.zero = zero_sums(one, self.loss_fn, x, y, state.step.shape)
    n, bs = len(x), self.batch_size
    num_batches = math.ceil(n / bs)
    idx = np.zeros(num_batches * bs, np.int32)
    idx[:n] = np.arange(n)
    mask = np.zeros(num_batches * bs, np.float32)
    mask[:n] = 1.0
    sums = jax.tree.map(jnp.copy, self.zero)
    for i in range(num_batches):
      s = slice(i * bs, (i + 1) * bs)
      sums = self.step(state, sums, x, y,
                       sharding.put(idx[s], self.mesh, P('data')),
                       sharding.put(mask[s], self.mesh, P('data')))
    return means(sums, prefix)


def probabilities(state, x, batch_size, replicated=False):
  """Softmax outputs [N, classes] in eval mode ([R, N, classes] for a state
  with a leading replica axis), batch by batch on the host's default device."""
  def forward(s, x_B):
    logits = s.apply_fn(s.variables(), x_B, train=False)
    return jax.nn.softmax(logits.astype(jnp.float32))
  forward = jax.jit(sharding.maybe_vmap(forward, replicated, (0, None)))
  parts = [np.asarray(forward(state, x[i:i + batch_size]))
           for i in range(0, len(x), batch_size)]
  return np.concatenate(parts, axis=-2)


def accuracy_by_group(probs, labels, groups):
  """{group: accuracy} of softmax outputs [N, classes] by each item's group
  (e.g. its speaker); for [R, N, classes], the mean over the R replicas."""
  correct_RxN = np.asarray(probs).argmax(-1).reshape(-1, len(labels)) == labels
  correct_N = correct_RxN.mean(axis=0)
  groups = np.asarray(groups)
  return {str(g): float(correct_N[groups == g].mean())
          for g in sorted(set(groups.tolist()))}


@jax.jit
def adapt_batch_stats(state, x):
  """`state` with every BatchNorm's running mean and variance replaced by the
  statistics of the batch `x` (AdaBN, Li et al., 2017): one train-mode
  forward over all of x, so each layer's statistics are those of x with the
  layers below it already normalised by x's. In eval mode the adapted state
  then normalises x as training mode would. Dropout runs as in training
  (a fixed key); the nets here apply it after their last BatchNorm.

  Momentum-free: Flax's update is new = m * old + (1 - m) * batch, so the
  update from all-zero stats is (1 - m) * batch and the one from all-one
  stats exceeds it by m, whatever each layer's momentum."""
  def update(old):
    _, new = state.apply_fn({'params': state.params, 'batch_stats': old}, x,
                            train=True, mutable=['batch_stats'],
                            rngs={'dropout': jax.random.PRNGKey(0)})
    return new['batch_stats']
  from_zeros = update(jax.tree.map(jnp.zeros_like, state.batch_stats))
  from_ones = update(jax.tree.map(jnp.ones_like, state.batch_stats))
  return state.replace(batch_stats=jax.tree.map(
      lambda z, o: z / (1 - (o - z)), from_zeros, from_ones))
