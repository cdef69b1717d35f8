"""python main.py --config=configs/<experiment>.py --workdir=runs/<name>"""

import sys

from absl import app
from absl import flags
from absl import logging
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


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.INFO)
  try:
    train.run(FLAGS.config, FLAGS.workdir)
  except errors.UserError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(1)


if __name__ == '__main__':
  app.run(main)
