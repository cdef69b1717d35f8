"""python -m eval.attention_maps --workdir=runs/se --out=runs/se/maps.png

Plots a few test digits beside the attention maps their model sows: spatial
gates (13x13), CBAM's spatial map, self-attention received per grid cell
(5x5, averaged over heads and queries) and channel weights (SE/CBAM, bars).
"""


from absl import app
from absl import flags
import jax
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

import errors
from eval import common

FLAGS = flags.FLAGS


def collect_maps(state, x):
  """{map name: np array [B, ...]} of everything the model sows."""
  logits, inter = state.apply_fn(
      {'params': state.params, 'batch_stats': state.batch_stats}, x,
      train=False, mutable=['intermediates'])
  maps = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(
      inter.get('intermediates', {}))[0]:
    name = [k.key for k in path if hasattr(k, 'key')][-1]  # skip sow's tuple
    maps[name] = np.asarray(leaf)
  if 'attention_weights' in maps:  # [B, heads, queries, keys] -> [B, h, w]
    w = maps.pop('attention_weights').mean(axis=(1, 2))
    side = int(round(np.sqrt(w.shape[-1])))
    maps['self_attention_received'] = w.reshape(-1, side, side)
  return {k: (v[..., 0] if v.ndim == 4 else v) for k, v in maps.items()}, (
      np.asarray(logits).argmax(-1))


def plot_maps(images, labels, preds, maps, path, title=''):
  """One row per digit: the input, then each map (2-D as image, 1-D as bars)."""
  names = sorted(maps)
  n, cols = len(images), 1 + len(names)
  fig, axes = plt.subplots(n, cols, figsize=(2.2 * cols, 2.2 * n),
                           squeeze=False)
  for i in range(n):
    axes[i, 0].imshow(images[i, ..., 0], cmap='gray')
    axes[i, 0].set_title(f'label {labels[i]} / pred {preds[i]}', fontsize=8)
    for j, name in enumerate(names, 1):
      m, ax = maps[name][i], axes[i, j]
      if m.ndim == 2:
        ax.imshow(m, cmap='viridis', vmin=0, vmax=max(float(m.max()), 1e-6))
      else:
        ax.bar(np.arange(len(m)), m)
        ax.set_ylim(0, 1)
      if i == 0:
        ax.set_title(name, fontsize=8)
  for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def render(workdir, out, num=6):
  """Writes the attention-map figure of the run in `workdir` to `out`."""
  config, _, state, splits = common.load_run(workdir)
  x, y = splits.x_test[:num], splits.y_test[:num]
  maps, preds = collect_maps(state, x)
  if not maps:
    raise errors.ConfigError(
        f'model.name={config.model.name!r} in {workdir} sows no attention maps')
  plot_maps(x, y, preds, maps, out, title=config.model.name)
  return maps


@common.cli
def main(_):
  render(FLAGS.workdir, FLAGS.out, FLAGS.num)


if __name__ == '__main__':
  flags.DEFINE_string('workdir', None, 'Run directory written by main.py.')
  flags.DEFINE_string('out', None, 'PNG to write.')
  flags.DEFINE_integer('num', 6, 'Test digits to show.')
  flags.mark_flags_as_required(['workdir', 'out'])
  app.run(main)
