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


def member_probabilities(workdir, which='final', data_dir=None):
  """(softmax outputs [R, N, classes], test labels [N], the data's info) of
  the classifier run in `workdir`; R = its replicas (1 for a plain run)."""
  config, _, state, splits = common.load_run(workdir, which, data_dir)
  if config.train.loss != 'softmax_xent':
    raise errors.ConfigError(
        f'{workdir}: train.loss={config.train.loss!r}: an ensemble averages '
        'class probabilities (softmax_xent runs only)')
  replicated = len(state_lib.replica_seeds(config)) > 1
  probs = evaluator_lib.probabilities(state, splits.x_test,
                                      config.eval.batch_size, replicated)
  probs = np.asarray(probs).reshape(-1, len(splits.y_test), probs.shape[-1])
  return probs, np.asarray(splits.y_test), splits.info or {}


def _test_items(labels, info):
  """What identifies the test items: their file names where the data name
  them, else their labels."""
  files = info.get('test_files')
  if files:
    return [os.path.basename(f) for f in files]
  return labels.tolist()


def ensemble(workdirs, which='final', data_dir=None):
  """The mean of the members' softmax outputs, scored on their test split.

  Returns {'members', 'test_accuracy' (the ensemble's), 'member_accuracy'
  (each member's, in order), 'mean_member_accuracy', 'per_class_accuracy'
  and, where the data name each test item's speaker, 'per_speaker_accuracy'}.
  """
  if len(workdirs) < 2:
    raise errors.ConfigError(
        f'--workdir: {len(workdirs)} run(s) given; an ensemble needs 2 or more')
  probs, first = [], None
  for workdir in workdirs:
    probs_RxNxC, labels, info = member_probabilities(workdir, which, data_dir)
    if first is None:
      first = (workdir, labels, info, _test_items(labels, info))
    elif (_test_items(labels, info) != first[3]
          or probs_RxNxC.shape[-1] != probs[0].shape[-1]):
      raise errors.ConfigError(
          f'{workdir}: its test split differs from {first[0]}\'s (an '
          'ensemble scores runs on the same test items)')
    probs.append(probs_RxNxC)
  _, labels, info, _ = first
  members_MxNxC = np.concatenate(probs)
  mean_NxC = members_MxNxC.mean(axis=0)
  correct_N = mean_NxC.argmax(-1) == labels
  result = {
      'members': len(members_MxNxC),
      'test_accuracy': float(correct_N.mean()),
      'member_accuracy': [float(a) for a in
                          (members_MxNxC.argmax(-1) == labels).mean(axis=1)],
      'per_class_accuracy': [
          float(correct_N[labels == c].mean()) if (labels == c).any() else None
          for c in range(mean_NxC.shape[-1])],
  }
  result['mean_member_accuracy'] = float(np.mean(result['member_accuracy']))
  speakers = info.get('test_speakers')
  if speakers:
    result['per_speaker_accuracy'] = evaluator_lib.accuracy_by_group(
        mean_NxC, labels, speakers)
  return result


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
