"""Shared fixtures: tiny generated datasets, the shared data folder, configs."""

import gzip
import os
import pathlib

import jax
import numpy as np
import pytest

# FSDD fixtures (fake recordings, the real folder or a skip) live with the
# FSDD test helpers.
pytest_plugins = ['tests.data.fsdd_fakes']

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


@pytest.fixture(scope='session', autouse=True)
def _compilation_cache(tmp_path_factory):
  """Tests re-jit the same steps many times; a persistent cache compiles once.

  Set through the environment too, so main.py subprocesses share it.
  """
  settings = {
      'jax_compilation_cache_dir': str(tmp_path_factory.mktemp('jax_cache')),
      'jax_persistent_cache_min_compile_time_secs': 0.0,
      'jax_persistent_cache_min_entry_size_bytes': 0,
  }
  for name, value in settings.items():
    jax.config.update(name, value)
    os.environ[name.upper()] = str(value)


def write_fake_mnist(root):
  """Makes `root`/mnist/ hold four small valid IDX files; returns `root`."""
  (root / 'mnist').mkdir(parents=True)
  for split, n, seed in (('train', 30, 0), ('t10k', 12, 1)):
    images, labels = make_digits(n, seed)
    write_idx(root / 'mnist' / f'{split}-images-idx3-ubyte.gz', images, 2051)
    write_idx(root / 'mnist' / f'{split}-labels-idx1-ubyte.gz', labels, 2049)
  return root


@pytest.fixture
def fake_mnist_dir(tmp_path):
  """A data root with `mnist/` holding four small valid IDX files."""
  return write_fake_mnist(tmp_path / 'data')


@pytest.fixture
def shared_data():
  """../shared/data, or a skip saying why."""
  if not (SHARED_DATA / 'mnist' / 'train-images-idx3-ubyte.gz').exists():
    pytest.skip(f'real data not found at {SHARED_DATA.resolve()}')
  return SHARED_DATA.resolve()


@pytest.fixture(autouse=True)
def _no_progress_bars(monkeypatch):
  monkeypatch.setenv('TQDM_DISABLE', '1')


def tiny_attention_config(data_dir, **fields):
  """The real 4A config shrunk to the fake data: 20/class train, 5/class test.

  `fields` are train or opt fields (learning_rate=0.0, patience=2, ...).
  """
  from configs import attention_mnist  # pylint: disable=g-import-not-at-top
  config = attention_mnist.get_config()
  config.data.dir = str(data_dir)
  config.data.train_per_class = 20
  config.data.test_per_class = 5
  config.data.allow_download = False
  config.train.progress = False
  for k, v in fields.items():
    group = config.opt if k in config.opt else config.train
    if k not in group:
      raise KeyError(f'{k}: neither a train nor an opt field')
    group[k] = v
  return config
