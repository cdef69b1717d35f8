"""python -m eval.gradcam --workdir=runs/spectrogram/lenet_hybrid --out=gradcam.png

Grad-CAM (Selvaraju et al. 2017) of a run's last conv layer over the input
spectrograms of a few test recordings, and the channel-attention weights
averaged per class (the seed's Figure 16). The model exposes the layer as a
Flax perturbation ('last_conv' in nets.lenet), so the gradient with respect
to the activation comes from jax.grad without a second forward definition.
"""

import functools
import os

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

import errors
from eval import common

FLAGS = flags.FLAGS


@functools.partial(jax.jit, static_argnames=('model', 'layer'))
def _gradcam(model, variables, x, labels, layer):
  """Unnormalised maps [B, h, w] at the layer's resolution."""
  _, init = model.apply(variables, x, train=False, mutable=['perturbations'])

  def score(perturbations):
    logits, out = model.apply({**variables, 'perturbations': perturbations}, x,
                              train=False, mutable=['intermediates'])
    chosen = jnp.take_along_axis(logits, labels[:, None], axis=1)
    return jnp.sum(chosen.astype(jnp.float32)), out['intermediates'][layer][0]

  grads, acts_BxhxwxK = jax.grad(score, has_aux=True)(init['perturbations'])
  alpha_Bx1x1xK = jnp.mean(grads[layer], axis=(1, 2), keepdims=True)
  return jax.nn.relu(jnp.sum(alpha_Bx1x1xK * acts_BxhxwxK, axis=-1))


def gradcam(model, variables, x, labels, layer='last_conv'):
  """Grad-CAM maps [B, H, W] in [0, 1] of each sample's own class `labels`.

  The score is sum_i logit[i, labels[i]]: the samples do not interact in eval
  mode, so its gradient gives every sample the gradient of its own logit.
  Each map is ReLU(sum_k alpha_k A_k) with alpha_k the spatial mean of the
  gradient, resized to the input and divided by its maximum (an all-zero map
  stays zero).
  """
  cam_Bxhxw = _gradcam(model, variables, x, labels, layer)
  cam_BxHxW = np.asarray(jax.image.resize(
      cam_Bxhxw.astype(jnp.float32), (x.shape[0], *x.shape[1:3]), 'bilinear'))
  peak = cam_BxHxW.max(axis=(1, 2), keepdims=True)
  return np.divide(cam_BxHxW, peak, out=np.zeros_like(cam_BxHxW),
                   where=peak > 0)


def channel_weights_per_class(model, variables, x, labels, num_classes,
                              batch_size=250):
  """{layer path: [num_classes, C] mean channel-attention weight per class}."""
  apply = jax.jit(lambda v, xb: model.apply(v, xb, train=False,
                                            mutable=['intermediates'])[1])
  sums = {}
  for i in range(0, len(x), batch_size):
    flat = jax.tree_util.tree_flatten_with_path(
        apply(variables, x[i:i + batch_size]))[0]
    for path, w_BxC in flat:
      keys = [str(getattr(k, 'key', getattr(k, 'idx', k))) for k in path]
      if 'channel_weights' not in keys:
        continue
      name = '/'.join(k for k in keys[1:] if k != 'channel_weights' and
                      not k.isdigit())
      onehot = np.eye(num_classes)[labels[i:i + batch_size]]
      sums[name] = sums.get(name, 0) + onehot.T @ np.asarray(w_BxC, np.float64)
  counts = np.bincount(labels, minlength=num_classes)[:, None]
  return {k: v / np.maximum(counts, 1) for k, v in sums.items()}


def pick_examples(labels, num):
  """Indices of the first test item of each of `num` different labels."""
  firsts = [int(np.flatnonzero(labels == c)[0]) for c in np.unique(labels)]
  return np.asarray(firsts[:num])


def plot(path, images, cams, titles, channel_weights):
  """Rows: inputs, Grad-CAM overlays, then one heatmap per attention layer."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  n = len(images)
  extra = len(channel_weights)
  fig = plt.figure(figsize=(2.2 * n, 4.6 + 2.4 * extra))
  grid = fig.add_gridspec(2 + extra, n)
  for j, (image, cam, title) in enumerate(zip(images, cams, titles)):
    shown = image[..., 0] if image.shape[-1] == 1 else image
    for row in range(2):
      ax = fig.add_subplot(grid[row, j])
      ax.imshow(shown, cmap='gray' if shown.ndim == 2 else None)
      if row:
        ax.imshow(cam, cmap='jet', alpha=0.5, vmin=0, vmax=1)
      ax.set_xticks([])
      ax.set_yticks([])
      ax.set_title(title if not row else 'Grad-CAM', fontsize=8)
  for r, (name, w) in enumerate(channel_weights.items()):
    ax = fig.add_subplot(grid[2 + r, :])
    im = ax.imshow(w, aspect='auto', cmap='viridis')
    ax.set_ylabel('digit')
    ax.set_xlabel('channel')
    ax.set_yticks(range(len(w)))
    ax.set_title(f'mean channel-attention weight per class: {name}', fontsize=9)
    fig.colorbar(im, ax=ax)
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=70)
  plt.close(fig)


def explain_run(workdir, out, num=6, which='final'):
  """Writes the Grad-CAM / channel-attention figure of the run in workdir."""
  config, model, state, splits = common.load_run(workdir, which)
  variables = state.variables()
  x, y = splits.x_test, splits.y_test
  _, exposed = jax.eval_shape(functools.partial(
      model.apply, train=False, mutable=['perturbations']), variables, x[:1])
  if 'last_conv' not in exposed.get('perturbations', {}):
    raise errors.ConfigError(
        f'{workdir}: model.name={config.model.name!r} exposes no last_conv '
        'layer for Grad-CAM (the spectrogram LeNets do)')
  idx = pick_examples(y, num)
  cams = gradcam(model, variables, jnp.asarray(x[idx]), jnp.asarray(y[idx]))
  files = (splits.info or {}).get('test_files')
  titles = [os.path.basename(files[i]) if files else f'digit {y[i]}'
            for i in idx]
  weights = channel_weights_per_class(model, variables, x, y,
                                      splits.num_classes)
  plot(out, x[idx], cams, titles, weights)
  return out


@common.cli
def main(_):
  out = FLAGS.out or os.path.join(FLAGS.workdir, 'gradcam.png')
  explain_run(FLAGS.workdir, out, FLAGS.num, FLAGS.which)
  print(out)


if __name__ == '__main__':
  # Defined here, not at import, since experiments.spectrogram imports this module
  # under main.py, which owns --workdir.
  flags.DEFINE_string('workdir', None, 'Run directory written by main.py.')
  flags.DEFINE_string('out', None, 'PNG (default <workdir>/gradcam.png).')
  flags.DEFINE_integer('num', 6, 'Test recordings shown, of different digits.')
  flags.DEFINE_enum('which', 'final', ['final', 'latest', 'best'],
                    'Which checkpoint to explain.')
  flags.mark_flag_as_required('workdir')
  app.run(main)
