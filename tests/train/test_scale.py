"""Many seeds in one vmapped run; data parallel over (forced) CPU devices."""

import os
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest

import data
import errors
import nets
from tests.conftest import tiny_attention_config
from experiments import supervised
from train import trainer

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _leaves(state):
  return [np.asarray(x) for x in jax.tree.leaves(jax.device_get(state.params))]


def test_vmapped_seeds_equal_sequential_runs(fake_mnist_dir, tmp_path):
  config = tiny_attention_config(fake_mnist_dir, epochs=2)
  config.replicas = 2
  model = nets.get_model(config.model, config.defaults)
  splits = data.get_dataset(config.data)
  together, run = trainer.fit(config, str(tmp_path / 'all'), model, splits)
  assert len(run['history'][-1]['val_accuracy_per_seed']) == 2
  config.replicas = 1
  for i, seed in enumerate((config.seed, config.seed + 1)):
    config.seed = seed
    alone, run_i = trainer.fit(config, str(tmp_path / f's{seed}'), model, splits)
    for p, q in zip(_leaves(together), _leaves(alone)):
      # Batched convs sum in another order; Adam's normalised steps (lr 1e-3)
      # can turn such last-bit differences into ~1e-5 changes of a weight.
      np.testing.assert_allclose(p[i], q, rtol=1e-3, atol=1e-4)
    assert run['history'][-1]['val_loss_per_seed'][i] == pytest.approx(
        run_i['history'][-1]['val_loss'], rel=1e-3)


def test_seeds_results_report_each_seed(fake_mnist_dir, tmp_path):
  config = tiny_attention_config(fake_mnist_dir, epochs=1)
  config.replicas = 2
  result = supervised.train_and_evaluate(config, str(tmp_path))
  assert result['replicas'] == [4, 5] and result['params'] == 225_034
  assert len(result['test_accuracy_per_seed']) == 2
  assert result['test_accuracy'] == pytest.approx(
      np.mean(result['test_accuracy_per_seed']))


def test_zero_seeds_is_config_error(fake_mnist_dir, tmp_path):
  config = tiny_attention_config(fake_mnist_dir, epochs=1)
  config.replicas = 0
  with pytest.raises(errors.ConfigError, match='replicas=0'):
    supervised.train_and_evaluate(config, str(tmp_path))


_FOUR_DEVICES = '''
import json, sys
import jax, numpy as np
sys.path.insert(0, '.')
import data, nets, errors
from tests.conftest import tiny_attention_config
from train import trainer
assert jax.device_count() == 4, jax.devices()
config = tiny_attention_config(sys.argv[1], epochs=2)
config.train.batch_size = int(sys.argv[3])
try:
  state, _ = trainer.fit(config, sys.argv[2],
                         nets.get_model(config.model, config.defaults),
                         data.get_dataset(config.data))
except errors.ConfigError as e:
  print('CONFIG_ERROR', e)
  sys.exit(3)
np.savez(sys.argv[2] + '/params.npz',
         *[np.asarray(x) for x in jax.tree.leaves(state.params)])
'''


def _run_on_four_devices(data_dir, workdir, batch_size):
  env = dict(os.environ, JAX_PLATFORMS='cpu',
             XLA_FLAGS='--xla_force_host_platform_device_count=4')
  return subprocess.run(
      [sys.executable, '-c', _FOUR_DEVICES, str(data_dir), str(workdir),
       str(batch_size)], cwd=ROOT, env=env, capture_output=True, text=True,
      timeout=300)


def test_four_devices_match_one(fake_mnist_dir, tmp_path):
  r = _run_on_four_devices(fake_mnist_dir, tmp_path / 'four', 32)
  assert r.returncode == 0, r.stderr[-3000:]
  four = np.load(tmp_path / 'four' / 'params.npz')
  config = tiny_attention_config(fake_mnist_dir, epochs=2)
  one, _ = trainer.fit(config, str(tmp_path / 'one'),
                       nets.get_model(config.model, config.defaults),
                       data.get_dataset(config.data))
  for i, p in enumerate(_leaves(one)):
    np.testing.assert_allclose(four[f'arr_{i}'], p, rtol=1e-4, atol=1e-5)


def test_batch_not_divisible_by_devices_is_clear_error(fake_mnist_dir, tmp_path):
  r = _run_on_four_devices(fake_mnist_dir, tmp_path / 'w', 30)
  assert r.returncode == 3, r.stderr[-3000:]
  assert 'train.batch_size=30: not divisible by the 4 devices' in r.stdout
