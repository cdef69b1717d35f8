"""Figure 5: a digit "5" under each augmentation, and the accuracy grid plot.

python -m eval.augment_figure --out=docs/results/augment_grid/figure5.png
Uses config.augment of configs/augment_grid.py and the first "5" of MNIST
train (data.dir of that config; --data_dir overrides).
"""

from absl import app
from absl import flags
import jax
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from data import augment

FLAGS = flags.FLAGS


def plot_augmentations(image, cfg, path, samples=6, seed=0):
  """Rows: each transform alone, then `combined`; first column the original."""
  names = list(augment.TRANSFORMS) + ['combined']
  lo, hi = cfg.pixel_range
  fig, axes = plt.subplots(len(names), samples + 1,
                           figsize=(1.1 * (samples + 1), 1.1 * len(names)))
  batch = np.repeat(image[None], samples, 0)
  for row, name in zip(axes, names):
    out = augment.augment_batch(
        jax.random.fold_in(jax.random.PRNGKey(seed), names.index(name)),
        batch, cfg, name)
    for ax, img in zip(row, [image, *np.asarray(out)]):
      ax.imshow(img[..., 0], cmap='gray', vmin=lo, vmax=hi)
      ax.set_xticks([])
      ax.set_yticks([])
    row[0].set_ylabel(name, rotation=0, ha='right', va='center', fontsize=8)
  axes[0, 0].set_title('original', fontsize=8)
  fig.suptitle(f'Figure 5: augmentations (combined: strength {cfg.strength})',
               fontsize=9)
  fig.tight_layout()
  fig.savefig(path, dpi=64)
  plt.close(fig)


def plot_accuracy(rows, path, study=None):
  """Test accuracy vs generated/class per real size: mean and 95% CI bars."""
  fig, ax = plt.subplots(figsize=(5.5, 3.8))
  for i, real in enumerate(sorted({r['real/class'] for r in rows})):
    cell = sorted((r for r in rows if r['real/class'] == real),
                  key=lambda r: r['generated/class'])
    gens = [r['generated/class'] for r in cell]
    ci = [0 if np.isnan(r['ci95']) else r['ci95'] for r in cell]
    ax.errorbar(gens, [r['mean'] for r in cell], yerr=ci, marker='o',
                capsize=3, color=f'C{i}', label=f'{real} real/class')
    if study and real in study:
      ax.plot(gens, [study[real].get(g, np.nan) for g in gens], '--x',
              color=f'C{i}', alpha=0.6, label=f'{real}: study (1 run)')
  ax.set_xlabel('generated (augmented) images per class')
  ax.set_ylabel('test accuracy')
  ax.legend(fontsize=7)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)


def main(_):
  from configs import augment_grid  # pylint: disable=g-import-not-at-top
  from data import mnist_pipeline  # pylint: disable=g-import-not-at-top
  config = augment_grid.get_config()
  if FLAGS.data_dir:
    config.data.dir = FLAGS.data_dir
  x, y = mnist_pipeline.load_images(config.data, 'train')
  five = mnist_pipeline.scale_pixels(x[np.flatnonzero(y == 5)[:1]],
                                     config.data.pixel_range)[0]
  plot_augmentations(five, config.augment, FLAGS.out, FLAGS.samples,
                     FLAGS.seed)
  print(f'wrote {FLAGS.out}')


if __name__ == '__main__':
  flags.DEFINE_string('out', 'figure5.png', 'Where to write the PNG.')
  flags.DEFINE_string('data_dir', None, 'Data root (default: the config\'s).')
  flags.DEFINE_integer('samples', 6, 'Random draws per augmentation.')
  flags.DEFINE_integer('seed', 0, 'Key of the draws.')
  app.run(main)
