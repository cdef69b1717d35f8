"""Fetch on first use, against fake MNIST and FSDD served from 127.0.0.1."""

import gzip
import hashlib
import http.server
import importlib.util
import os
import pathlib
import subprocess
import sys
import tarfile
import threading
import types

import numpy as np
import pytest

from data import fetch
from data import fsdd
from data import mnist
from data import mnist_pipeline
import errors
from tests import conftest
from tests.data import fsdd_fakes

ROOT = pathlib.Path(__file__).resolve().parents[2]
_MAGIC = {'images': 2051, 'labels': 2049}


@pytest.fixture
def server(tmp_path, monkeypatch):
  """An HTTP server on 127.0.0.1 serving `root`, logging each GET path.

  Paths added to `truncate` are sent with their full Content-Length but only
  half their body, then the connection is closed.
  """
  root = tmp_path / 'www'
  root.mkdir()
  hits, truncate = [], set()

  class Handler(http.server.SimpleHTTPRequestHandler):

    def __init__(self, *args, **kwargs):
      super().__init__(*args, directory=str(root), **kwargs)

    def log_message(self, *args):
      pass

    def do_GET(self):
      hits.append(self.path)
      if self.path not in truncate:
        return super().do_GET()
      body = (root / self.path.lstrip('/')).read_bytes()
      self.send_response(200)
      self.send_header('Content-Length', str(len(body)))
      self.end_headers()
      self.wfile.write(body[:len(body) // 2])
      self.close_connection = True

  httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
  thread = threading.Thread(target=httpd.serve_forever, daemon=True)
  thread.start()
  monkeypatch.setenv('NO_PROXY', '127.0.0.1')
  yield types.SimpleNamespace(
      root=root, url=f'http://127.0.0.1:{httpd.server_port}', hits=hits,
      truncate=truncate)
  httpd.shutdown()
  httpd.server_close()


def _idx_bytes(array, magic):
  header = magic.to_bytes(4, 'big') + b''.join(
      d.to_bytes(4, 'big') for d in array.shape)
  return header + np.asarray(array, np.uint8).tobytes()


def _fake_mnist_raw():
  """{raw IDX name: bytes} of a tiny MNIST."""
  raw = {}
  for split, n, seed in (('train', 3, 0), ('t10k', 2, 1)):
    images, labels = conftest.make_digits(n, seed)
    for kind, array in (('images', images), ('labels', labels)):
      ndim = 3 if kind == 'images' else 1
      raw[f'{split}-{kind}-idx{ndim}-ubyte'] = _idx_bytes(array, _MAGIC[kind])
  return raw


@pytest.fixture
def mnist_mirror(server, monkeypatch):
  """The fake MNIST as `<url>/mnist/*.gz`, pinned, $DIGITS_MNIST_URL at it."""
  raw = _fake_mnist_raw()
  (server.root / 'mnist').mkdir()
  for name, content in raw.items():
    (server.root / 'mnist' / f'{name}.gz').write_bytes(gzip.compress(content))
  monkeypatch.setattr(fetch, 'MNIST_SHA256', {
      n: hashlib.sha256(c).hexdigest() for n, c in raw.items()})
  monkeypatch.setenv(fetch.MNIST_URL_ENV, f'{server.url}/mnist/')
  server.raw = raw
  return server


@pytest.fixture
def fsdd_mirror(server, tmp_path, monkeypatch):
  """A fake FSDD archive at `<url>/fsdd.tar.gz`, pinned, $DIGITS_FSDD_URL."""
  top = tmp_path / 'src' / 'free-spoken-digit-dataset-1.0.10'
  rec = fsdd_fakes.write_recordings(top / 'recordings', speakers=('ann',),
                                    indices=range(2))
  (top / 'README.md').write_text('not a recording')
  with tarfile.open(server.root / 'fsdd.tar.gz', 'w:gz') as tar:
    tar.add(top, arcname=top.name)
  monkeypatch.setattr(fetch, 'FSDD_SHA256', {
      p.name: hashlib.sha256(p.read_bytes()).hexdigest()
      for p in rec.iterdir()})
  server.archive_url = f'{server.url}/fsdd.tar.gz'
  monkeypatch.setenv(fetch.FSDD_URL_ENV, server.archive_url)
  return server


def _files(folder):
  return sorted(str(p.relative_to(folder)) for p in folder.rglob('*')
                if p.is_file())


def test_mnist_fetched_verified_and_loaded(mnist_mirror, tmp_path):
  directory = tmp_path / 'data' / 'mnist'
  images, labels = mnist.load_mnist(directory, 'train')
  assert images.shape == (30, 28, 28) and len(labels) == 30
  assert _files(directory) == ['train-images-idx3-ubyte.gz',
                               'train-labels-idx1-ubyte.gz']
  assert len(mnist_mirror.hits) == 2


def test_pipeline_fetches_into_data_dir_mnist(mnist_mirror, tmp_path):
  config = conftest.tiny_attention_config(tmp_path / 'data')
  config.data.allow_download = True
  images, _ = mnist_pipeline.load_images(config.data, 'test')
  assert images.shape == (20, 28, 28)
  assert _files(tmp_path / 'data') == ['mnist/t10k-images-idx3-ubyte.gz',
                                       'mnist/t10k-labels-idx1-ubyte.gz']
  assert len(mnist_mirror.hits) == 2


def test_cache_hit_makes_no_request(mnist_mirror, tmp_path):
  directory = tmp_path / 'mnist'
  fetch.ensure_mnist(directory)
  assert len(mnist_mirror.hits) == 4
  fetch.ensure_mnist(directory)
  mnist.load_mnist(directory, 'test')
  assert len(mnist_mirror.hits) == 4


def test_hash_mismatch_names_url_and_leaves_nothing(mnist_mirror, tmp_path,
                                                     monkeypatch):
  monkeypatch.setitem(fetch.MNIST_SHA256, 'train-images-idx3-ubyte', '0' * 64)
  data_dir = tmp_path / 'data'
  with pytest.raises(errors.DataError) as e:
    mnist.load_mnist(data_dir / 'mnist', 'train')
  url = f'{mnist_mirror.url}/mnist/train-images-idx3-ubyte.gz'
  assert str(e.value).startswith(f'{url}: sha256')
  assert fetch.MNIST_URL_ENV in str(e.value) and '\n' not in str(e.value)
  assert not data_dir.exists()


@pytest.mark.usefixtures('mnist_mirror')
def test_later_failure_keeps_only_verified_files(tmp_path, monkeypatch):
  monkeypatch.setitem(fetch.MNIST_SHA256, 't10k-labels-idx1-ubyte', '0' * 64)
  with pytest.raises(errors.DataError, match='t10k-labels'):
    fetch.ensure_mnist(tmp_path / 'mnist')
  assert _files(tmp_path / 'mnist') == ['t10k-images-idx3-ubyte.gz',
                              'train-images-idx3-ubyte.gz',
                              'train-labels-idx1-ubyte.gz']


def test_falls_back_to_the_second_mirror(mnist_mirror, tmp_path, monkeypatch):
  monkeypatch.delenv(fetch.MNIST_URL_ENV)
  monkeypatch.setattr(fetch, 'MNIST_URLS', (f'{mnist_mirror.url}/gone/',
                                            f'{mnist_mirror.url}/mnist'))
  mnist.load_mnist(tmp_path / 'mnist', 'test')
  assert mnist_mirror.hits == ['/gone/t10k-images-idx3-ubyte.gz',
                               '/mnist/t10k-images-idx3-ubyte.gz',
                               '/gone/t10k-labels-idx1-ubyte.gz',
                               '/mnist/t10k-labels-idx1-ubyte.gz']


def test_every_mirror_failing_is_one_line(mnist_mirror, tmp_path, monkeypatch):
  monkeypatch.delenv(fetch.MNIST_URL_ENV)
  monkeypatch.setattr(fetch, 'MNIST_URLS', (f'{mnist_mirror.url}/a/',
                                            f'{mnist_mirror.url}/b/'))
  with pytest.raises(errors.DataError) as e:
    fetch.ensure_mnist(tmp_path / 'mnist')
  msg = str(e.value)
  assert msg.startswith(f'{mnist_mirror.url}/a/train-images-idx3-ubyte.gz: '
                        'HTTP 404; ')
  assert f'{mnist_mirror.url}/b/train-images' in msg and '\n' not in msg
  assert str(tmp_path / 'mnist') in msg
  assert not (tmp_path / 'mnist').exists()


def test_interrupted_download_leaves_no_file(mnist_mirror, tmp_path):
  mnist_mirror.truncate.add('/mnist/train-labels-idx1-ubyte.gz')
  with pytest.raises(errors.DataError,
                     match=r'/mnist/train-labels-idx1-ubyte\.gz: '):
    fetch.ensure_mnist(tmp_path / 'mnist', ('train-labels-idx1-ubyte',))
  assert not (tmp_path / 'mnist').exists()


def test_regzipped_mnist_passes(mnist_mirror, tmp_path):
  path = mnist_mirror.root / 'mnist' / 'train-labels-idx1-ubyte.gz'
  before = path.read_bytes()
  path.write_bytes(gzip.compress(mnist_mirror.raw['train-labels-idx1-ubyte'],
                                 compresslevel=1, mtime=123))
  assert path.read_bytes() != before
  fetch.ensure_mnist(tmp_path / 'mnist', ('train-labels-idx1-ubyte',))


def test_raw_idx_names_are_read_and_verified(mnist_mirror, tmp_path):
  directory = tmp_path / 'mnist'
  directory.mkdir()
  for name, content in mnist_mirror.raw.items():
    (directory / name).write_bytes(content)
  images, _ = mnist.load_mnist(directory, 'test', allow_download=False)
  assert images.shape == (20, 28, 28)
  assert fetch.fetch_mnist(tmp_path).startswith('mnist: 4 files verified')
  assert not mnist_mirror.hits


@pytest.mark.usefixtures('mnist_mirror')
def test_cli_check_rejects_a_present_file_with_another_hash(tmp_path):
  fetch.ensure_mnist(tmp_path / 'mnist')
  conftest.write_idx(tmp_path / 'mnist' / 't10k-labels-idx1-ubyte.gz',
                     np.zeros(20, np.uint8), 2049)
  with pytest.raises(errors.DataError, match='t10k-labels.*delete it'):
    fetch.fetch_mnist(tmp_path)


def test_no_download_says_how_to_place_files(tmp_path, monkeypatch):
  monkeypatch.delenv(fetch.MNIST_URL_ENV, raising=False)
  with pytest.raises(errors.DataError) as e:
    mnist.load_mnist(tmp_path / 'mnist', 'train', allow_download=False)
  msg = str(e.value)
  assert msg.startswith(str(tmp_path / 'mnist' / 'train-images-idx3-ubyte'))
  assert 'python -m data.fetch' in msg and fetch.MNIST_URLS[0] in msg
  assert '\n' not in msg
  with pytest.raises(errors.DataError, match='python -m data.fetch'):
    fetch.ensure_fsdd(tmp_path, allow_download=False)
  assert _files(tmp_path) == []


def test_fsdd_fetched_verified_and_cached(fsdd_mirror, tmp_path):
  data_dir = tmp_path / 'data'
  root = fetch.ensure_fsdd(data_dir)
  assert root == fetch.recordings_dir(data_dir)
  assert len(fsdd.list_recordings(root)) == 20
  assert _files(data_dir / 'fsdd') == sorted(
      f'recordings/{n}' for n in fetch.FSDD_SHA256)
  fetch.ensure_fsdd(data_dir)
  assert fetch.fetch_fsdd(data_dir).startswith('fsdd: 20 recordings verified')
  assert fsdd_mirror.hits == ['/fsdd.tar.gz']


@pytest.mark.parametrize('fault', ['hash', 'extra', '404', 'interrupted'])
def test_fsdd_failure_names_url_and_leaves_nothing(fsdd_mirror, tmp_path,
                                                   monkeypatch, fault):
  if fault == 'hash':
    monkeypatch.setitem(fetch.FSDD_SHA256, '3_ann_1.wav', '0' * 64)
  elif fault == 'extra':
    monkeypatch.delitem(fetch.FSDD_SHA256, '3_ann_1.wav')
  elif fault == '404':
    monkeypatch.setenv(fetch.FSDD_URL_ENV, f'{fsdd_mirror.url}/nope.tar.gz')
  else:
    fsdd_mirror.truncate.add('/fsdd.tar.gz')
  data_dir = tmp_path / 'data'
  with pytest.raises(errors.DataError) as e:
    fetch.ensure_fsdd(data_dir)
  msg = str(e.value)
  assert msg.startswith(os.environ[fetch.FSDD_URL_ENV] + ': ')
  assert fetch.recordings_dir(data_dir) in msg and '\n' not in msg
  assert not data_dir.exists()


def test_cli_error_is_one_line_and_exit_1(mnist_mirror, tmp_path):
  env = dict(os.environ, **{fetch.MNIST_URL_ENV: f'{mnist_mirror.url}/gone/'})
  cmd = [sys.executable, '-m', 'data.fetch', '--datasets=mnist',
         f'--data_dir={tmp_path / "data"}']
  r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                     timeout=120)
  assert r.returncode == 1
  lines = r.stderr.splitlines()
  error_lines = [line for line in lines if line.startswith('error:')]
  assert error_lines == lines[-1:]
  assert error_lines[0].startswith(
      f'error: {mnist_mirror.url}/gone/train-images-idx3-ubyte.gz: HTTP 404')
  assert not (tmp_path / 'data').exists()


def test_unknown_source_is_config_error(tmp_path):
  with pytest.raises(errors.ConfigError, match='data.source'):
    mnist.load_mnist(tmp_path, 'train', source='kaggle')


@pytest.mark.skipif(importlib.util.find_spec('tensorflow') is not None,
                    reason='TensorFlow is installed')
def test_tfds_without_tensorflow_is_one_line(tmp_path):
  with pytest.raises(errors.DataError, match='pip install tensorflow'):
    mnist.load_mnist(tmp_path, 'train', source='tfds')


def test_tfds_source_with_mock_data(tmp_path):
  pytest.importorskip(
      'tensorflow', reason='data.source=tfds needs TensorFlow (and '
      'importlib_resources), which the requirements leave out')
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  with tfds.testing.mock_data(num_examples=12):
    images, labels = mnist.load_mnist(tmp_path, 'train', source='tfds')
  assert images.shape == (12, 28, 28) and images.dtype == np.uint8
  assert labels.shape == (12,) and labels.max() <= 9
