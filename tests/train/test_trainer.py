"""The supervised trainer: learns, checkpoints, resumes, stops, guards."""

import json

import jax
import numpy as np
import pytest

import data
import errors
from eval import common
from eval import evaluate
from experiments import supervised
import nets
from tests.conftest import tiny_attention_config
from train import checkpoint
from train import evaluator
from train import loop as loop_lib
from train import losses
from train import optim
from train import state as state_lib
from train import trainer


def _params(state):
  return jax.tree.leaves(jax.device_get(state.params))


def test_fits_generated_digits(fake_mnist_dir, tmp_path):
  config = tiny_attention_config(fake_mnist_dir, epochs=8)
  result = supervised.train_and_evaluate(config, str(tmp_path / 'run'))
  assert result['test_accuracy'] >= 0.9  # chance is 0.1
  history = [json.loads(l) for l in open(tmp_path / 'run' / 'metrics.jsonl')]
  assert [r['epoch'] for r in history] == list(range(1, 9))
  assert history[-1]['train_loss'] < history[0]['train_loss']
  assert list((tmp_path / 'run' / 'tensorboard').iterdir())
  # eval.evaluate reads the Orbax checkpoint back to the same numbers.
  again = evaluate.evaluate(str(tmp_path / 'run'))
  assert again['test_accuracy'] == pytest.approx(result['test_accuracy'])
  assert again['test_loss'] == pytest.approx(result['test_loss'], rel=1e-5)


def test_same_seed_same_numbers_and_resume_extends(fake_mnist_dir, tmp_path):
  """Two runs of one config agree exactly; a run stopped after 2 epochs and
  resumed to 4 ends where a 4-epoch run ends."""
  config = tiny_attention_config(fake_mnist_dir, epochs=4)
  model = nets.get_model(config.model, config.defaults)
  splits = data.get_dataset(config.data)
  full, run_a = trainer.fit(config, str(tmp_path / 'a'), model, splits)
  _, run_b = trainer.fit(config, str(tmp_path / 'b'), model, splits)
  strip = lambda h: [{k: v for k, v in r.items() if k != 'epoch_time_s'}
                     for r in h]
  assert strip(run_a['history']) == strip(run_b['history'])
  config.train.epochs = 2
  trainer.fit(config, str(tmp_path / 'c'), model, splits)
  config.train.epochs = 4
  resumed, run_c = trainer.fit(config, str(tmp_path / 'c'), model, splits)
  assert strip(run_c['history']) == strip(run_a['history'])
  for p, q in zip(_params(full), _params(resumed)):
    np.testing.assert_array_equal(p, q)
  # Fewer epochs than the workdir holds: refused, not passed off as 3.
  config.train.epochs = 3
  with pytest.raises(errors.ConfigError, match=r'train.epochs=3: .*c holds a '
                     r'run trained for 4 epochs, which cannot be shortened'):
    trainer.fit(config, str(tmp_path / 'c'), model, splits)


def test_soft_labels_give_the_int_labels_loss():
  logits = jax.random.normal(jax.random.PRNGKey(0), (4, 10))
  labels = np.array([0, 3, 3, 9])
  onehot = jax.nn.one_hot(labels, 10)
  for smoothing in (0.0, 0.1):
    hard, hard_extra = losses.softmax_xent(logits, labels, smoothing)
    soft, soft_extra = losses.softmax_xent(logits, onehot, smoothing)
    np.testing.assert_allclose(soft, hard, rtol=1e-6)
    np.testing.assert_array_equal(soft_extra['accuracy'],
                                  hard_extra['accuracy'])
  # A mixed target counts its larger class for accuracy.
  mixed = 0.7 * onehot + 0.3 * jax.nn.one_hot(labels[::-1], 10)
  _, extra = losses.softmax_xent(onehot * 5.0, mixed)
  np.testing.assert_array_equal(extra['accuracy'], np.ones(4))


def test_augment_fn_transforms_training_batches_only(fake_mnist_dir,
                                                     tmp_path):
  """An identity augment_fn with one-hot targets trains exactly as none
  does (for a net without dropout); one that blanks the inputs changes
  training but not what validation sees."""
  config = tiny_attention_config(fake_mnist_dir, epochs=1)
  config.model.dropout = 0.0
  model = nets.get_model(config.model, config.defaults)
  splits = data.get_dataset(config.data)
  identity = lambda rng, x, y: (x, jax.nn.one_hot(y, 10))
  blank = lambda rng, x, y: (jax.random.uniform(rng, x.shape) * 0.0,
                             jax.nn.one_hot(y, 10))
  fits = {name: trainer.fit(config, str(tmp_path / name), model, splits,
                            augment_fn=fn)
          for name, fn in (('none', None), ('identity', identity),
                           ('blank', blank))}
  states = {name: state for name, (state, _) in fits.items()}
  for p, q in zip(_params(states['none']), _params(states['identity'])):
    np.testing.assert_allclose(p, q, rtol=1e-6, atol=1e-7)
  assert any(not np.allclose(p, q) for p, q in
             zip(_params(states['none']), _params(states['blank'])))
  val = evaluator.Evaluator(losses.softmax_xent, 64)(
      states['blank'], splits.x_val, splits.y_val)['loss']
  assert fits['blank'][1]['history'][-1]['val_loss'] == pytest.approx(
      val, rel=1e-5)


