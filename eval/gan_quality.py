"""python -m eval.gan_quality --workdirs=runs/gan_300 --judge=runs/mnist_judge

Quality numbers for GAN runs, scored by a "judge": a classifier trained on
all 60k real images (python main.py --config=configs/gan_base.py:judge
--workdir=runs/mnist_judge), in the GAN's [-1, 1] pixel range.
  - class consistency: the judge's accuracy on samples of each label;
  - Frechet distance between the judge's penultimate features of the samples
    and of the real MNIST test images (the "real" row: real train vs test);
  - CAS (classification accuracy score): the Table-2 CNN trained on the
    synthetic images only, tested on the real test images.
Each is given for eval-mode sampling with running BatchNorm averages and with
batch statistics. Writes <out>.md/.csv and <workdir>/quality.json per run.
--samples scores eval.generate .npz files instead (one row each, the mode and
seed they were made with), so a GAN trained elsewhere is scored from its
samples alone:
  python -m eval.gan_quality --samples=runs/gan_full/synthetic.npz
"""

import functools
import hashlib
import json
import os

from absl import app
from absl import flags
import jax
import numpy as np
from scipy import linalg

from configs import base
from data import splits as splits_lib
from data import synthetic as synthetic_lib
import errors
from eval import common
from eval import generate as generate_lib
from eval import report
import nets
from train import evaluator as evaluator_lib
from train import losses
from train import metrics
from train import trainer

FLAGS = flags.FLAGS


class Judge:
  """The judge's accuracy and penultimate (`features_layer` + ReLU) features."""

  def __init__(self, judge_dir, features_layer='Dense_0'):
    self.config, self.model, self.state, self.splits = common.load_run(judge_dir)
    if tuple(self.config.data.pixel_range) != (-1.0, 1.0):
      raise errors.ConfigError(
          f'{judge_dir}/config.json: data.pixel_range='
          f'{tuple(self.config.data.pixel_range)}; the judge must see the '
          "GAN's (-1, 1) pixels")
    self.evaluate = evaluator_lib.Evaluator(losses.softmax_xent,
                                            self.config.eval.batch_size)
    variables = self.state.variables()

    def features(x):
      _, inter = self.model.apply(
          variables, x, capture_intermediates=lambda m, _: m.name == features_layer,
          mutable=['intermediates'])
      return jax.nn.relu(inter['intermediates'][features_layer]['__call__'][0])
    self._features = jax.jit(features)

  @functools.cached_property
  def real_features(self):
    """Features of the real test images, the reference of every distance."""
    return self.features(self.splits.x_test)

  def features(self, x):
    bs = self.config.eval.batch_size
    return np.concatenate([np.asarray(self._features(x[i:i + bs]))
                           for i in range(0, len(x), bs)]).astype(np.float64)


def frechet_distance(f1, f2):
  """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2) of two feature sets."""
  mu1, mu2 = f1.mean(0), f2.mean(0)
  s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
  covmean = linalg.sqrtm(s1 @ s2)
  if np.iscomplexobj(covmean):
    covmean = covmean.real  # sqrtm's numerical imaginary noise
  return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean))


def cas(judge, x, y, workdir, epochs, seed):
  """Test accuracy on real test images of the Table-2 CNN trained on (x, y)."""
  config = base.derive(judge.config, seed=seed,
                       model={'name': 'base', 'dropout': 0.5},
                       **{'train.epochs': epochs, 'train.progress': False})
  s = judge.splits
  splits = splits_lib.Splits(x, y, s.x_test, s.y_test, s.x_test, s.y_test)
  state, _ = trainer.fit(
      config, workdir, nets.get_model(config.model, config.defaults), splits)
  return judge.evaluate(state, s.x_test, s.y_test)['accuracy']


def score_images(judge, x, y, row, cas_dir, cas_epochs, seed):
  """`row` plus the quality numbers of images x [-1, 1] with labels y."""
  per_label = [judge.evaluate(judge.state, x[y == c], y[y == c])['accuracy']
               for c in range(10)]
  row = {**row, 'class_consistency': float(np.mean(per_label)),
         'worst_class': int(np.argmin(per_label)),
         'worst_class_acc': float(np.min(per_label)),
         'frechet_distance': frechet_distance(judge.features(x),
                                              judge.real_features)}
  if cas_epochs:
    row['cas'] = cas(judge, x, y, cas_dir, cas_epochs, seed)
  return row


