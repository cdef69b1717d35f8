"""Reads a finished (or running) run back from its workdir; the CLI wrapper."""

import functools
import logging as py_logging
import os
import sys

import data
import errors
import nets
from train import checkpoint
from train import state as state_lib
from train import workdir as workdir_lib


def cli(main):
  """absl main for an eval script: a UserError is one `error:` line, exit 1."""
  @functools.wraps(main)
  def wrapped(argv):
    # JAX's INFO line about probing for a TPU, on every machine without one.
    py_logging.getLogger('jax._src.xla_bridge').setLevel(py_logging.WARNING)
    try:
      return main(argv)
    except errors.UserError as e:
      print(f'error: {e}', file=sys.stderr)
      sys.exit(1)
  return wrapped


def restore_state(workdir, config, model, sample_x, which='final'):
  """The TrainState saved in `workdir`.

  which: 'latest' (last epoch), 'best' (best by train.monitor) or 'final'
  (what training ended with: best if train.restore_best, else latest).
  """
  if which not in ('final', 'latest', 'best'):
    raise errors.ConfigError(f'which={which!r}: choices: final, latest, best')
  template, _ = state_lib.init_state(config, model, sample_x)
  ckpts = checkpoint.Checkpoints(workdir)
  use_best = which == 'best' or (which == 'final' and config.train.restore_best)
  manager = ckpts.best if use_best else ckpts.latest
  restored = ckpts.restore(manager, template, config.model.to_dict())
  ckpts.close()
  if restored is None:
    raise errors.CheckpointError(
        f'{os.path.join(workdir, "best" if use_best else "checkpoints")}: '
        'no checkpoint')
  return restored[0]


def load_run(workdir, which='final', data_dir=None):
  """(config, model, state, splits) of the run in `workdir`; `data_dir`
  replaces the config's data.dir (a run read back on another machine)."""
  config = workdir_lib.load_config(workdir)
  if data_dir:
    config.data.dir = data_dir
  splits = data.get_dataset(config.data)
  model = nets.get_model(config.model)
  state = restore_state(workdir, config, model, splits.x_test[:1], which)
  return config, model, state, splits
