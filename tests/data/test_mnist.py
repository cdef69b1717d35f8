"""IDX and class-folder readers: good files load, bad ones are named errors."""

import gzip

import numpy as np
import pytest

from data import mnist
import errors
from tests import conftest


def test_reads_fake_idx(fake_mnist_dir):
  images, labels = mnist.load_mnist(fake_mnist_dir / 'mnist', 'train')
  assert images.shape == (300, 28, 28) and images.dtype == np.uint8
  assert np.bincount(labels).tolist() == [30] * 10


def test_wrong_magic_names_file(fake_mnist_dir):
  path = fake_mnist_dir / 'mnist' / 'train-images-idx3-ubyte.gz'
  conftest.write_idx(path, np.zeros((3, 28, 28), np.uint8), 2049)
  with pytest.raises(errors.DataError, match='train-images.*magic number 2049'):
    mnist.load_mnist(fake_mnist_dir / 'mnist', 'train')


def test_truncated_file_names_file(fake_mnist_dir):
  path = fake_mnist_dir / 'mnist' / 't10k-images-idx3-ubyte.gz'
  with gzip.open(path, 'rb') as f:
    raw = f.read()
  with gzip.open(path, 'wb') as f:
    f.write(raw[:-100])
  with pytest.raises(errors.DataError, match='t10k-images.*truncated'):
    mnist.load_mnist(fake_mnist_dir / 'mnist', 'test')


def test_not_gzip_is_error(fake_mnist_dir):
  (fake_mnist_dir / 'mnist' / 't10k-labels-idx1-ubyte.gz').write_bytes(b'junk')
  with pytest.raises(errors.DataError, match='t10k-labels'):
    mnist.load_mnist(fake_mnist_dir / 'mnist', 'test')


def test_count_mismatch_is_error(fake_mnist_dir):
  path = fake_mnist_dir / 'mnist' / 'train-labels-idx1-ubyte.gz'
  conftest.write_idx(path, np.zeros(7, np.uint8), 2049)
  with pytest.raises(errors.DataError, match='300 images but .* 7 labels'):
    mnist.load_mnist(fake_mnist_dir / 'mnist', 'train')


def test_missing_dir_says_where_and_how(tmp_path):
  with pytest.raises(errors.DataError) as e:
    mnist.load_mnist(tmp_path / 'nope', 'train', allow_download=False)
  assert str(tmp_path / 'nope') in str(e.value)
  assert 'DIGITS_DATA_DIR' in str(e.value)


def test_one_missing_file_is_named(fake_mnist_dir):
  (fake_mnist_dir / 'mnist' / 'train-labels-idx1-ubyte.gz').unlink()
  with pytest.raises(errors.DataError, match='train-labels.*missing'):
    mnist.load_mnist(fake_mnist_dir / 'mnist', 'train', allow_download=False)


def test_class_folders(tmp_path):
  from PIL import Image
  images, labels = conftest.make_digits(2)
  for i, (img, c) in enumerate(zip(images, labels)):
    (tmp_path / str(c)).mkdir(exist_ok=True)
    Image.fromarray(img).save(tmp_path / str(c) / f'{i}.png')
  got_x, got_y = mnist.read_class_folders(tmp_path)
  assert got_x.shape == (20, 28, 28)
  assert np.bincount(got_y).tolist() == [2] * 10
  (tmp_path / '3' / 'bad.png').write_bytes(b'not a png')
  with pytest.raises(errors.DataError, match='bad.png'):
    mnist.read_class_folders(tmp_path)