def test_checkpoint_round_trip(fake_mnist_dir, tmp_path):
  config = tiny_attention_config(fake_mnist_dir, epochs=1)
  config.model.name = 'cbam'
  supervised.train_and_evaluate(config, str(tmp_path))
  model = nets.get_model(config.model, config.defaults)
  x = np.zeros((1, 28, 28, 1), np.float32)
  restored = common.restore_state(str(tmp_path), config, model, x, 'latest')
  template = state_lib.create_train_state(
      model, optim.make_optimizer(config.opt, config.defaults),
      jax.random.PRNGKey(9), x)
  assert int(restored.step) == 7  # 200 images / 32 -> 7 steps
  assert any(not np.array_equal(p, q) for p, q in
             zip(_params(restored), _params(template)))
  assert jax.tree.structure(restored.opt_state) == jax.tree.structure(
      template.opt_state)


def test_checkpoint_of_other_model_is_refused(fake_mnist_dir, tmp_path):
  config = tiny_attention_config(fake_mnist_dir, epochs=1)
  supervised.train_and_evaluate(config, str(tmp_path))
  config.model.name = 'se'
  model = nets.get_model(config.model, config.defaults)
  with pytest.raises(errors.CheckpointError, match="checkpoint of model.*'base'"):
    common.restore_state(str(tmp_path), config, model,
                         np.zeros((1, 28, 28, 1), np.float32))


def test_resume_with_other_config_is_refused(fake_mnist_dir, tmp_path):
  config = tiny_attention_config(fake_mnist_dir, epochs=1)
  supervised.train_and_evaluate(config, str(tmp_path))
  config.opt.learning_rate = 0.01
  with pytest.raises(errors.ConfigError, match='opt.learning_rate: 0.001 -> 0.01'):
    supervised.train_and_evaluate(config, str(tmp_path))
  config.force = True
  supervised.train_and_evaluate(config, str(tmp_path))


def test_early_stopping_restores_best(fake_mnist_dir, tmp_path):
  # A learning rate of 0 never improves val_loss after epoch 1.
  config = tiny_attention_config(fake_mnist_dir, epochs=20, learning_rate=0.0,
                                 patience=2, restore_best=True)
  _, run = trainer.fit(config, str(tmp_path),
                       nets.get_model(config.model, config.defaults),
                       data.get_dataset(config.data))
  assert run['epochs_run'] == 3


def test_plateau_reduces_learning_rate(fake_mnist_dir, tmp_path):
  config = tiny_attention_config(fake_mnist_dir, epochs=5, learning_rate=0.0,
                                 plateau_factor=0.5, plateau_patience=1)
  config.opt.learning_rate = 1e-9  # too small to change val_loss much
  config.train.monitor = 'train_accuracy'  # constant: never improves
  _, run = trainer.fit(config, str(tmp_path),
                       nets.get_model(config.model, config.defaults),
                       data.get_dataset(config.data))
  lrs = [r['lr'] for r in run['history']]
  assert lrs[0] == pytest.approx(1e-9) and lrs[-1] < lrs[0]


class _Killed(Exception):
  pass


def test_cosine_schedule_sets_each_epochs_rate_and_resumes(
    fake_mnist_dir, tmp_path, monkeypatch):
  config = tiny_attention_config(fake_mnist_dir, epochs=4)
  config.train.lr_schedule = 'cosine'
  model = nets.get_model(config.model, config.defaults)
  splits = data.get_dataset(config.data)
  full, run = trainer.fit(config, str(tmp_path / 'a'), model, splits)
  base = config.opt.learning_rate
  assert [r['lr'] for r in run['history']] == pytest.approx(
      [base, base * 0.8535534, base / 2, base * 0.1464466], rel=1e-6)
  # A run killed after epoch 2's checkpoint resumes to the same weights.
  end_epoch = loop_lib.EpochLoop.end_epoch

  def end_then_die(self, *args, **kwargs):
    end_epoch(self, *args, **kwargs)
    if self.epoch == 2:
      # Dies once epoch 2's checkpoint is on disk: an async save still in
      # flight would race the resumed run for the same folders.
      self.ckpts.close()
      raise _Killed
  monkeypatch.setattr(loop_lib.EpochLoop, 'end_epoch', end_then_die)
  with pytest.raises(_Killed):
    trainer.fit(config, str(tmp_path / 'b'), model, splits)
  monkeypatch.setattr(loop_lib.EpochLoop, 'end_epoch', end_epoch)
  resumed, _ = trainer.fit(config, str(tmp_path / 'b'), model, splits)
  for p, q in zip(_params(full), _params(resumed)):
    np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize('schedule,plateau,match', [
    ('cosine', 0.5, 'set train.plateau_factor=0'),
    ('linear', 0.0, r"train.lr_schedule='linear': unknown"),
])
def test_bad_lr_schedule_is_refused(fake_mnist_dir, tmp_path, schedule,
                                    plateau, match):
  config = tiny_attention_config(fake_mnist_dir, epochs=1,
                                 plateau_factor=plateau)
  config.train.lr_schedule = schedule
  with pytest.raises(errors.ConfigError, match=match):
    trainer.fit(config, str(tmp_path / 'run'),
                nets.get_model(config.model, config.defaults),
                data.get_dataset(config.data))
  assert not (tmp_path / 'run').exists()


