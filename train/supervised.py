"""Entry point of single-model supervised runs: data -> model -> fit -> test."""

import json
import os

import jax

import data
import nets
from train import trainer
from train import workdir as workdir_lib


def count_params(state, replicas=1):
  return int(sum(x.size for x in jax.tree.leaves(state.params))) // replicas


def run_summary(run):
  """The results.json fields every experiment reports about its training."""
  return {'train_time_s': run['train_time_s'],
          'compile_time_s': run['compile_time_s'],
          'epochs_run': run['epochs_run'],
          'device': jax.devices()[0].device_kind}


def write_results(workdir, results):
  with open(os.path.join(workdir, 'results.json'), 'w') as f:
    json.dump(results, f, indent=2)


def train_and_evaluate(config, workdir):
  """Trains config.model on config.data; writes results.json; returns it."""
  splits = data.get_dataset(config.data)
  model = nets.get_model(config.model)
  workdir_lib.record_config(config, workdir)
  state, run = trainer.fit(config, workdir, model, splits)
  seeds = trainer.seed_list(config)
  evaluate = trainer.Evaluator(trainer.LOSSES[config.train.loss],
                               config.eval.batch_size, len(seeds) > 1)
  results = {
      'model': config.model.name, 'seed': config.seed, 'seeds': seeds,
      'params': count_params(state, len(seeds)),
      **trainer.summarize(
          evaluate(state, splits.x_test, splits.y_test, 'test_')),
      **run_summary(run),
  }
  write_results(workdir, results)
  return results
