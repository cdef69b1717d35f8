"""eval.generate (reproducible, checked labels and runs) and eval.gan_quality."""

import numpy as np
import pytest

import errors
from eval import gan_quality
from eval import generate
from tests.train.test_gan import compile_cache  # pylint: disable=unused-import
from tests.train.test_gan import tiny_config
from experiments import gan


@pytest.fixture(scope='module')
def gan_run(tmp_path_factory):
  from tests.conftest import make_digits, write_idx  # pylint: disable=g-import-not-at-top
  root = tmp_path_factory.mktemp('data')
  (root / 'mnist').mkdir()
  for split, n, seed in (('train', 30, 0), ('t10k', 12, 1)):
    images, labels = make_digits(n, seed)
    write_idx(root / 'mnist' / f'{split}-images-idx3-ubyte.gz', images, 2051)
    write_idx(root / 'mnist' / f'{split}-labels-idx1-ubyte.gz', labels, 2049)
  config = tiny_config(root)
  config.train.epochs = 1
  workdir = str(tmp_path_factory.mktemp('gan'))
  gan.train_and_evaluate(config, workdir)
  return workdir


def test_generate_is_reproducible_and_class_ordered(gan_run):
  config, state = generate.load_generator(gan_run)
  x1, y1 = generate.generate(config, state, 3, labels=[2, 5], seed=7)
  x2, y2 = generate.generate(config, state, 3, labels=[2, 5], seed=7)
  x3, _ = generate.generate(config, state, 3, labels=[2, 5], seed=8)
  assert x1.shape == (6, 28, 28, 1) and list(y1) == [2, 2, 2, 5, 5, 5]
  np.testing.assert_array_equal(x1, x2)
  np.testing.assert_array_equal(y1, y2)
  assert not np.array_equal(x1, x3)
  u8 = generate.to_uint8(x1)
  assert u8.dtype == np.uint8 and u8.shape == (6, 28, 28)
  xb, _ = generate.generate(config, state, 3, labels=[2, 5], seed=7, bn='batch')
  assert np.all(np.isfinite(xb)) and not np.array_equal(x1, xb)


def test_generate_rejects_bad_labels(gan_run):
  config, state = generate.load_generator(gan_run)
  with pytest.raises(errors.ConfigError, match=r'labels \[10\]: outside 0-9'):
    generate.generate(config, state, 2, labels=[3, 10])
  with pytest.raises(errors.ConfigError, match='-1'):
    generate.generate(config, state, 2, labels=[-1])


def test_load_generator_rejects_other_runs(gan_run, tmp_path):
  # <run>/aux is a supervised run of the classifier: not a GAN checkpoint.
  with pytest.raises(errors.CheckpointError, match='not a GAN run'):
    generate.load_generator(f'{gan_run}/aux')
  with pytest.raises(errors.DataError, match='config.json: missing'):
    generate.load_generator(str(tmp_path))


def test_frechet_distance():
  rng = np.random.default_rng(0)
  a = rng.normal(size=(4000, 3))
  assert gan_quality.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
  # Same covariance, mean shifted by 2 in every dim: distance 3 * 2^2.
  b = rng.normal(size=(4000, 3))
  assert gan_quality.frechet_distance(a, b + 2.0) == pytest.approx(12.0, abs=0.3)
