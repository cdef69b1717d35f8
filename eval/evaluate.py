"""python -m eval.evaluate --workdir=runs/se [--which=final|latest|best] [--data_dir=DIR]

Restores the checkpoint of a run and evaluates it on the run's test split:
loss and accuracy and, for a classifier, the accuracy per class (and per
speaker on FSDD) and the confusion matrix. Writes <workdir>/eval.json and <workdir>/confusion.png and
prints a summary. --data_dir reads the data from another folder than the
data.dir in the run's config.json (a run copied to another machine).
"""

import os

from absl import app
from absl import flags
from absl import logging
import numpy as np

from eval import common
from eval import report
from train import evaluator as evaluator_lib
from train import losses
from train import metrics
from train import state as state_lib

FLAGS = flags.FLAGS


def confusion_matrix(labels, predicted, num_classes):
  """Counts [true, predicted]."""
  counts = np.zeros((num_classes, num_classes), np.int64)
  np.add.at(counts, (labels, predicted), 1)
  return counts


def evaluate(workdir, which='final', data_dir=None):
  """Test metrics of the run in `workdir`; for classifiers also
  'per_class_accuracy' (None for a class without test items) and
  'confusion_matrix' (summed over the replicas of a replicated run, whose
  per-class accuracy is then the mean over replicas like its test_accuracy)
  and, on FSDD, 'per_speaker_accuracy'."""
  config, _, state, splits = common.load_run(workdir, which, data_dir)
  replicated = len(state_lib.replica_seeds(config)) > 1
  evaluator = evaluator_lib.Evaluator(
      losses.get_loss(config.train.loss), config.eval.batch_size, replicated,
      **evaluator_lib.reported_l2(config))
  result = {'checkpoint': which, **evaluator_lib.summarize(
      evaluator(state, splits.x_test, splits.y_test, 'test_'))}
  if config.train.loss == 'softmax_xent':
    probs = evaluator_lib.probabilities(state, splits.x_test,
                                        config.eval.batch_size, replicated)
    predicted = probs.argmax(-1).reshape(-1, len(splits.y_test))
    counts = sum(confusion_matrix(splits.y_test, p, splits.num_classes)
                 for p in predicted)
    result['per_class_accuracy'] = [
        float(counts[c, c] / counts[c].sum()) if counts[c].sum() else None
        for c in range(splits.num_classes)]
    result['confusion_matrix'] = counts.tolist()
    speakers = (splits.info or {}).get('test_speakers')
    if speakers:
      result['per_speaker_accuracy'] = evaluator_lib.accuracy_by_group(
          probs, splits.y_test, speakers)
  return result


@common.cli
def main(_):
  result = evaluate(FLAGS.workdir, FLAGS.which, FLAGS.data_dir)
  print(', '.join(f'{k} {v:.4f}' for k, v in result.items()
                  if isinstance(v, float)) + f' (checkpoint {FLAGS.which})')
  if 'confusion_matrix' in result:
    print('per-class accuracy: ' + '  '.join(
        f'{c}: {"-" if a is None else f"{a:.3f}"}'
        for c, a in enumerate(result['per_class_accuracy'])))
  if 'per_speaker_accuracy' in result:
    print('per-speaker accuracy: ' + '  '.join(
        f'{s}: {a:.3f}' for s, a in result['per_speaker_accuracy'].items()))
  out = os.path.join(FLAGS.workdir, 'eval.json')
  try:  # a read-only run still gets its numbers printed
    metrics.write_json(out, result)
    if 'confusion_matrix' in result:
      png = os.path.join(FLAGS.workdir, 'confusion.png')
      report.plot_confusion(np.asarray(result['confusion_matrix']), png,
                            f'{FLAGS.workdir} ({FLAGS.which} checkpoint)')
      out += f', {png}'
  except OSError as e:
    logging.warning('%s: not written (%s)', out, e.strerror)
    return
  print(f'wrote {out}')


if __name__ == '__main__':
  flags.DEFINE_string('workdir', None, 'Run directory written by main.py.')
  flags.DEFINE_enum('which', 'final', ['final', 'latest', 'best'],
                    'Which checkpoint to evaluate.')
  flags.DEFINE_string('data_dir', None,
                      'Data root to read instead of the run\'s data.dir.')
  flags.mark_flag_as_required('workdir')
  app.run(main)
