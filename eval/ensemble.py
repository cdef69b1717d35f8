"""python -m eval.ensemble --workdir=RUN --workdir=RUN2 [...] [--which=final] [--data_dir=DIR]

Averages the softmax outputs of several classifier runs on the test split they
share (the seeds of one configuration, or different configurations of the
same data) and scores the average: the ensemble's test accuracy beside each
member's, and, on FSDD, its accuracy per speaker. Each member reads the test
set through its own config (its own features, normalisation, model), so
members may differ in anything but the test items, which must be the same
recordings (or, for data without file names, the same labels) in the same
order. A run with vmapped replicas counts as one member per replica. Prints a
summary; --json prints the result as JSON instead.
"""

import json
import os

from absl import app
from absl import flags
import numpy as np

from eval import common
import errors
from train import evaluator as evaluator_lib
from train import state as state_lib

FLAGS = flags.FLAGS


def probabilities(config, state, splits):
  """Softmax outputs [R, N, classes] of a loaded classifier run on its test
  split; R = its replicas (1 for a plain run)."""
  if config.train.loss != 'softmax_xent':
    raise errors.ConfigError(
        f'train.loss={config.train.loss!r}: an ensemble averages class '
        'probabilities (softmax_xent runs only)')
  replicated = len(state_lib.replica_seeds(config)) > 1
  probs = evaluator_lib.probabilities(state, splits.x_test,
                                      config.eval.batch_size, replicated)
  return np.asarray(probs).reshape(-1, len(splits.y_test), probs.shape[-1])


def test_items(splits):
  """What identifies a split's test items: their file names where the data
  name them, else their labels."""
  files = (splits.info or {}).get('test_files')
  if files:
    return [os.path.basename(f) for f in files]
  return np.asarray(splits.y_test).tolist()


def score(members_MxNxC, labels, speakers=None):
  """The mean of the members' softmax outputs, scored: {'members',
  'test_accuracy' (the ensemble's), 'member_accuracy' (each member's, in
  order), 'mean_member_accuracy', 'per_class_accuracy' and, given each
  item's speaker, 'per_speaker_accuracy'}."""
  members_MxNxC, labels = np.asarray(members_MxNxC), np.asarray(labels)
  mean_NxC = members_MxNxC.mean(axis=0)
  correct_N = mean_NxC.argmax(-1) == labels
  member_accuracy = (members_MxNxC.argmax(-1) == labels).mean(axis=1)
  result = {
      'members': len(members_MxNxC),
      'test_accuracy': float(correct_N.mean()),
      'member_accuracy': [float(a) for a in member_accuracy],
      'mean_member_accuracy': float(member_accuracy.mean()),
      'per_class_accuracy': [
          float(correct_N[labels == c].mean()) if (labels == c).any() else None
          for c in range(mean_NxC.shape[-1])],
  }
  if speakers:
    result['per_speaker_accuracy'] = evaluator_lib.accuracy_by_group(
        mean_NxC, labels, speakers)
  return result


def ensemble(workdirs, which='final', data_dir=None):
  """score() of the runs in `workdirs`, which must share their test items."""
  if len(workdirs) < 2:
    raise errors.ConfigError(
        f'--workdir: {len(workdirs)} run(s) given; an ensemble needs 2 or more')
  probs, first = [], None
  for workdir in workdirs:
    config, _, state, splits = common.load_run(workdir, which, data_dir)
    try:
      probs_RxNxC = probabilities(config, state, splits)
    except errors.ConfigError as e:
      raise errors.ConfigError(f'{workdir}: {e}') from e
    if first is None:
      first = (workdir, splits, test_items(splits))
    elif (test_items(splits) != first[2]
          or probs_RxNxC.shape[-1] != probs[0].shape[-1]):
      raise errors.ConfigError(
          f'{workdir}: its test split differs from {first[0]}\'s (an '
          'ensemble scores runs on the same test items)')
    probs.append(probs_RxNxC)
  splits = first[1]
  return score(np.concatenate(probs), splits.y_test,
               (splits.info or {}).get('test_speakers'))


@common.cli
def main(_):
  result = ensemble(FLAGS.workdir, FLAGS.which, FLAGS.data_dir)
  if FLAGS.json:
    print(json.dumps(result, indent=1))
    return
  print(f'ensemble of {result["members"]} members: test_accuracy '
        f'{result["test_accuracy"]:.4f} (members: ' +
        ', '.join(f'{a:.4f}' for a in result['member_accuracy']) +
        f'; mean {result["mean_member_accuracy"]:.4f}; checkpoint '
        f'{FLAGS.which})')
  if 'per_speaker_accuracy' in result:
    print('per-speaker accuracy: ' + '  '.join(
        f'{s}: {a:.3f}' for s, a in result['per_speaker_accuracy'].items()))


if __name__ == '__main__':
  flags.DEFINE_multi_string('workdir', None,
                            'A run directory written by main.py; repeat it.')
  flags.DEFINE_enum('which', 'final', ['final', 'latest', 'best'],
                    'Which checkpoint of each run.')
  flags.DEFINE_string('data_dir', None,
                      'Data root to read instead of each run\'s data.dir.')
  flags.DEFINE_bool('json', False, 'Print the result as JSON.')
  flags.mark_flag_as_required('workdir')
  app.run(main)
