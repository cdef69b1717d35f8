"""The Problem-4B experiment end to end on generated recordings."""

import csv
import json
import os

import jax
import numpy as np
import pytest

from configs import spectrogram_cnn
import data
import errors
import experiments
import nets
from train import trainer


def small_config(root, tmp_path, arg='sweep,smoke'):
  config = spectrogram_cnn.get_config(arg)
  config.data.update(dir=str(root), cache_dir=str(tmp_path / 'cache'),
                     n_mels=32, frames=32, n_fft=256, train_fraction=1.0)
  config.train.update(epochs=2, batch_size=32, progress=False)
  config.eval.batch_size = 64
  config.seeds = 1  # a sweep's default is 3
  return config


def test_sweep_writes_table13_curves_and_gradcam(fake_fsdd, tmp_path):
  config = small_config(fake_fsdd, tmp_path)
  config.sweep.models = ('lenet', 'lenet_hybrid')
  workdir = str(tmp_path / 'run')
  rows = experiments.run(config, workdir)
  assert [r['model'] for r in rows] == ['lenet', 'lenet_hybrid']
  with open(os.path.join(workdir, 'table13.csv')) as f:
    table = list(csv.DictReader(f))
  assert table[0]['seed accuracy'] == '0.9727'
  assert table[1]['seed time s (T4)'] == '138'
  for name in config.sweep.models:
    with open(os.path.join(workdir, name, 'seed0', 'results.json')) as f:
      result = json.load(f)
    assert result['epochs_run'] == 2
    assert 0.0 <= result['test_accuracy'] <= 1.0
    assert os.path.getsize(os.path.join(workdir, f'gradcam_{name}.png')) > 0
    row = table[list(config.sweep.models).index(name)]
    assert float(row['mean']) == pytest.approx(result['test_accuracy'])
    assert row['n'] == '1'
  # The hybrid's L2 applies only to the hybrid.
  with open(os.path.join(workdir, 'lenet_hybrid', 'seed0', 'config.json')) as f:
    assert json.load(f)['train']['l2'] == 1e-3
  with open(os.path.join(workdir, 'lenet', 'seed0', 'config.json')) as f:
    assert json.load(f)['train']['l2'] == 0.0
  assert os.path.exists(os.path.join(workdir, 'curves.png'))
  # A random split's test set has every speaker: one accuracy each.
  assert sorted(result['test_accuracy_per_speaker']) == ['ann', 'bob', 'theo']
  assert not os.path.exists(os.path.join(workdir, 'loso.md'))


def test_loso_sweep_runs_every_fold_with_per_speaker_accuracy(fake_fsdd,
                                                              tmp_path):
  config = small_config(fake_fsdd, tmp_path, 'sweep,loso')
  config.sweep.models = ('lenet',)
  config.train.epochs = 1
  workdir = str(tmp_path / 'run')
  rows = experiments.run(config, workdir)
  assert rows[0]['n'] == 3  # 3 folds x 1 seed
  with open(os.path.join(workdir, 'loso.csv')) as f:
    loso = list(csv.DictReader(f))
  assert [(r['model'], r['fold'], r['held out']) for r in loso] == [
      ('lenet', '0', 'ann'), ('lenet', '1', 'bob'), ('lenet', '2', 'theo'),
      ('lenet', 'all', 'mean ± 95% CI (3 folds x seeds, n=3)')]
  for fold, speaker in enumerate(('ann', 'bob', 'theo')):
    run_dir = os.path.join(workdir, 'lenet', f'loso_{speaker}', 'seed0')
    with open(os.path.join(run_dir, 'results.json')) as f:
      result = json.load(f)
    assert result['test_accuracy_per_speaker'] == {
        speaker: pytest.approx(result['test_accuracy'])}
    assert float(loso[fold]['mean']) == pytest.approx(result['test_accuracy'])
    with open(os.path.join(run_dir, 'config.json')) as f:
      assert json.load(f)['data']['loso_fold'] == fold
  with open(os.path.join(workdir, 'results.json')) as f:
    assert len(json.load(f)['loso']) == 4


def test_non_finite_loss_is_caught_with_a_clear_message(fake_fsdd, tmp_path):
  config = small_config(fake_fsdd, tmp_path, 'lenet')
  splits = data.get_dataset(config.data)
  # Like the seed's float16 overflow: an inf in one input makes the first
  # epoch's loss NaN.
  splits.x_train = splits.x_train.copy()
  splits.x_train[3] = np.inf
  model = nets.get_model(config.model, config.defaults)
  with pytest.raises(errors.NonFiniteLossError, match='epoch 1: non-finite'):
    trainer.fit(config, str(tmp_path / 'bad'), model, splits)
  assert not os.path.exists(tmp_path / 'bad' / 'best' / '1')


def test_config_variants():
  assert spectrogram_cnn.get_config().model.name == 'lenet'
  c = spectrogram_cnn.get_config('lenet_cbam,speaker,bf16')
  assert (c.model.name, c.data.split, c.model.dtype) == (
      'lenet_cbam', 'speaker', 'bfloat16')
  assert spectrogram_cnn.get_config('sweep').experiment == 'spectrogram'
  with pytest.raises(errors.ConfigError, match='unknown'):
    spectrogram_cnn.get_config('lenet5')
  assert jax.numpy.dtype(c.model.dtype) == jax.numpy.bfloat16
