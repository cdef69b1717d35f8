"""Reads a finished (or running) run back from its workdir; the CLI wrapper."""

import functools
import logging as py_logging
import os
import sys

from absl import logging

import data
import errors
import nets
from train import checkpoint
from train import state as state_lib
from train import workdir as workdir_lib


def cli(main):
  """absl main for an eval script: a UserError or a filesystem error is one
  `error:` line, exit 1."""
  @functools.wraps(main)
  def wrapped(argv):
    # JAX's INFO line about probing for a TPU, on every machine without one.
    py_logging.getLogger('jax._src.xla_bridge').setLevel(py_logging.WARNING)
    try:
      return main(argv)
    except (errors.UserError, OSError) as e:
      print(f'error: {errors.describe(e)}', file=sys.stderr)
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
  ckpts = checkpoint.Checkpoints(workdir, read_only=True)
  use_best = which == 'best' or (which == 'final' and config.train.restore_best)
  manager = ckpts.best if use_best else ckpts.latest
  restored = ckpts.restore(manager, template, config.model.to_dict())
  ckpts.close()
  if restored is None:
    raise errors.CheckpointError(
        f'{os.path.join(workdir, "best" if use_best else "checkpoints")}: '
        'no checkpoint')
  return restored[0]


def _runs_below(workdir, limit=3):
  """Up to `limit` run directories (with checkpoints) under `workdir`."""
  found = []
  for root, dirs, _ in os.walk(workdir):
    dirs.sort()
    if 'checkpoints' in dirs and root != workdir:
      found.append(root)
      dirs.clear()
      if len(found) == limit:
        break
  return found


def check_single_run(workdir, config):
  """Refuses a workdir that is not one trained model: the top folder of a
  sweep, grid or multi-stage experiment, or a GAN run (three networks)."""
  if config.get('experiment') == 'gan':
    raise errors.ConfigError(
        f'{workdir}: a GAN run (generator, discriminator, classifier); read '
        f'its classifier from {os.path.join(workdir, "aux")}, its generator '
        'with python -m eval.generate')
  if not os.path.isdir(os.path.join(workdir, 'checkpoints')):
    runs = _runs_below(workdir)
    hint = (f'point --workdir at one of its runs, e.g. {", ".join(runs)}'
            if runs else 'no run below it has any either')
    raise errors.ConfigError(
        f'{workdir}: holds no checkpoints of its own (the top folder of a '
        f'{config.get("experiment")!r} experiment?); {hint}')


def load_run(workdir, which='final', data_dir=None):
  """(config, model, state, splits) of the run in `workdir`; `data_dir`
  replaces the config's data.dir (a run read back on another machine).

  Data that differ from the run's (data.json) are read with a warning.
  """
  config = workdir_lib.load_config(workdir)
  check_single_run(workdir, config)
  if data_dir:
    config.data.dir = data_dir
  splits = data.get_dataset(config.data)
  recorded = workdir_lib.recorded_signature(workdir)
  signature = (splits.info or {}).get('signature')
  if recorded and signature and recorded != signature:
    logging.warning('%s: data.dir=%s is not the data the run used (now %s; '
                    'the run\'s: %s)', workdir, config.data.get('dir'),
                    signature['summary'], recorded.get('summary'))
  model = nets.get_model(config.model, config.defaults)
  state = restore_state(workdir, config, model, splits.x_test[:1], which)
  return config, model, state, splits
