"""Labelled synthetic images as `python -m eval.generate` writes them.

An .npz with `x` uint8 [N, 28, 28] (MNIST's encoding) and `y` int [N]. The
grid experiments (Tables 5 and 6) append the first k images of each class to
their real training images, so a smaller k is a prefix of a larger one.
"""

import os
import zipfile

import numpy as np

import errors
from data import mnist_pipeline


def load(path, pixel_range):
  """(x float32 [N, 28, 28, 1] in pixel_range, y int32 [N]) from an .npz."""
  if not os.path.isfile(path):
    raise errors.DataError(f'{path}: no such synthetic-image file (write one '
                           'with python -m eval.generate)')
  try:
    f = np.load(path, allow_pickle=False)
    if not isinstance(f, np.lib.npyio.NpzFile):
      raise ValueError('an .npy array')
    with f:
      x, y = f['x'], f['y']
  except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as e:
    raise errors.DataError(
        f'{path}: not an .npz with x and y arrays ({type(e).__name__}: {e}); '
        'write it again with python -m eval.generate') from e
  if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
    raise errors.DataError(f'{path}: x is {x.dtype} {x.shape}, expected uint8 '
                           '[N, 28, 28]')
  if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
    raise errors.DataError(f'{path}: y is {y.dtype} {y.shape}, expected '
                           f'integers [{len(x)}]')
  if len(y) and (y.min() < 0 or y.max() > 9):
    raise errors.DataError(f'{path}: labels {int(y.min())}..{int(y.max())}, '
                           'expected digits 0-9')
  return mnist_pipeline.scale_pixels(x, pixel_range), y.astype(np.int32)


def check_per_class(y, per_class, num_classes=10, source='synthetic images'):
  """Raises unless every class has at least `per_class` images."""
  counts = np.bincount(y, minlength=num_classes)[:num_classes]
  if per_class and counts.min() < per_class:
    raise errors.ConfigError(
        f'{source}: {per_class} images per class needed, but class '
        f'{int(counts.argmin())} has only {int(counts.min())}')


def first_per_class(x, y, per_class, num_classes=10):
  """The first `per_class` images of each class, class by class."""
  check_per_class(y, per_class, num_classes)
  idx = np.concatenate([np.flatnonzero(y == c)[:per_class]
                        for c in range(num_classes)])
  return x[idx], y[idx]
