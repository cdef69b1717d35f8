"""eval.adapt: a run scored after re-estimating its BatchNorm statistics on
some of its unlabelled test items."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

import errors
from eval import adapt
from eval import common
import nets
from train import evaluator

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _state(run):
  return common.restore_state(
      run.workdir, run.config,
      nets.get_model(run.config.model, run.config.defaults),
      run.splits.x_test[:1])


def test_scores_the_other_items_before_and_after(voices_run):
  result = adapt.adapt_and_score(voices_run.workdir, 10, seed=3)
  x, y = np.asarray(voices_run.splits.x_test), voices_run.splits.y_test
  order = np.random.default_rng(3).permutation(len(y))
  adapted, scored = order[:10], order[10:]
  assert (result['adapted_on'], result['scored']) == (10, len(y) - 10)
  np.testing.assert_array_equal(result['labels'], y[scored])
  state = _state(voices_run)
  before = evaluator.probabilities(state, x[scored], 64)
  after = evaluator.probabilities(
      evaluator.adapt_batch_stats(state, x[adapted]), x[scored], 64)
  np.testing.assert_allclose(result['probabilities'], after, atol=1e-5)
  assert result['accuracy'] == pytest.approx(
      (before.argmax(-1) == y[scored]).mean())
  assert result['adapted_accuracy'] == pytest.approx(
      (after.argmax(-1) == y[scored]).mean())
  every = adapt.adapt_and_score(voices_run.workdir, -1)
  assert every['adapted_on'] == every['scored'] == len(y)


def test_bad_counts_and_runs_without_batchnorm_are_refused(voices_run,
                                                           mfcc_run):
  n = len(voices_run.splits.y_test)
  for bad in (0, n, -2):
    with pytest.raises(errors.ConfigError, match=f'recordings={bad}: need'):
      adapt.adapt_and_score(voices_run.workdir, bad)
  assert not mfcc_run.config.model.get('batch_norm')  # the MFCC baseline
  with pytest.raises(errors.ConfigError, match='no BatchNorm'):
    adapt.adapt_and_score(mfcc_run.workdir, 5)


def test_cli(voices_run):
  r = subprocess.run(
      [sys.executable, '-m', 'eval.adapt', f'--workdir={voices_run.workdir}',
       '--recordings=10'], cwd=ROOT, capture_output=True, text=True)
  assert r.returncode == 0, r.stderr
  scored = len(voices_run.splits.y_test) - 10
  assert r.stdout.startswith('BatchNorm statistics from 10 unlabelled test '
                             f'items; on the {scored} scored: test_accuracy ')
