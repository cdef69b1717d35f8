"""Orbax checkpoints of one TrainState: the last k epochs plus the best one."""

import json
import logging as py_logging
import os
import time

from absl import logging
import flax.serialization
import jax
from jax.experimental import multihost_utils
import orbax.checkpoint as ocp
import tensorstore as ts

import errors

# Orbax logs every save/restore/close at INFO through absl; keep our own INFO
# lines readable by dropping Orbax's below WARNING.
py_logging.getLogger('absl').addFilter(
    lambda r: r.levelno >= py_logging.WARNING or '/orbax/' not in r.pathname)

# Suffix of a step folder set aside as unreadable (Orbax lists no such name).
UNREADABLE = '.unreadable'


class Unreadable(Exception):
  """A checkpoint whose files cannot be read back (truncated, corrupt)."""


def _read_back(path):
  """Reads every value stored in the OCDBT database at `path`, one by one.

  Orbax reads a step's arrays concurrently; when one read fails it closes
  its event loop under the others, each of which then prints a traceback
  of its own. Reading the stored bytes first, synchronously, finds a
  truncated or missing file before Orbax starts, at the cost of reading the
  step twice.
  """
  if not os.path.exists(os.path.join(path, 'manifest.ocdbt')):
    return  # not OCDBT: Orbax's own read is the check
  store = ts.KvStore.open({'driver': 'ocdbt', 'base': f'file://{path}/'})
  store = store.result()
  for key in store.list().result():
    store.read(key).result()


def _read(where, read):
  """read(); any failure is an Unreadable naming `where` and the innermost
  cause (TensorStore's own words, e.g. 'Requested byte range ... is not
  valid'), without the chain of Orbax's wrappers (one holds a 50-line
  TensorStore spec)."""
  try:
    return read()
  except Exception as e:  # pylint: disable=broad-except
    # Orbax and TensorStore raise many types for missing or bad files.
    while e.__cause__ is not None:
      e = e.__cause__
    message = str(e).strip().splitlines()[0][:300] if str(e).strip() else (
        type(e).__name__)
  raise Unreadable(f'{where}: {message}')


def _shapes(tree):
  """{path: shape} of a tree of arrays or Orbax array metadata."""
  return {jax.tree_util.keystr(p): tuple(leaf.shape) for p, leaf in
          jax.tree_util.tree_flatten_with_path(tree)[0]}


class Checkpoints:
  """`<workdir>/checkpoints` keeps the last `keep` epochs, `<workdir>/best` one.

  Each step stores the state pytree and a JSON `meta` dict (epoch, history,
  early-stopping and plateau bookkeeping, the model config) so a resumed run
  continues exactly where the killed one stopped. read_only: for reading a
  run back; creates and deletes nothing.
  """

  def __init__(self, workdir, keep=2, read_only=False):
    workdir = os.path.abspath(workdir)

    def manager(name, max_to_keep):
      return ocp.CheckpointManager(
          os.path.join(workdir, name),
          options=ocp.CheckpointManagerOptions(
              max_to_keep=max_to_keep, create=not read_only,
              # Half-written steps of a killed run; the workdir lock makes
              # sure no other run is writing them.
              cleanup_tmp_directories=not read_only),
          item_handlers={'state': ocp.StandardCheckpointHandler(),
                         'meta': ocp.JsonCheckpointHandler()})
    self.latest = manager('checkpoints', keep)
    self.best = manager('best', 1)
    # Steps found unreadable by restore(), newest first.
    self.unreadable = []

  def save(self, manager, epoch, state, meta):
    manager.save(epoch, args=ocp.args.Composite(
        state=ocp.args.StandardSave(flax.serialization.to_state_dict(state)),
        meta=ocp.args.JsonSave(meta)))

  def _restore_step(self, manager, epoch, target, model_cfg):
    """(state dict, meta) of one step; Unreadable if its files are bad."""
    where = f'{manager.directory}/{epoch}'
    meta = _read(where, lambda: manager.restore(epoch, args=ocp.args.Composite(
        meta=ocp.args.JsonRestore()))['meta'])
    saved = _read(where, lambda: _shapes(manager.item_metadata(epoch)['state']))
    # Compare as JSON, the form meta was saved in (tuples come back as lists).
    if meta.get('model') != json.loads(json.dumps(model_cfg)):
      raise errors.CheckpointError(
          f'{where}: checkpoint of model {meta.get("model")}, but the config '
          f'asks for {model_cfg}')
    wanted = _shapes(target)
    if saved != wanted:
      diff = sorted(k for k in saved.keys() | wanted.keys()
                    if saved.get(k) != wanted.get(k))
      raise errors.CheckpointError(
          f'{where}: does not fit the configured state ({len(diff)} arrays '
          f'differ, e.g. {diff[0]}: saved {saved.get(diff[0], "none")}, '
          f'configured {wanted.get(diff[0], "none")})')
    _read(where, lambda: _read_back(os.path.join(where, 'state')))
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    state = _read(where, lambda: manager.restore(epoch, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract)))['state'])
    return state, meta

  def restore(self, manager, template, model_cfg):
    """(state, meta) of the newest readable step, in `template`'s structure.

    None if there is no step. An unreadable step is logged, recorded in
    self.unreadable and skipped for the one before it; a step of another
    model or state structure is a CheckpointError (falling back would train
    over another run's checkpoints).
    """
    steps = sorted(manager.all_steps(), reverse=True)
    target = flax.serialization.to_state_dict(template)
    for epoch in steps:
      try:
        state, meta = self._restore_step(manager, epoch, target, model_cfg)
      except Unreadable as e:
        logging.warning('unreadable checkpoint, skipped: %s', e)
        self.unreadable.append(os.path.join(manager.directory, str(epoch)))
      else:
        return flax.serialization.from_state_dict(template, state), meta
    if steps:
      raise errors.CheckpointError(
          f'{manager.directory}: no readable checkpoint (steps {steps} are '
          'all unreadable); move it away to train from scratch')
    return None

  def set_aside_unreadable(self):
    """Renames unreadable steps to `<step>.unreadable-<time>`, kept for a
    post-mortem, so that the resumed run saves that epoch afresh (Orbax
    skips a step it already lists). Process 0 renames; all reload."""
    if jax.process_index() == 0:
      stamp = time.strftime('%Y%m%dT%H%M%S')
      for path in self.unreadable:
        os.rename(path, f'{path}{UNREADABLE}-{stamp}')
        logging.warning('moved %s to %s', path, f'{path}{UNREADABLE}-{stamp}')
    if jax.process_count() > 1:
      multihost_utils.sync_global_devices('set_aside_unreadable')
    self.unreadable = []
    self.latest.reload()
    self.best.reload()

  def wait(self):
    self.latest.wait_until_finished()
    self.best.wait_until_finished()

  def close(self):
    self.latest.close()
    self.best.close()
