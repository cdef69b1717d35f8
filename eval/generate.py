"""python -m eval.generate --workdir=runs/gan_300 --per_class=1000 --out=synthetic.npz

Restores the generator of a GAN run and writes labelled synthetic images
(`x` uint8 [N, 28, 28] like MNIST, `y` int32 [N], class by class, and the
run, epochs, seed and bn they came from), the same for the same --seed, plus a sample grid PNG (one row per class, Figures 6/7).
--bn=batch samples with each batch's own BatchNorm statistics instead of the
running averages (for checking that eval-mode samples are not degraded).
"""

import os

from absl import app
from absl import flags
import jax
import numpy as np
from PIL import Image

import errors
from eval import common
from train import checkpoint
from train import gan
from train import metrics
from train import workdir as workdir_lib

FLAGS = flags.FLAGS


def load_generator(workdir):
  """(config, generator TrainState) of the newest checkpoint in `workdir`."""
  config = workdir_lib.load_config(workdir)
  if config.get('experiment') != 'gan':
    raise errors.CheckpointError(
        f'{workdir}/config.json: experiment={config.get("experiment")!r}, '
        'not a GAN run')
  template = gan.create_states(config, jax.random.PRNGKey(0))
  ckpts = checkpoint.Checkpoints(workdir, read_only=True)
  restored = ckpts.restore(ckpts.latest, template, gan.model_configs(config))
  ckpts.close()
  if restored is None:
    raise errors.CheckpointError(f'{workdir}/checkpoints: no checkpoint')
  return config, restored[0]['generator']


def check_labels(labels, num_classes=10):
  labels = np.asarray(labels)
  bad = labels[(labels < 0) | (labels >= num_classes)]
  if bad.size:
    raise errors.ConfigError(
        f'labels {sorted(set(bad.tolist()))}: outside 0-{num_classes - 1}')
  return labels.astype(np.int32)


def grid_inputs(seed, z_dim, per_class=10, num_classes=10):
  """A fixed (z, labels) grid: row c holds `per_class` samples of class c."""
  labels = np.repeat(np.arange(num_classes), per_class).astype(np.int32)
  z = jax.random.normal(jax.random.PRNGKey(seed), (len(labels), z_dim))
  return z, labels


def grid_image(images, rows):
  """[rows*cols, H, W, 1] in [-1, 1] -> one [rows*H, cols*W] image in [0, 1]."""
  images = np.asarray(images)[..., 0]
  n, h, w = images.shape
  cols = n // rows
  tiled = images[:rows * cols].reshape(rows, cols, h, w).transpose(0, 2, 1, 3)
  return np.clip((tiled.reshape(rows * h, cols * w) + 1.0) / 2.0, 0.0, 1.0)


def save_grid(path, images, rows):
  """Writes the images as a PNG grid (one row per class) and returns it."""
  grid = grid_image(images, rows)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  Image.fromarray(np.round(grid * 255).astype(np.uint8)).save(path)
  return grid


def generate(config, state, per_class, labels=range(10), seed=0, bn='running'):
  """float32 images [len(labels)*per_class, 28, 28, 1] in [-1, 1] and labels.

  Batches mix the labels (as in training), which matters for bn='batch'.
  """
  labels = check_labels(list(labels))
  if per_class < 0:
    raise errors.ConfigError(f'per_class={per_class}: must be >= 0')
  y = np.repeat(labels, per_class).astype(np.int32)
  z = jax.random.normal(jax.random.PRNGKey(seed), (len(y), config.train.z_dim))
  order = np.asarray(jax.random.permutation(jax.random.PRNGKey(seed + 1), len(y)))
  bs = config.train.batch_size
  render = jax.jit(gan.sample, static_argnames='batch_stats')
  x = np.zeros((len(y), 28, 28, 1), np.float32)
  for i in range(0, len(y), bs):
    idx = order[i:i + bs]
    x[idx] = np.asarray(render(state, z[idx], y[idx], batch_stats=bn == 'batch'))
  return x, y


def save_samples(path, x, y, workdir, seed, bn):
  """An .npz of uint8 images and labels (data/synthetic.py reads it) that
  also records how they were made, so eval.gan_quality can score the file
  alone after the checkpoints are gone: the GAN run, its epochs, seed, bn."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  np.savez_compressed(
      path, x=to_uint8(x), y=y,
      run=os.path.basename(os.path.normpath(workdir)),
      epochs=len(metrics.read_history(workdir)), seed=seed, bn=bn)


def to_uint8(x):
  """[-1, 1] float [N, 28, 28, 1] -> uint8 [N, 28, 28], MNIST's encoding."""
  return np.round((np.clip(x[..., 0], -1, 1) + 1) * 127.5).astype(np.uint8)


@common.cli
def main(_):
  config, state = load_generator(FLAGS.workdir)
  try:
    labels = [int(c) for c in FLAGS.labels]
  except ValueError as e:
    raise errors.ConfigError(f'--labels={",".join(FLAGS.labels)}: {e}') from e
  x, y = generate(config, state, FLAGS.per_class, labels, FLAGS.seed, FLAGS.bn)
  grid_x, _ = generate(config, state, FLAGS.grid_per_class, labels, FLAGS.seed,
                       FLAGS.bn)
  out = os.path.join(FLAGS.workdir, FLAGS.out)
  save_samples(out, x, y, FLAGS.workdir, FLAGS.seed, FLAGS.bn)
  # generate() returns images class by class: row r of the grid is labels[r].
  png = os.path.splitext(out)[0] + '_grid.png'
  save_grid(png, grid_x, rows=len(labels))
  print(f'wrote {len(y)} images to {out}, grid {png}')


if __name__ == '__main__':
  flags.DEFINE_string('workdir', None, 'GAN run directory written by main.py.')
  flags.mark_flag_as_required('workdir')
  flags.DEFINE_integer('per_class', 1000, 'Images per label.')
  flags.DEFINE_list('labels', [str(c) for c in range(10)], 'Labels to generate.')
  flags.DEFINE_string('out', 'synthetic.npz', 'Output .npz (relative: in workdir).')
  flags.DEFINE_integer('seed', 0, 'Noise seed: same seed, same images.')
  flags.DEFINE_enum('bn', 'running', ['running', 'batch'],
                    'BatchNorm statistics: running averages or per batch.')
  flags.DEFINE_integer('grid_per_class', 10, 'Columns of the sample grid PNG.')
  app.run(main)
