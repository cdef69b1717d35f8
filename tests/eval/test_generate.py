"""eval.generate (reproducible, checked labels and runs) and eval.gan_quality."""

import os
import subprocess
import sys

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


def test_samples_npz_scores_like_its_run(gan_run, tmp_path):
  # eval.gan_quality --samples scores a GAN from its .npz alone (e.g. one
  # trained on another machine whose checkpoints stayed there).
  config, state = generate.load_generator(gan_run)
  x, y = generate.generate(config, state, 20, seed=3)
  path = str(tmp_path / 'samples.npz')
  generate.save_samples(path, x, y, gan_run, seed=3, bn='running')
  judge = gan_quality.Judge(f'{gan_run}/aux')  # a classifier in [-1, 1]
  row = gan_quality.score_samples(judge, path, 20, cas_epochs=0, seed=0)
  [ref] = gan_quality.score_run(judge, gan_run, 20, ['running'], 0, 3)
  assert (row['run'], row['bn'], row['epochs']) == (
      os.path.basename(gan_run), 'running', 1)
  # The same images up to the .npz's uint8 rounding.
  assert row['class_consistency'] == pytest.approx(ref['class_consistency'],
                                                   abs=0.02)
  assert row['frechet_distance'] == pytest.approx(ref['frechet_distance'],
                                                  rel=0.02)
  with pytest.raises(errors.ConfigError, match='21 images per class needed'):
    gan_quality.score_samples(judge, path, 21, cas_epochs=0, seed=0)


def test_gan_quality_without_runs_or_samples_is_one_line(tmp_path):
  root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
  r = subprocess.run([sys.executable, '-m', 'eval.gan_quality',
                      f'--table={tmp_path}/q'], cwd=root, capture_output=True,
                     text=True, timeout=120,
                     env={**os.environ, 'JAX_PLATFORMS': 'cpu'})
  assert r.returncode == 1
  assert r.stderr.strip().splitlines()[-1].startswith(
      'error: --workdirs, --samples: give GAN runs'), r.stderr
  assert 'Traceback' not in r.stderr and not list(tmp_path.iterdir())
