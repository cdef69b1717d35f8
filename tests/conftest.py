"""Shared fixtures: tiny generated datasets, the shared data folder, configs."""

import gzip
import os
import pathlib

import numpy as np
import pytest

SHARED_DATA = pathlib.Path(__file__).resolve().parents[1] / '..' / 'shared' / 'data'


def write_idx(path, array, magic):
  """Writes `array` (uint8) as a gzipped IDX file with the given magic."""
  header = magic.to_bytes(4, 'big') + b''.join(
      d.to_bytes(4, 'big') for d in array.shape)
  with gzip.open(path, 'wb') as f:
    f.write(header + np.asarray(array, np.uint8).tobytes())


def make_digits(n_per_class, seed=0, size=28):
  """Learnable fake digits: class c lights up a class-specific block."""
  rng = np.random.default_rng(seed)
  labels = np.repeat(np.arange(10), n_per_class).astype(np.uint8)
  images = rng.integers(0, 60, (len(labels), size, size)).astype(np.uint8)
  for i, c in enumerate(labels):
    r, col = divmod(int(c), 5)
    images[i, 2 + r * 12:10 + r * 12, 1 + col * 5:5 + col * 5] = 250
  order = rng.permutation(len(labels))
  return images[order], labels[order]


@pytest.fixture
def fake_mnist_dir(tmp_path):
  """A data root with `mnist/` holding four small valid IDX files."""
  root = tmp_path / 'data'
  (root / 'mnist').mkdir(parents=True)
  for split, n, seed in (('train', 30, 0), ('t10k', 12, 1)):
    images, labels = make_digits(n, seed)
    write_idx(root / 'mnist' / f'{split}-images-idx3-ubyte.gz', images, 2051)
    write_idx(root / 'mnist' / f'{split}-labels-idx1-ubyte.gz', labels, 2049)
  return root


@pytest.fixture
def shared_data():
  """../shared/data, or a skip saying why."""
  if not (SHARED_DATA / 'mnist' / 'train-images-idx3-ubyte.gz').exists():
    pytest.skip(f'real data not found at {SHARED_DATA.resolve()}')
  return SHARED_DATA.resolve()


@pytest.fixture(autouse=True)
def _no_progress_bars(monkeypatch):
  monkeypatch.setenv('TQDM_DISABLE', '1')
