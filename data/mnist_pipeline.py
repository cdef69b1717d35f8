"""Reduced MNIST and full MNIST as `Splits`, selected by config.data."""

import os

import numpy as np

from data import fetch
from data import mnist
from data import splits as splits_lib


def _mnist_dir(data_dir):
  """`<dir>/mnist`, where downloads go, unless only `<dir>` holds IDX files."""
  root = os.path.expanduser(data_dir)
  sub = os.path.join(root, 'mnist')
  if not os.path.isdir(sub) and any(
      os.path.exists(fetch.idx_path(root, n)) for n in fetch.MNIST_SHA256):
    return root
  return sub


def load_images(cfg, split):
  """uint8 images [N,28,28] and labels of one split, from folders or IDX."""
  folder = cfg.get(f'{split}_folder')
  if folder:
    return mnist.read_class_folders(folder)
  # Runs recorded before data.source existed read files.
  return mnist.load_mnist(_mnist_dir(cfg.dir), split, cfg.allow_download,
                          cfg.get('source', 'auto'))


def scale_pixels(images, pixel_range):
  """uint8 [N,28,28] -> float32 [N,28,28,1] in `pixel_range` (lo, hi)."""
  lo, hi = pixel_range
  return (images.astype(np.float32) / 255.0 * (hi - lo) + lo)[..., None]


def reduced_mnist(cfg):
  """N/class train and M/class test images, chosen by cfg.subset_seed.

  cfg.train_per_class / cfg.test_per_class of None take the whole split, so
  this also serves full MNIST. Validation is the test set when cfg.val ==
  'test' (as in the study) or a stratified fraction ('0.1') of the train
  subset.
  """
  x_tr, y_tr = load_images(cfg, 'train')
  x_te, y_te = load_images(cfg, 'test')
  # The whole source, so that a subset of other images is told apart while
  # the subset fields themselves are config.json's to compare.
  signature = splits_lib.signature(
      f'{len(x_tr)} train and {len(x_te)} test images', x_tr, y_tr, x_te, y_te)
  tr = splits_lib.stratified_indices(
      y_tr, cfg.train_per_class, cfg.subset_seed, 'data.train_per_class')
  te = splits_lib.stratified_indices(
      y_te, cfg.test_per_class, cfg.subset_seed + 1, 'data.test_per_class')
  x_tr = scale_pixels(x_tr[tr], cfg.pixel_range)
  x_te = scale_pixels(x_te[te], cfg.pixel_range)
  y_tr, y_te = y_tr[tr].astype(np.int32), y_te[te].astype(np.int32)
  if cfg.val == 'test':
    x_val, y_val = x_te, y_te
  else:
    x_tr, y_tr, x_val, y_val = splits_lib.split_validation(
        x_tr, y_tr, cfg.val, cfg.subset_seed)
  return splits_lib.Splits(
      x_tr, y_tr, x_val, y_val, x_te, y_te,
      info={'train_indices': tr, 'test_indices': te, 'signature': signature})