def test_non_finite_loss_stops_and_keeps_last_checkpoint(fake_mnist_dir, tmp_path):
  config = tiny_attention_config(fake_mnist_dir, epochs=1)
  model = nets.get_model(config.model, config.defaults)
  splits = data.get_dataset(config.data)
  trainer.fit(config, str(tmp_path), model, splits)
  config.train.epochs = 3
  splits.x_train[5] = np.nan
  with pytest.raises(errors.NonFiniteLossError, match='epoch 2: non-finite train_loss'):
    trainer.fit(config, str(tmp_path), model, splits)
  ckpts = checkpoint.Checkpoints(str(tmp_path))
  assert ckpts.latest.latest_step() == 1
  ckpts.close()


def test_evaluator_keeps_last_partial_batch(fake_mnist_dir, tmp_path):
  config = tiny_attention_config(fake_mnist_dir, epochs=1)
  state, _ = trainer.fit(config, str(tmp_path),
                         nets.get_model(config.model, config.defaults),
                         data.get_dataset(config.data))
  x = np.random.default_rng(0).random((23, 28, 28, 1)).astype(np.float32)
  y = np.arange(23) % 10
  by7 = evaluator.Evaluator(losses.softmax_xent, 7)(state, x, y)
  by23 = evaluator.Evaluator(losses.softmax_xent, 23)(state, x, y)
  assert by7['loss'] == pytest.approx(by23['loss'], rel=1e-5)
  assert by7['accuracy'] == pytest.approx(by23['accuracy'])


def test_accuracy_by_group_averages_replicas():
  labels = np.array([0, 1, 1, 2])
  groups = ['b', 'a', 'b', 'a']
  probs = np.eye(3)[[[0, 1, 0, 0], [0, 0, 1, 2]]]  # [2 replicas, 4, 3]
  # Replica 0 is right on items 0, 1; replica 1 on items 0, 2, 3.
  assert evaluator.accuracy_by_group(probs, labels, groups) == {
      'a': 0.5, 'b': 0.75}
  assert evaluator.accuracy_by_group(probs[1], labels, groups) == {
      'a': 0.5, 'b': 1.0}


@pytest.mark.parametrize('defaults', ['keras', 'flax'])
def test_reported_val_loss_includes_l2_in_keras_mode(defaults, fake_mnist_dir,
                                                     tmp_path):
  """Keras' val_loss (what early stopping monitors) is the data loss plus
  the regularisation term; Flax's convention reports the data loss alone."""
  config = tiny_attention_config(fake_mnist_dir, epochs=1, l2=1e-3)
  config.defaults = defaults
  splits = data.get_dataset(config.data)
  state, run = trainer.fit(config, str(tmp_path),
                           nets.get_model(config.model, config.defaults),
                           splits)
  data_only = evaluator.Evaluator(losses.softmax_xent, 64)(
      state, splits.x_val, splits.y_val)['loss']
  penalty = 1e-3 * float(losses.l2_penalty(state.params, 'kernel'))
  assert penalty > 1e-3  # large enough to tell the two apart
  expected = data_only + (penalty if defaults == 'keras' else 0.0)
  assert run['history'][-1]['val_loss'] == pytest.approx(expected, rel=1e-5)


def test_old_run_without_defaults_field_reads_back_as_flax(fake_mnist_dir,
                                                           tmp_path):
  """A config.json saved before config.defaults existed means Flax's
  defaults: the run restores with them, resumes under them, and a resume
  under the new default ('keras') is refused as another config."""
  config = tiny_attention_config(fake_mnist_dir, epochs=1)
  config.defaults = 'flax'
  config.model.name = 'self_attention'  # has a LayerNorm: eps 1e-6 vs 1e-3
  result = supervised.train_and_evaluate(config, str(tmp_path))
  path = tmp_path / 'config.json'
  saved = json.loads(path.read_text())
  del saved['defaults']
  path.write_text(json.dumps(saved))

  loaded, model, _, _ = common.load_run(str(tmp_path))
  assert loaded.defaults == 'flax' and model.defaults == 'flax'
  again = evaluate.evaluate(str(tmp_path))
  assert again['test_loss'] == pytest.approx(result['test_loss'], rel=1e-5)

  config.defaults = 'keras'
  with pytest.raises(errors.ConfigError, match="defaults: 'flax' -> 'keras'"):
    supervised.train_and_evaluate(config, str(tmp_path))
  config.defaults = 'flax'
  config.train.epochs = 2
  supervised.train_and_evaluate(config, str(tmp_path))
