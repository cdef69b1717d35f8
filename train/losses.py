"""Per-example losses and the Keras-style L2 term, picked by `train.loss`."""

import re

import jax
import jax.numpy as jnp
import optax

import errors


# Per-example losses: (outputs, targets) -> (loss [B], extra metrics {name: [B]}).
def softmax_xent(logits, labels, label_smoothing=0.0):
  """labels: int classes [B], or soft targets [B, classes] (mixup), whose
  accuracy counts their largest class."""
  if labels.ndim == logits.ndim:
    targets, labels = labels, jnp.argmax(labels, -1)
  else:
    targets = jax.nn.one_hot(labels, logits.shape[-1])
  if label_smoothing:
    targets = optax.smooth_labels(targets, label_smoothing)
  loss = optax.softmax_cross_entropy(logits.astype(jnp.float32), targets)
  return loss, {'accuracy': (jnp.argmax(logits, -1) == labels).astype(jnp.float32)}


def mse(outputs, targets, label_smoothing=0.0):
  del label_smoothing
  err = (outputs.astype(jnp.float32) - targets).reshape(outputs.shape[0], -1)
  return jnp.mean(err ** 2, axis=-1), {}


LOSSES = {'softmax_xent': softmax_xent, 'mse': mse}


def get_loss(name):
  if name not in LOSSES:
    raise errors.ConfigError(
        f'train.loss={name!r}: unknown; choices: {sorted(LOSSES)}')
  return LOSSES[name]


def l2_penalty(params, pattern):
  """sum of squared weights whose '/'-joined path matches `pattern`."""
  total = 0.0
  for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
    name = '/'.join(str(getattr(k, 'key', k)) for k in path)
    if re.search(pattern, name):
      total += jnp.sum(jnp.square(leaf.astype(jnp.float32)))
  return total
