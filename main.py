"""python main.py --config=configs/<experiment>.py --workdir=runs/<name>

Trains what the config describes into the workdir (resuming a run that is
there) and ends with a line of test metrics and the path of results.json.
"""

import logging as py_logging
import os
import sys

from absl import app
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags
import tqdm

import errors
import experiments

config_flags.DEFINE_config_file(
    'config', None, 'Experiment config file (configs/*.py[:variant]).',
    lock_config=True)
flags.DEFINE_string('workdir', None,
                    'Run directory: config.json, checkpoints, metrics, figures.')
flags.mark_flags_as_required(['config', 'workdir'])
FLAGS = flags.FLAGS
# Progress lines without absl's "I1126 00:45:40.881415 1398... loop.py:86]".
FLAGS.set_default('showprefixforinfo', False)


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


class _BarSafeStream:
  """stderr through tqdm.write, which lifts any bar out of the line's way."""

  def write(self, text):
    tqdm.tqdm.write(text, file=sys.stderr, end='')

  def flush(self):
    sys.stderr.flush()

  def close(self):
    """Leaves stderr open (logging closes its handlers' streams at exit)."""


class _Formatter(logging.PythonFormatter):
  """INFO lines bare unless --showprefixforinfo; absl's prefix on the rest."""

  def format(self, record):
    if record.levelno == py_logging.INFO and not FLAGS.showprefixforinfo:
      return py_logging.Formatter.format(self, record)
    return super().format(record)


def _set_up_console():
  """Log lines that never land inside a progress bar, at INFO by default."""
  if not FLAGS['verbosity'].present:
    logging.set_verbosity(logging.INFO)
  handler = logging.get_absl_handler().python_handler
  handler.stream = _BarSafeStream()
  handler.setFormatter(_Formatter())
  if FLAGS.verbosity < 1:
    # JAX's INFO line about probing for a TPU, on every machine without one.
    py_logging.getLogger('jax._src.xla_bridge').setLevel(py_logging.WARNING)


def parse_flags(argv):
  """absl's flag parsing, with a bad --config (missing file, unknown variant
  or field) reported as one `error:` line instead of a traceback."""
  if {'-h', '-?', '--help', '--helpshort', '--helpfull'} & set(argv[1:]):
    global __doc__
    __doc__ += experiments.usage()  # what absl's --help prints first
  try:
    return FLAGS(argv)
  except errors.UserError as e:
    message = str(e)
  except flags.Error as e:
    message = str(e)
  except OSError as e:  # an override applied to a config file that failed
    path = [a.split('=', 1)[1] for a in argv if a.startswith('--config=')]
    message = str(_load_error(e, path[-1] if path else '--config'))
  except (AttributeError, KeyError) as e:
    # ml_collections' unknown-field error, its message quoted once per layer.
    text = str(e)
    for _ in range(3):
      text = text.encode('latin-1', 'backslashreplace').decode('unicode_escape')
    words = [line.strip(' \'"') for line in text.splitlines()]
    message = f'--config: unknown field {words[0]!r}. {" ".join(words[1:])}'
  print(f'error: {message}', file=sys.stderr)
  sys.exit(1)


def _load_error(e, path):
  return errors.ConfigError(
      f'{path}: cannot load the config file '
      f'({str(e).strip().splitlines()[-1].strip()})')


def _loaded_config():
  """FLAGS.config; config_flags defers a failed file load to its first use."""
  config = FLAGS.config
  try:
    config.get('experiment')
  except OSError as e:
    raise _load_error(e, FLAGS['config'].config_filename) from e
  return config


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  _set_up_console()
  # Sweeps and grids compile the same steps again in every run; a persistent
  # cache compiles them once per machine ($JAX_COMPILATION_CACHE_DIR wins).
  if not jax.config.jax_compilation_cache_dir:
    jax.config.update('jax_compilation_cache_dir',
                      os.path.expanduser('~/.cache/digits/jax'))
  _maybe_initialize_distributed()
  try:
    experiments.run(_loaded_config(), FLAGS.workdir)
  except (errors.UserError, OSError) as e:
    print(f'error: {errors.describe(e)}', file=sys.stderr)
    sys.exit(1)


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
