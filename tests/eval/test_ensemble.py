"""eval.ensemble: averaged class probabilities of runs on one test split."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import errors
from eval import common
from eval import ensemble

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _loaded(workdir):
  config, _, state, splits = common.load_run(workdir)
  return config, state, splits


def test_ensemble_is_the_mean_of_its_members(voices_run, voices_train_run):
  workdirs = [voices_run.workdir, voices_train_run.workdir]
  result = ensemble.ensemble(workdirs)
  probs = [ensemble.probabilities(*_loaded(w))[0] for w in workdirs]
  labels = np.asarray(voices_run.splits.y_test)
  assert result['members'] == 2
  for member, accuracy in zip(workdirs, result['member_accuracy']):
    with open(f'{member}/results.json') as f:
      assert accuracy == pytest.approx(json.load(f)['test_accuracy'])
  correct = (probs[0] + probs[1]).argmax(-1) == labels
  assert result['test_accuracy'] == pytest.approx(correct.mean())
  speakers = np.asarray(voices_run.splits.info['test_speakers'])
  assert result['per_speaker_accuracy'] == {
      s: pytest.approx(correct[speakers == s].mean())
      for s in sorted(set(speakers))}
  # A run with itself is that run.
  alone = ensemble.ensemble([voices_run.workdir] * 2)
  assert alone['test_accuracy'] == pytest.approx(
      result['member_accuracy'][0])


def test_other_test_items_or_one_run_are_refused(voices_run, mnist_run):
  with pytest.raises(errors.ConfigError, match='test split differs'):
    ensemble.ensemble([voices_run.workdir, mnist_run.workdir])
  with pytest.raises(errors.ConfigError, match='needs 2 or more'):
    ensemble.ensemble([voices_run.workdir])


def test_cli(voices_run, voices_train_run, mnist_run):
  def cli(*workdirs):
    return subprocess.run(
        [sys.executable, '-m', 'eval.ensemble',
         *[f'--workdir={w}' for w in workdirs]],
        cwd=ROOT, capture_output=True, text=True)
  r = cli(voices_run.workdir, voices_train_run.workdir)
  assert r.returncode == 0, r.stderr
  assert r.stdout.startswith('ensemble of 2 members: test_accuracy ')
  assert 'per-speaker accuracy: ' in r.stdout
  r = cli(voices_run.workdir, mnist_run.workdir)
  assert r.returncode == 1
  assert r.stderr.strip().splitlines()[-1].startswith(
      f'error: {mnist_run.workdir}: its test split differs')
