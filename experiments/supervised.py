"""Entry point of single-model supervised runs: data -> model -> fit -> test."""

import os

import data
import errors
import nets
from train import evaluator as evaluator_lib
from train import losses
from train import metrics
from train import state as state_lib
from train import trainer
from train import workdir as workdir_lib


def test_metrics(config, state, splits, prefix='test_'):
  """Test loss/accuracy of a fitted state (a mean plus per-seed lists when
  the state holds vmapped replicas), and a classifier's accuracy per speaker
  where the data name each test item's speaker (FSDD)."""
  replicated = len(state_lib.replica_seeds(config)) > 1
  evaluate = evaluator_lib.Evaluator(
      losses.get_loss(config.train.loss), config.eval.batch_size, replicated,
      **evaluator_lib.reported_l2(config))
  out = evaluator_lib.summarize(
      evaluate(state, splits.x_test, splits.y_test, prefix))
  speakers = (splits.info or {}).get('test_speakers')
  if speakers and config.train.loss == 'softmax_xent':
    probs = evaluator_lib.probabilities(state, splits.x_test,
                                        config.eval.batch_size, replicated)
    out[f'{prefix}accuracy_per_speaker'] = evaluator_lib.accuracy_by_group(
        probs, splits.y_test, speakers)
  return out


def train_and_evaluate(config, workdir, augment_fn=None):
  """Trains config.model on config.data; writes results.json and the data's
  info['run_files'] (data/splits.py); returns the results.

  augment_fn: trainer.fit's on-device transform of training batches, or None.
  """
  if config.seeds != 1:
    raise errors.ConfigError(
        f'seeds={config.seeds}: a supervised run trains one seed; use '
        'replicas (vmapped in one run) or a sweep config')
  splits = data.get_dataset(config.data)
  model = nets.get_model(config.model, config.defaults)
  state, run = trainer.fit(config, workdir, model, splits, augment_fn)
  # After fit, which refuses a workdir holding another run.
  for name, obj in (splits.info or {}).get('run_files', {}).items():
    workdir_lib.write_json(os.path.join(workdir, name), obj)
  replicas = state_lib.replica_seeds(config)
  results = {
      'model': config.model.name, 'seed': config.seed, 'replicas': replicas,
      'params': state_lib.count_params(state, len(replicas)),
      **test_metrics(config, state, splits),
      **metrics.run_summary(run),
  }
  metrics.write_results(workdir, results)
  return results
