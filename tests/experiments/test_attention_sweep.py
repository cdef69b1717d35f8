"""The 4A sweep writes Table 10, curves and attention maps from its runs."""

import csv
import json

import jax
import numpy as np
import pytest

import experiments
from experiments import attention_sweep
from tests.conftest import tiny_attention_config


def test_sweep_writes_table_curves_and_maps(fake_mnist_dir, tmp_path):
  config = tiny_attention_config(fake_mnist_dir, epochs=1)
  config.sweep.models = ('base', 'se')
  config.seeds = 2
  rows = attention_sweep.run(config, str(tmp_path))
  assert [r['model'] for r in rows] == ['base', 'se']
  table = list(csv.DictReader(open(tmp_path / 'table10.csv')))
  assert table[0]['vs base'] == '+0.0000' and table[1]['params'] == '225326'
  # Numbers for machines in the CSV; 'mean ± std' only in the markdown.
  se = [json.loads((tmp_path / 'se' / f'seed{s}' / 'results.json').read_text())
        ['test_accuracy'] for s in (4, 5)]
  assert float(table[1]['mean']) == pytest.approx(np.mean(se))
  assert float(table[1]['std']) == pytest.approx(np.std(se, ddof=1))
  assert float(table[1]['ci95']) >= 0 and table[1]['n'] == '2'
  assert '±' not in open(tmp_path / 'table10.csv').read()
  assert '±' in (tmp_path / 'table10.md').read_text()
  summary = json.loads((tmp_path / 'results.json').read_text())
  assert summary['table'][1]['mean'] == pytest.approx(np.mean(se))
  assert summary['provenance']['versions']['jax'] == jax.__version__
  for name in ('curves.png', 'maps_se.png', 'table10.md'):
    assert (tmp_path / name).stat().st_size > 0
  assert not (tmp_path / 'maps_base.png').exists()
  assert (tmp_path / 'se' / 'seed5' / 'results.json').exists()


def test_summary_is_the_last_line_of_a_run_or_a_sweep():
  assert experiments.summary(
      {'test_accuracy': 0.97601, 'test_loss': 0.08, 'test_accuracy_per_seed':
       [0.97], 'params': 5, 'train_time_s': 3.0}, 'runs/se') == (
           'test_accuracy 0.9760, test_loss 0.0800; results: '
           'runs/se/results.json')
  assert experiments.summary([{'mean': 0.97}, {'mean': 0.95}], 'w') == (
      'table of 2: mean test accuracy 0.9500 to 0.9700; results: '
      'w/results.json')
