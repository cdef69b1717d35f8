"""MNIST readers: IDX files (fetched on first use), class folders, TFDS."""

import gzip
import importlib.util
import os
import pathlib

import numpy as np

import errors
from data import fetch

# Raw IDX names; each file may be gzipped (`name.gz`) or not.
IDX_FILES = {
    'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
}
SOURCES = ('auto', 'tfds')
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
  images = _read_idx(fetch.idx_path(directory, image_name), _IMAGE_MAGIC, 3)
  labels = _read_idx(fetch.idx_path(directory, label_name), _LABEL_MAGIC, 1)
  if len(images) != len(labels):
    raise errors.DataError(
        f'{directory}: {image_name} has {len(images)} images but {label_name}'
        f' has {len(labels)} labels')
  if labels.size and labels.max() > 9:
    raise errors.DataError(f'{directory}/{label_name}: label {labels.max()} > 9')
  return images, labels


def read_image(path, size=None):
  """uint8 [H, W] grayscale of one image file, resized to `size` (w, h)."""
  from PIL import Image  # Only image files need Pillow (a matplotlib dep).
  try:
    with Image.open(path) as im:
      im = im.convert('L')
      return np.asarray(im.resize(size) if size else im, np.uint8)
  except OSError as e:
    raise errors.DataError(f'{path}: unreadable image ({e})') from e


def read_class_folders(root):
  """Reads the Kaggle Reduced-MNIST layout `<root>/<digit>/*.png|jpg`."""
  images, labels = [], []
  for digit in range(10):
    folder = pathlib.Path(root) / str(digit)
    if not folder.is_dir():
      raise errors.DataError(f'{folder}: missing class folder for digit {digit}')
    for path in sorted(folder.iterdir()):
      if path.suffix.lower() not in _IMAGE_EXTS:
        continue
      images.append(read_image(path, (28, 28)))
      labels.append(digit)
  if not images:
    raise errors.DataError(f'{root}: no .png/.jpg images in its class folders')
  return np.stack(images), np.asarray(labels, np.uint8)


def _load_tfds(split):
  """One split through tensorflow-datasets, for those who have TensorFlow."""
  where = f'tfds:mnist/{split}'
  # tfds.load imports TensorFlow only once it reads data, after downloading.
  if importlib.util.find_spec('tensorflow') is None:
    raise errors.DataError(
        f'{where}: data.source=tfds needs TensorFlow; pip install tensorflow '
        'importlib_resources, or use data.source=auto')
  try:
    import tensorflow_datasets as tfds  # Heavy and optional: source=tfds only.
    # Fixed-size batches, not batch_size=-1, which needs the split's size from
    # dataset_info (absent under tfds.testing.mock_data).
    batches = list(tfds.as_numpy(
        tfds.load('mnist', split=split, batch_size=10_000)))
  except Exception as e:  # pylint: disable=broad-except
    # TFDS fails in many ways (network, missing extras); one line each.
    reason = (str(e).strip().splitlines() or [''])[0]
    raise errors.DataError(f'{where}: {type(e).__name__}: {reason}') from e
  images = np.concatenate([b['image'][..., 0] for b in batches])
  labels = np.concatenate([b['label'] for b in batches])
  return images.astype(np.uint8), labels.astype(np.uint8)


def load_mnist(directory, split, allow_download=True, source='auto'):
  """Loads one MNIST split ('train' or 'test').

  source='auto' reads the IDX files in `directory`, first downloading the
  missing ones when `allow_download` (see data.fetch); 'tfds' loads through
  tensorflow-datasets instead. Raises a one-line DataError otherwise.
  """
  if source not in SOURCES:
    raise errors.ConfigError(
        f'data.source={source!r}: unknown; choices: {SOURCES}')
  if source == 'tfds':
    return _load_tfds(split)
  fetch.ensure_mnist(directory, IDX_FILES[split], allow_download)
  return read_idx_split(os.path.expanduser(str(directory)), split)