def score_run(judge, workdir, per_class, bn_modes, cas_epochs, seed):
  """Rows of quality numbers of one GAN run, one per sampling mode."""
  config, state = generate_lib.load_generator(workdir)
  epochs = len(metrics.read_history(workdir))
  rows = []
  for bn in bn_modes:
    x, y = generate_lib.generate(config, state, per_class, seed=seed, bn=bn)
    # One CAS workdir per generator epoch: fit would resume an older one.
    cas_dir = os.path.join(workdir, 'quality',
                           f'cas_{bn}_epoch{epochs}_n{per_class}')
    rows.append(score_images(
        judge, x, y, {'run': os.path.basename(os.path.normpath(workdir)),
                      'bn': bn, 'epochs': epochs},
        cas_dir, cas_epochs, seed))
  with open(os.path.join(workdir, 'quality.json'), 'w') as f:
    json.dump(rows, f, indent=2)
  return rows


def score_samples(judge, path, per_class, cas_epochs, seed):
  """The quality row of an eval.generate .npz: its first per_class images
  of each label, scored without the GAN's checkpoint."""
  x, y = synthetic_lib.load(path, judge.config.data.pixel_range)
  x, y = synthetic_lib.first_per_class(x, y, per_class)
  with np.load(path) as f:
    row = {k: f[k].item() if k in f else '?' for k in ('run', 'bn', 'epochs')}
  # Named by content: a rewritten .npz must not resume the CAS run of another.
  with open(path, 'rb') as f:
    digest = hashlib.sha256(f.read()).hexdigest()[:12]
  stem = os.path.splitext(os.path.basename(path))[0]
  cas_dir = os.path.join(os.path.dirname(os.path.abspath(path)), 'quality',
                         f'cas_{stem}_{digest}_n{per_class}')
  return score_images(judge, x, y, row, cas_dir, cas_epochs, seed)


def real_row(judge, n=10000):
  """The floor: judge accuracy and Frechet distance of real train vs test."""
  s = judge.splits
  return {'run': f'real ({min(n, len(s.x_train))} train images)', 'bn': '-',
          'epochs': '-', 'class_consistency': judge.evaluate(
              judge.state, s.x_train[:n], s.y_train[:n])['accuracy'],
          'frechet_distance': frechet_distance(
              judge.features(s.x_train[:n]), judge.real_features)}


@common.cli
def main(_):
  if not FLAGS.workdirs and not FLAGS.samples:
    raise errors.ConfigError('--workdirs, --samples: give GAN runs or '
                             'eval.generate .npz files to score')
  judge = Judge(FLAGS.judge)
  rows = [real_row(judge)]
  for workdir in FLAGS.workdirs or ():
    rows += score_run(judge, workdir, FLAGS.per_class, FLAGS.bn_modes,
                      FLAGS.cas_epochs, FLAGS.seed)
  rows += [score_samples(judge, path, FLAGS.per_class, FLAGS.cas_epochs,
                         FLAGS.seed) for path in FLAGS.samples or ()]
  columns = ['run', 'bn', 'epochs', 'class_consistency', 'worst_class',
             'worst_class_acc', 'frechet_distance', 'cas']
  print(report.write_table(
      rows, FLAGS.table, columns, title='Conditional DCGAN sample quality',
      notes=[f'Judge: {FLAGS.judge} (Table-2 CNN on all 60k real images, '
             f'{judge.config.train.epochs} epochs). {FLAGS.per_class} samples '
             f'per label, sampling seed {FLAGS.seed}; Frechet distance on its '
             '128-d penultimate features vs the 10k real test images; CAS: '
             f'the Table-2 CNN trained {FLAGS.cas_epochs} epochs on the '
             'samples only, accuracy on the real test images. '
             f'{metrics.machine_note()}']))


if __name__ == '__main__':
  flags.DEFINE_list('workdirs', None, 'GAN run directories.')
  flags.DEFINE_string('judge', 'runs/mnist_judge', 'Judge classifier run directory.')
  flags.DEFINE_integer('cas_epochs', 5, 'Epochs of the CAS classifier; 0: skip CAS.')
  flags.DEFINE_list('bn_modes', ['running', 'batch'], 'Sampling modes to score.')
  flags.DEFINE_string('table', 'docs/results/gan/quality', 'Table path stem (.md, .csv).')
  flags.DEFINE_list('samples', None,
                    'eval.generate .npz files to score (their first per_class '
                    'images of each label), e.g. after the checkpoints are gone.')
  flags.DEFINE_integer('per_class', 1000, 'Synthetic images per label.')
  flags.DEFINE_integer('seed', 0, 'Sampling seed: same seed, same images.')
  app.run(main)
