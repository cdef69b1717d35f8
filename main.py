"""python main.py --config=configs/<experiment>.py --workdir=runs/<name>"""

import os
import sys

from absl import app
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags

import errors
import train

config_flags.DEFINE_config_file(
    'config', None, 'Experiment config file (configs/*.py[:variant]).',
    lock_config=True)
flags.DEFINE_string('workdir', None,
                    'Run directory: config.json, checkpoints, metrics, figures.')
flags.mark_flags_as_required(['config', 'workdir'])
FLAGS = flags.FLAGS


def _maybe_initialize_distributed():
  """Joins a multi-process job when the environment describes one.

  Under SLURM (srun with several tasks) JAX reads everything it needs from
  SLURM's variables; elsewhere set JAX_COORDINATOR_ADDRESS (host:port of
  process 0), JAX_NUM_PROCESSES and JAX_PROCESS_ID on every process.
  """
  if 'JAX_COORDINATOR_ADDRESS' in os.environ:
    jax.distributed.initialize(
        coordinator_address=os.environ['JAX_COORDINATOR_ADDRESS'],
        num_processes=int(os.environ['JAX_NUM_PROCESSES']),
        process_id=int(os.environ['JAX_PROCESS_ID']))
  elif int(os.environ.get('SLURM_NTASKS', '1')) > 1:
    jax.distributed.initialize()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.INFO)
  # Sweeps and grids compile the same steps again in every run; a persistent
  # cache compiles them once per machine ($JAX_COMPILATION_CACHE_DIR wins).
  if not jax.config.jax_compilation_cache_dir:
    jax.config.update('jax_compilation_cache_dir',
                      os.path.expanduser('~/.cache/digits/jax'))
  _maybe_initialize_distributed()
  try:
    train.run(FLAGS.config, FLAGS.workdir)
  except errors.UserError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(1)


if __name__ == '__main__':
  app.run(main)
