"""python -m eval.adapt --workdir=RUN [--recordings=10] [--seed=0] [--which=final] [--data_dir=DIR]

Adapts a classifier run to its test data without labels and scores it: the
BatchNorm statistics are re-estimated on `--recordings` test items drawn at
random (their inputs only, train.evaluator.adapt_batch_stats: AdaBN), and the
run is scored, before and after, on the other test items. Meant for a
leave-one-speaker-out run, whose test items are one voice the model never
heard: a few unlabelled recordings of a new speaker re-centre every layer on
that voice (docs/voices.md, "Adapting to the voice"). --recordings=-1
adapts on every test item and scores them all (transductive).
"""

from absl import app
from absl import flags
import numpy as np

from eval import common
import errors
from train import evaluator as evaluator_lib
from train import state as state_lib

FLAGS = flags.FLAGS


def adapted(config, state, splits, recordings, seed=0):
  """{'accuracy', 'adapted_accuracy', 'adapted_on', 'scored', 'labels',
  'probabilities'} of a loaded run: its test accuracy on the scored items
  before and after its BatchNorm statistics are re-estimated on `recordings`
  other test items (a random draw of `seed`, so runs on the same test set
  draw the same items; -1: on all of them, which are then all scored), the
  scored items' labels and adapted probabilities [scored, classes] (for an
  ensemble of adapted runs)."""
  if config.train.loss != 'softmax_xent':
    raise errors.ConfigError(
        f'train.loss={config.train.loss!r}: adaptation is scored by accuracy '
        '(softmax_xent runs only)')
  if len(state_lib.replica_seeds(config)) > 1:
    raise errors.ConfigError('a run of vmapped replicas; adapt a single-seed '
                             'run')
  if not state.batch_stats:
    raise errors.ConfigError(f'model {config.model.name!r} has no BatchNorm '
                             'statistics to adapt')
  x, y = np.asarray(splits.x_test), np.asarray(splits.y_test)
  if recordings == -1:
    adapt_idx = scored_idx = np.arange(len(y))
  elif 0 < recordings < len(y):
    order = np.random.default_rng(seed).permutation(len(y))
    adapt_idx, scored_idx = order[:recordings], order[recordings:]
  else:
    raise errors.ConfigError(
        f'recordings={recordings}: need 1..{len(y) - 1} (the run has '
        f'{len(y)} test items) or -1 (all)')
  adapted_state = evaluator_lib.adapt_batch_stats(state, x[adapt_idx])
  result = {'adapted_on': len(adapt_idx), 'scored': len(scored_idx),
            'labels': y[scored_idx]}
  for name, s in (('accuracy', state), ('adapted_accuracy', adapted_state)):
    probs = evaluator_lib.probabilities(s, x[scored_idx],
                                        config.eval.batch_size)
    result[name] = float((probs.argmax(-1) == result['labels']).mean())
  result['probabilities'] = probs
  return result


def adapt_and_score(workdir, recordings, seed=0, which='final',
                    data_dir=None):
  """adapted() of the run in `workdir`."""
  config, _, state, splits = common.load_run(workdir, which, data_dir)
  try:
    return adapted(config, state, splits, recordings, seed)
  except errors.ConfigError as e:
    raise errors.ConfigError(f'{workdir}: {e}') from e


@common.cli
def main(_):
  r = adapt_and_score(FLAGS.workdir, FLAGS.recordings, FLAGS.seed,
                      FLAGS.which, FLAGS.data_dir)
  print(f'BatchNorm statistics from {r["adapted_on"]} unlabelled test items; '
        f'on the {r["scored"]} scored: test_accuracy {r["accuracy"]:.4f} -> '
        f'{r["adapted_accuracy"]:.4f} adapted (checkpoint {FLAGS.which})')


if __name__ == '__main__':
  flags.DEFINE_string('workdir', None, 'Run directory written by main.py.')
  flags.DEFINE_integer('recordings', 10,
                       'Test items to adapt on (-1: all, scored on all).')
  flags.DEFINE_integer('seed', 0, 'Seed of the draw of those items.')
  flags.DEFINE_enum('which', 'final', ['final', 'latest', 'best'],
                    'Which checkpoint to adapt.')
  flags.DEFINE_string('data_dir', None,
                      'Data root to read instead of the run\'s data.dir.')
  flags.mark_flag_as_required('workdir')
  app.run(main)
