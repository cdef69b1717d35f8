"""bench.compare: alternation, medians, ratios and the Keras-absent path,
with fake twin runs (no JAX workload, no TensorFlow)."""

import ast
import stat

import pytest

from bench import compare


class FakeTwins:
  """Stands in for run_twin: records each command and returns the next of
  `speeds[side]` as images/s (side: 'jax' or 'keras')."""

  def __init__(self, speeds, params=None):
    self.speeds = {side: iter(v) for side, v in speeds.items()}
    self.params = params or {'jax': 225_034, 'keras': 225_034}
    self.calls = []

  def __call__(self, cmd):
    side = 'keras' if 'bench/keras_twins.py' in cmd else 'jax'
    workload = next(a for a in cmd if a.startswith('--workload='))
    self.calls.append((side, workload.split('=')[1]))
    versions = ({'tf': '2.21.0', 'keras': '3.15.1'} if side == 'keras' else
                {'jax': '0.10.2', 'flax': '0.12.8'})
    return {'workload': workload.split('=')[1],
            'images_per_s': next(self.speeds[side]),
            'params': self.params[side], 'state': 0, **versions}


def _row(text, label):
  return next(line for line in text.splitlines()
              if line.startswith(f'| {label}'))


def test_medians_ratio_and_alternation(capsys):
  twins = FakeTwins({'jax': [100.0, 300.0, 200.0],
                     'keras': [50.0, 10.0, 100.0]})
  compare.compare(['cnn_table2'], 3, 1, '/fake/python', run=twins)
  out = capsys.readouterr().out
  assert twins.calls == [('jax', 'cnn_table2'), ('keras', 'cnn_table2')] * 3
  # Medians 200 and 50: JAX 4x faster; equal counts printed once each.
  assert _row(out, compare.ROWS['cnn_table2'].label).endswith(
      '| 200.0 | 50.0 | 4.00x | 225,034 / 225,034 |')
  assert 'jax 0.10.2, flax 0.12.8; tensorflow 2.21.0, keras 3.15.1' in out
  assert 'median of 3 alternating runs' in out
  assert 'Keras side skipped' not in out


def test_steps_default_per_workload_and_override():
  twins = FakeTwins({'jax': [1.0] * 2, 'keras': [1.0] * 2})
  cmds = []
  run = lambda cmd: cmds.append(cmd) or twins(cmd)
  compare.measure(['lenet_cbam'], 1, None, '/fake/python', run=run)
  compare.measure(['lenet_cbam'], 1, 2, '/fake/python', run=run)
  assert [c for c in cmds[0] if c.startswith('--steps')] == [
      f'--steps={compare.ROWS["lenet_cbam"].steps}']
  assert '--steps=2' in cmds[2] and '--steps=2' in cmds[3]


def test_shared_keras_workload_runs_once_per_round(capsys):
  twins = FakeTwins({'jax': [60.0, 40.0, 30.0, 20.0], 'keras': [10.0, 20.0]})
  compare.compare(['seeds5_vmap', 'seeds5'], 2, 1, '/fake/python', run=twins)
  out = capsys.readouterr().out
  assert twins.calls == [('jax', 'seeds5_vmap'), ('jax', 'seeds5'),
                         ('keras', 'seeds5')] * 2
  # JAX medians 45 (vmapped) and 30 (sequential) against one Keras median, 15.
  rows = {name: _row(out, compare.ROWS[name].label) for name in compare.ROWS
          if name.startswith('seeds5')}
  assert '| 45.0 | 15.0 | 3.00x |' in rows['seeds5_vmap']
  assert '| 30.0 | 15.0 | 2.00x |' in rows['seeds5']


def test_differing_parameter_counts_are_flagged(capsys):
  twins = FakeTwins({'jax': [1.0], 'keras': [1.0]},
                    params={'jax': 10, 'keras': 12})
  compare.compare(['gan_gd'], 1, 1, '/fake/python', run=twins)
  assert '10 / 12 (differ)' in capsys.readouterr().out


def test_differing_batch_norm_statistics_are_flagged(capsys):
  twins = FakeTwins({'jax': [1.0], 'keras': [1.0]})
  original = twins.__call__
  twins_state = lambda cmd: {**original(cmd), 'state': len(twins.calls)}
  compare.compare(['gan'], 1, 1, '/fake/python', run=twins_state)
  assert '225,034 / 225,034 (differ)' in capsys.readouterr().out


def test_keras_absent_runs_jax_only(capsys, monkeypatch, tmp_path):
  monkeypatch.setenv('KERAS_PYTHON', str(tmp_path / 'missing' / 'python'))
  assert compare.keras_python() is None
  twins = FakeTwins({'jax': [100.0, 200.0]})
  compare.compare(['cnn_table2'], 2, 1, compare.keras_python(), run=twins)
  out = capsys.readouterr().out
  assert out.splitlines()[0] == (
      'Keras side skipped: no .venv-keras/bin/python (nor $KERAS_PYTHON); '
      'install it from the repository root with: python -m venv .venv-keras '
      '&& .venv-keras/bin/pip install -r bench/requirements-keras.txt')
  assert [side for side, _ in twins.calls] == ['jax', 'jax']
  assert _row(out, compare.ROWS['cnn_table2'].label).endswith(
      '| 150.0 | - | - | 225,034 |')
  assert 'tensorflow' not in out


def test_keras_python_from_environment(monkeypatch, tmp_path):
  python = tmp_path / 'python'
  python.write_text('#!/bin/sh\n')
  python.chmod(python.stat().st_mode | stat.S_IXUSR)
  monkeypatch.setenv('KERAS_PYTHON', str(python))
  assert compare.keras_python() == str(python)


def test_failed_twin_raises_with_its_stderr():
  with pytest.raises(RuntimeError, match='exited 3:\nboom'):
    compare.run_twin(['sh', '-c', 'echo boom >&2; exit 3'])


def test_cpu_model_from_lscpu():
  text = 'Architecture:  x86_64\nModel name:    AMD EPYC 7B13\nThread(s): 2\n'
  assert compare.cpu_model(text) == 'AMD EPYC 7B13'
  assert compare.cpu_model('')  # falls back to platform.processor()


def _workloads(path):
  """The keys of the WORKLOADS dict in `path`, read without importing it
  (keras_twins.py needs TensorFlow)."""
  tree = ast.parse(path.read_text())
  node = next(n for n in tree.body if isinstance(n, ast.Assign)
              and getattr(n.targets[0], 'id', '') == 'WORKLOADS')
  return {k.value for k in node.value.keys}


def test_every_row_has_both_twins():
  jax_side = _workloads(compare.ROOT / 'bench' / 'jax_twins.py')
  keras_side = _workloads(compare.ROOT / 'bench' / 'keras_twins.py')
  assert set(compare.ROWS) == jax_side
  assert {row.keras for row in compare.ROWS.values()} == keras_side
