"""python -m eval.evaluate --workdir=runs/se [--which=final|latest|best]

Restores the checkpoint of a run and prints (and writes eval.json with) its
loss and accuracy on the run's test split.
"""

import json
import os

from absl import app
from absl import flags
from absl import logging

from eval import common
from train import evaluator as evaluator_lib
from train import losses
from train import state as state_lib

FLAGS = flags.FLAGS


def evaluate(workdir, which='final'):
  config, _, state, splits = common.load_run(workdir, which)
  evaluator = evaluator_lib.Evaluator(
      losses.get_loss(config.train.loss), config.eval.batch_size,
      len(state_lib.replica_seeds(config)) > 1)
  return {'checkpoint': which, **evaluator_lib.summarize(
      evaluator(state, splits.x_test, splits.y_test, 'test_'))}


@common.cli
def main(_):
  result = evaluate(FLAGS.workdir, FLAGS.which)
  print(json.dumps(result))
  path = os.path.join(FLAGS.workdir, 'eval.json')
  try:
    with open(path, 'w') as f:
      json.dump(result, f, indent=2)
  except OSError as e:  # a read-only run still gets its numbers printed
    logging.warning('%s: not written (%s)', path, e.strerror)


if __name__ == '__main__':
  flags.DEFINE_string('workdir', None, 'Run directory written by main.py.')
  flags.DEFINE_enum('which', 'final', ['final', 'latest', 'best'],
                    'Which checkpoint to evaluate.')
  flags.mark_flag_as_required('workdir')
  app.run(main)
