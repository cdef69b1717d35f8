"""Orbax checkpoints of one TrainState: the last k epochs plus the best one."""

import json
import logging as py_logging
import os

import flax.serialization
import jax
import orbax.checkpoint as ocp

import errors

# Orbax logs every save/restore/close at INFO through absl; keep our own INFO
# lines readable by dropping Orbax's below WARNING.
py_logging.getLogger('absl').addFilter(
    lambda r: r.levelno >= py_logging.WARNING or '/orbax/' not in r.pathname)


class Checkpoints:
  """`<workdir>/checkpoints` keeps the last `keep` epochs, `<workdir>/best` one.

  Each step stores the state pytree and a JSON `meta` dict (epoch, history,
  early-stopping and plateau bookkeeping, the model config) so a resumed run
  continues exactly where the killed one stopped.
  """

  def __init__(self, workdir, keep=2):
    workdir = os.path.abspath(workdir)
    self.latest = ocp.CheckpointManager(
        os.path.join(workdir, 'checkpoints'),
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True))
    self.best = ocp.CheckpointManager(
        os.path.join(workdir, 'best'),
        options=ocp.CheckpointManagerOptions(max_to_keep=1, create=True))

  def save(self, manager, epoch, state, meta):
    manager.save(epoch, args=ocp.args.Composite(
        state=ocp.args.StandardSave(flax.serialization.to_state_dict(state)),
        meta=ocp.args.JsonSave(meta)))

  def restore(self, manager, template, model_cfg, epoch=None):
    """Restores (state, meta) into `template`'s structure; None if empty."""
    epoch = manager.latest_step() if epoch is None else epoch
    if epoch is None:
      return None
    meta = manager.restore(epoch, args=ocp.args.Composite(
        meta=ocp.args.JsonRestore()))['meta']
    # Compare as JSON, the form meta was saved in (tuples come back as lists).
    if meta.get('model') != json.loads(json.dumps(model_cfg)):
      raise errors.CheckpointError(
          f'{manager.directory}/{epoch}: checkpoint of model {meta.get("model")}'
          f', but the config asks for {model_cfg}')
    target = flax.serialization.to_state_dict(template)
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    try:
      restored = manager.restore(epoch, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(abstract)))['state']
    except (ValueError, KeyError, TypeError) as e:
      raise errors.CheckpointError(
          f'{manager.directory}/{epoch}: does not fit the configured model: '
          f'{str(e).splitlines()[0]}') from e
    return flax.serialization.from_state_dict(template, restored), meta

  def wait(self):
    self.latest.wait_until_finished()
    self.best.wait_until_finished()

  def close(self):
    self.latest.close()
    self.best.close()
