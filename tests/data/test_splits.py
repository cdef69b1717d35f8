"""Reduced MNIST subsets are stratified, deterministic and validated."""

import ml_collections
import numpy as np
import pytest

import data
from configs import attention_mnist
import errors
from data import splits


def test_stratified_indices_deterministic_and_balanced():
  labels = np.random.default_rng(0).integers(0, 10, 1000)
  a = splits.stratified_indices(labels, 20, seed=4)
  b = splits.stratified_indices(labels, 20, seed=4)
  c = splits.stratified_indices(labels, 20, seed=5)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)
  assert np.bincount(labels[a]).tolist() == [20] * 10
  assert len(np.unique(a)) == len(a)


def test_too_many_per_class_is_config_error():
  labels = np.repeat(np.arange(10), 5)
  with pytest.raises(errors.ConfigError, match='n=6: class 0 has only 5'):
    splits.stratified_indices(labels, 6, seed=0, field='n')


def test_stratified_split_disjoint_and_covering():
  labels = np.repeat(np.arange(10), 20)
  parts = splits.stratified_split(labels, [0.7, 0.15, 0.15], seed=42)
  assert [len(p) for p in parts] == [140, 30, 30]
  assert len(np.unique(np.concatenate(parts))) == 200
  assert np.bincount(labels[parts[1]]).tolist() == [3] * 10


def _data_config(data_dir, **overrides):
  cfg = attention_mnist.get_config().data
  cfg.dir = str(data_dir)
  cfg.update(overrides)
  return cfg


def test_reduced_mnist_counts_and_scaling(fake_mnist_dir):
  s = data.get_dataset(_data_config(fake_mnist_dir, train_per_class=7,
                                    test_per_class=3))
  assert s.x_train.shape == (70, 28, 28, 1) and s.x_train.dtype == np.float32
  assert 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0
  assert np.bincount(s.y_train).tolist() == [7] * 10
  assert np.bincount(s.y_test).tolist() == [3] * 10
  np.testing.assert_array_equal(s.x_val, s.x_test)  # val='test' as the study


def test_reduced_mnist_same_seed_same_images(fake_mnist_dir):
  cfg = _data_config(fake_mnist_dir, train_per_class=7, test_per_class=3)
  a, b = data.get_dataset(cfg), data.get_dataset(cfg)
  np.testing.assert_array_equal(a.x_train, b.x_train)
  cfg.subset_seed = 5
  assert not np.array_equal(a.info['train_indices'],
                            data.get_dataset(cfg).info['train_indices'])


def test_val_fraction_and_pixel_range(fake_mnist_dir):
  s = data.get_dataset(_data_config(fake_mnist_dir, train_per_class=10,
                                    test_per_class=3, val='0.2',
                                    pixel_range=(-1.0, 1.0)))
  assert len(s.x_train) == 80 and len(s.x_val) == 20
  assert s.x_train.min() < 0


def test_unknown_dataset_lists_choices():
  with pytest.raises(errors.ConfigError, match="data.name='nope'.*reduced_mnist"):
    data.get_dataset(ml_collections.ConfigDict({'name': 'nope'}))


def test_bad_val_fraction(fake_mnist_dir):
  with pytest.raises(errors.ConfigError, match="data.val='1.5'"):
    data.get_dataset(_data_config(fake_mnist_dir, train_per_class=10,
                                  test_per_class=3, val='1.5'))
