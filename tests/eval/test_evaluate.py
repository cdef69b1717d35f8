"""eval.evaluate: test metrics, per-class accuracy, confusion matrix, data_dir."""

import json
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import errors
from eval import evaluate

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_per_class_accuracy_and_confusion_matrix(mnist_run):
  result = evaluate.evaluate(mnist_run.workdir)
  counts = np.array(result['confusion_matrix'])
  y = mnist_run.splits.y_test
  assert counts.shape == (10, 10)
  np.testing.assert_array_equal(counts.sum(axis=1),
                                np.bincount(y, minlength=10))
  assert np.trace(counts) / len(y) == pytest.approx(result['test_accuracy'])
  np.testing.assert_allclose(result['per_class_accuracy'],
                             np.diag(counts) / counts.sum(axis=1))


def test_data_dir_replaces_the_recorded_one(mnist_run, tmp_path):
  with pytest.raises(errors.DataError, match='nowhere'):
    evaluate.evaluate(mnist_run.workdir, data_dir=str(tmp_path / 'nowhere'))
  moved = tmp_path / 'moved'
  shutil.copytree(mnist_run.config.data.dir, moved)
  assert (evaluate.evaluate(mnist_run.workdir, data_dir=str(moved)) ==
          evaluate.evaluate(mnist_run.workdir))


def test_cli_writes_eval_json_and_confusion_png(mnist_run, tmp_path):
  workdir = tmp_path / 'run'
  shutil.copytree(mnist_run.workdir, workdir)
  r = subprocess.run(
      [sys.executable, '-m', 'eval.evaluate', f'--workdir={workdir}',
       f'--data_dir={mnist_run.config.data.dir}'],
      cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert r.returncode == 0, r.stderr[-2000:]
  result = json.loads((workdir / 'eval.json').read_text())
  assert len(result['per_class_accuracy']) == 10
  assert result['provenance']['versions']['flax']
  assert (workdir / 'confusion.png').stat().st_size > 1000
  lines = r.stdout.splitlines()
  assert lines[0].startswith('test_accuracy ') and 'per-class' in lines[1]
  assert lines[-1] == f'wrote {workdir}/eval.json, {workdir}/confusion.png'


def test_per_speaker_accuracy_on_fsdd_only(spectrogram_run, mnist_run):
  result = evaluate.evaluate(spectrogram_run.workdir)
  with open(pathlib.Path(spectrogram_run.workdir) / 'results.json') as f:
    trained = json.load(f)
  assert result['per_speaker_accuracy'] == pytest.approx(
      trained['test_accuracy_per_speaker'])
  assert sorted(result['per_speaker_accuracy']) == ['ann', 'bob', 'theo']
  assert 'per_speaker_accuracy' not in evaluate.evaluate(mnist_run.workdir)
