"""MNIST readers: canonical IDX files, Kaggle-style class folders, TFDS fallback."""

import gzip
import os
import pathlib

import numpy as np

import errors

IDX_FILES = {
    'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}
_IMAGE_MAGIC, _LABEL_MAGIC = 2051, 2049
_IMAGE_EXTS = ('.png', '.jpg', '.jpeg')


def _read_idx(path, magic, ndim):
  """Reads one (optionally gzipped) IDX file, checking its magic and size."""
  opener = gzip.open if str(path).endswith('.gz') else open
  try:
    with opener(path, 'rb') as f:
      raw = f.read()
  except (OSError, EOFError) as e:
    raise errors.DataError(f'{path}: cannot read IDX file ({e})') from e
  header = 4 + 4 * ndim
  if len(raw) < header:
    raise errors.DataError(f'{path}: truncated IDX file ({len(raw)} bytes)')
  found = int.from_bytes(raw[:4], 'big')
  if found != magic:
    raise errors.DataError(
        f'{path}: wrong IDX magic number {found}, expected {magic}')
  dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
  expected = header + int(np.prod(dims))
  if len(raw) != expected:
    raise errors.DataError(
        f'{path}: IDX file has {len(raw)} bytes, header {dims} needs {expected}'
        ' (truncated or corrupt)')
  return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def read_idx_split(directory, split):
  """Returns (images uint8 [N,28,28], labels uint8 [N]) of one IDX split."""
  image_name, label_name = IDX_FILES[split]
  images = _read_idx(pathlib.Path(directory) / image_name, _IMAGE_MAGIC, 3)
  labels = _read_idx(pathlib.Path(directory) / label_name, _LABEL_MAGIC, 1)
  if len(images) != len(labels):
    raise errors.DataError(
        f'{directory}: {image_name} has {len(images)} images but {label_name}'
        f' has {len(labels)} labels')
  if labels.size and labels.max() > 9:
    raise errors.DataError(f'{directory}/{label_name}: label {labels.max()} > 9')
  return images, labels


def read_class_folders(root):
  """Reads the Kaggle Reduced-MNIST layout `<root>/<digit>/*.png|jpg`."""
  from PIL import Image  # Only this layout needs Pillow (a matplotlib dep).
  images, labels = [], []
  for digit in range(10):
    folder = pathlib.Path(root) / str(digit)
    if not folder.is_dir():
      raise errors.DataError(f'{folder}: missing class folder for digit {digit}')
    for path in sorted(folder.iterdir()):
      if path.suffix.lower() not in _IMAGE_EXTS:
        continue
      try:
        with Image.open(path) as im:
          img = np.asarray(im.convert('L').resize((28, 28)), np.uint8)
      except OSError as e:
        raise errors.DataError(f'{path}: unreadable image ({e})') from e
      images.append(img)
      labels.append(digit)
  if not images:
    raise errors.DataError(f'{root}: no .png/.jpg images in its class folders')
  return np.stack(images), np.asarray(labels, np.uint8)


def _load_tfds(split):
  import tensorflow_datasets as tfds  # Heavy; only for the download path.
  ds = tfds.as_numpy(tfds.load('mnist', split=split, batch_size=-1))
  return ds['image'][..., 0].astype(np.uint8), ds['label'].astype(np.uint8)


def load_mnist(directory, split, allow_download=True):
  """Loads one MNIST split ('train' or 'test') from IDX files or TFDS.

  Looks for the four canonical IDX files in `directory`; if they are not all
  there and `allow_download`, tries TFDS (needs a connected machine and
  tensorflow). Raises DataError naming where it looked otherwise.
  """
  directory = os.path.expanduser(str(directory))
  wanted = [pathlib.Path(directory) / n for n in IDX_FILES[split]]
  present = [p.exists() for p in wanted]
  if all(present):
    return read_idx_split(directory, split)
  if any(present):
    missing = [str(p) for p, ok in zip(wanted, present) if not ok]
    raise errors.DataError(f'{missing[0]}: missing MNIST file')
  if allow_download:
    try:
      return _load_tfds(split)
    except Exception as e:  # pylint: disable=broad-except
      reason = f'TFDS download failed: {type(e).__name__}: {e}'.split('\n')[0]
  else:
    reason = 'download disabled'
  raise errors.DataError(
      f'{directory}: no MNIST IDX files ({IDX_FILES[split][0]}, ...) and '
      f'{reason}. Set config.data.dir or ${errors.DATA_ENV} to a folder with '
      'the four IDX files.')
