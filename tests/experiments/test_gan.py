"""The GAN run: sample grids, history, results, resume equals one run."""

import functools

import jax
import numpy as np
import pytest

import errors
from experiments import gan as gan_experiment
from tests.train.test_gan import tiny_config
from train import checkpoint
from train import gan


def _changed(a, b):
  return any(not np.array_equal(u, v)
             for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_train_resume_matches_uninterrupted_run(fake_mnist_dir, tmp_path):
  # The default aux.keep_training=True: the classifier trains on real batches.
  config = tiny_config(fake_mnist_dir)
  full = gan_experiment.train_and_evaluate(config, str(tmp_path / 'full'))
  assert full['epochs_run'] == 2 and np.isfinite(full['g_loss'])
  assert (tmp_path / 'full' / 'samples' / 'epoch_002.png').exists()
  assert (tmp_path / 'full' / 'aux' / 'config.json').exists()
  history = (tmp_path / 'full' / 'history.md').read_text()
  assert '(2 of 2 epochs)' in history and '| 2 |' in history

  config.train.epochs = 1
  gan_experiment.train_and_evaluate(config, str(tmp_path / 'split'))
  config.train.epochs = 2
  resumed = gan_experiment.train_and_evaluate(config, str(tmp_path / 'split'))
  for key in ('d_loss', 'g_loss', 'd_real', 'aux_test_accuracy'):
    np.testing.assert_allclose(resumed[key], full[key], rtol=1e-4)

  # Round trip of all three states, against a fresh template.
  template = gan.create_states(config, jax.random.PRNGKey(1))
  ckpts = checkpoint.Checkpoints(str(tmp_path / 'full'))
  states, meta = ckpts.restore(ckpts.latest, template, gan.model_configs(config))
  resumed_states, _ = ckpts.restore(
      checkpoint.Checkpoints(str(tmp_path / 'split')).latest, template,
      gan.model_configs(config))
  ckpts.close()
  assert meta['epoch'] == 2
  for name in gan.NETWORKS:
    assert _changed(template[name].params, states[name].params), name
    jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-4,
                                   atol=1e-6),
                 states[name].params, resumed_states[name].params)

  # The same workdir with another generator is refused, overwriting nothing.
  config.generator.features = (8, 8, 8)
  with pytest.raises(errors.UserError, match='generator'):
    gan.fit_gan(config, str(tmp_path / 'full'),
                gan_experiment.gan_splits(config), init_aux=lambda a: a)
