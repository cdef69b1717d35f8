"""The 4A sweep writes Table 10, curves and attention maps from its runs."""

import csv

from tests.conftest import tiny_attention_config
from experiments import attention_sweep


def test_sweep_writes_table_curves_and_maps(fake_mnist_dir, tmp_path):
  config = tiny_attention_config(fake_mnist_dir, epochs=1)
  config.sweep.models = ('base', 'se')
  config.seeds = 2
  rows = attention_sweep.run(config, str(tmp_path))
  assert [r['model'] for r in rows] == ['base', 'se']
  table = list(csv.DictReader(open(tmp_path / 'table10.csv')))
  assert table[0]['vs base'] == '+0.0000' and table[1]['params'] == '225326'
  assert '±' in table[1]['test accuracy (mean ± std)']
  for name in ('curves.png', 'maps_se.png', 'table10.md'):
    assert (tmp_path / name).stat().st_size > 0
  assert not (tmp_path / 'maps_base.png').exists()
  assert (tmp_path / 'se' / 'seed5' / 'results.json').exists()
