"""The real x generated grid: cell composition, an end-to-end run, bad configs."""

import csv
import json
import os

import numpy as np
import pytest

from configs import augment_grid as grid_config
from configs import base
from data import augment
import errors
from eval import augment_figure
import experiments
from experiments import augment_grid
from train import trainer


def _config(data_root, seeds=2, **grid):
  config = grid_config.get_config()
  config.data.dir = str(data_root)
  config.data.allow_download = False
  config.data.test_per_class = 10
  config.grid.real_per_class = (5,)
  config.grid.generated_per_class = (0, 5)
  config.seeds = seeds
  config.train.epochs = 1
  config.train.batch_size = 16
  config.grid.update(grid)
  return config


def _rows(x):
  return [r.tobytes() for r in np.asarray(x)]


def test_cell_has_every_real_image_once_plus_generated(fake_mnist_dir):
  config = _config(fake_mnist_dir)
  real = augment_grid.real_splits(config, 5)
  key = augment_grid.cell_key(0, 5, 5)
  cell = augment_grid.build_cell(real, 5, key, config.augment)
  np.testing.assert_array_equal(np.bincount(cell.y_train), [10] * 10)
  rows = _rows(cell.x_train)
  assert all(rows.count(r) == 1 for r in _rows(real.x_train))
  np.testing.assert_array_equal(cell.y_train[:50], real.y_train)
  # Generated labels follow their source class (sources: test_augment.py).
  np.testing.assert_array_equal(cell.y_train[50:], np.repeat(np.arange(10), 5))
  # The same cell always gets the same images; test data is untouched.
  again = augment_grid.build_cell(real, 5, key, config.augment)
  np.testing.assert_array_equal(again.x_train, cell.x_train)
  np.testing.assert_array_equal(cell.x_test, real.x_test)


def test_grid_runs_writes_table_and_resumes(fake_mnist_dir, tmp_path,
                                            monkeypatch):
  # Figure 5 has its own test; here it would only add compilations.
  figures = []
  monkeypatch.setattr(augment_figure, 'plot_augmentations',
                      lambda image, cfg, path: figures.append(path))
  workdir = str(tmp_path / 'grid')
  rows = experiments.run(_config(fake_mnist_dir), workdir)
  assert [(r['real/class'], r['generated/class'], r['n']) for r in rows] == [
      (5, 0, 2), (5, 5, 2)]
  assert rows[1]['train images'] == 100 and rows[1]['vs 0 generated']
  for name in ('table3.md', 'table3.csv', 'table3_grid.md',
               'accuracy_grid.png', 'real5_gen5/seed1/results.json'):
    assert os.path.exists(os.path.join(workdir, name)), name
  assert figures == [os.path.join(workdir, 'figure5.png')]
  with open(os.path.join(workdir, 'real5_gen0/seed0/results.json')) as f:
    assert 0.0 <= json.load(f)['test_accuracy'] <= 1.0
  table = open(os.path.join(workdir, 'table3.md')).read()
  assert '| 5 | 5 | 100 |' in table and 'seeds [0, 1]' in table
  # The CSVs hold numbers: mean, std, ci95, n instead of 'mean ± std'.
  with open(os.path.join(workdir, 'table3.csv')) as f:
    long = list(csv.DictReader(f))
  assert [float(r['mean']) for r in long] == [r['mean'] for r in rows]
  assert [int(r['n']) for r in long] == [2, 2]
  with open(os.path.join(workdir, 'table3_grid.csv')) as f:
    grid = list(csv.DictReader(f))
  assert list(grid[0]) == ['real \\ generated', '0 mean', '5 mean', '0 std',
                           '5 std']
  assert float(grid[0]['5 std']) == rows[1]['std']
  with open(os.path.join(workdir, 'results.json')) as f:
    assert json.load(f)['table'][1]['mean'] == rows[1]['mean']

  # Finished runs are read back, not trained again, also by a smaller grid.
  monkeypatch.setattr(trainer, 'fit', lambda *a: pytest.fail('retrained'))
  again = experiments.run(_config(fake_mnist_dir), workdir)
  assert [r['accuracy'] for r in again] == [r['accuracy'] for r in rows]
  one_seed = experiments.run(_config(fake_mnist_dir, seeds=1), workdir)
  assert [r['n'] for r in one_seed] == [1, 1]


def test_more_epochs_resume_cells_to_the_new_count(fake_mnist_dir, tmp_path,
                                                  monkeypatch):
  # train.epochs is resumable, so a 1-epoch cell passes the config check of a
  # 2-epoch grid: it must train on to 2 epochs, not stand in the new table.
  monkeypatch.setattr(augment_figure, 'plot_augmentations', lambda *a: None)
  two = _config(fake_mnist_dir, seeds=1)
  two.train.epochs = 2
  fresh = experiments.run(two, str(tmp_path / 'fresh'))
  workdir = str(tmp_path / 'grid')
  experiments.run(_config(fake_mnist_dir, seeds=1), workdir)
  extended = experiments.run(two, workdir)
  with open(os.path.join(workdir, 'real5_gen5/seed0/results.json')) as f:
    assert json.load(f)['epochs_run'] == 2
  # Resumed from the 1-epoch checkpoint, to what a 2-epoch run reaches.
  assert [r['mean'] for r in extended] == [r['mean'] for r in fresh]
  # A 2-epoch cell cannot stand in a 1-epoch table either: one clear error
  # before anything is written.
  before = {p: os.path.getmtime(os.path.join(workdir, p))
            for p in ('config.json', 'table3.md')}
  with pytest.raises(errors.ConfigError,
                     match=r'real5_gen0/seed0: trained for 2 epochs, more '
                           r'than train.epochs=1; use another workdir'):
    experiments.run(_config(fake_mnist_dir, seeds=1), workdir)
  assert before == {p: os.path.getmtime(os.path.join(workdir, p))
                    for p in before}


@pytest.mark.parametrize('change,match', [
    ({'grid.real_per_class': (5, 31)}, r'grid\.real_per_class=\(5, 31\).*only 30'),
    ({'grid.generated_per_class': (0, -1)}, r'grid\.generated_per_class'),
    ({'seeds': 0}, r'seeds=0'),
    ({'grid.table': '4'}, r'grid\.table=.4.'),
    ({'grid.augmented_per_class': -1}, r'grid\.augmented_per_class=-1'),
    ({'augment.strength': -0.5}, r'augment\.strength=-0\.5'),
    ({'augment.strength': 2.0}, r'augment\.strength=2\.0.*<= 1'),
    ({'augment.transforms': ('rotate', 'blur')}, r'augment\.transforms'),
])
def test_bad_config_errors_and_writes_nothing(fake_mnist_dir, tmp_path,
                                              change, match):
  config = _config(fake_mnist_dir)
  config = base.derive(config, **change)
  workdir = tmp_path / 'grid'
  with pytest.raises(errors.ConfigError, match=match):
    experiments.run(config, str(workdir))
  assert not workdir.exists()


def test_augment_range_must_match_data(fake_mnist_dir, tmp_path):
  config = _config(fake_mnist_dir)
  config.augment = augment.default_config()  # no longer tied to data's
  config.augment.pixel_range = (-1.0, 1.0)
  with pytest.raises(errors.ConfigError, match=r'augment\.pixel_range'):
    experiments.run(config, str(tmp_path / 'grid'))
  assert not (tmp_path / 'grid').exists()


def test_real_mnist_cell(shared_data):
  config = _config(shared_data)
  config.data.test_per_class = 200
  real = augment_grid.real_splits(config, 300)
  cell = augment_grid.build_cell(real, 5, augment_grid.cell_key(0, 300, 5),
                                 config.augment)
  np.testing.assert_array_equal(np.bincount(cell.y_train), [305] * 10)
  np.testing.assert_array_equal(np.bincount(cell.y_test), [200] * 10)
  assert cell.x_train.min() >= 0.0 and cell.x_train.max() <= 1.0


def _write_synthetic(path, per_class):
  """An eval.generate-style .npz whose image i is filled with the value i."""
  y = np.repeat(np.arange(10), per_class).astype(np.int32)
  x = np.broadcast_to(np.arange(len(y), dtype=np.uint8)[:, None, None],
                      (len(y), 28, 28))
  np.savez_compressed(path, x=x, y=y)
  return str(path)


def test_synthetic_cell_takes_first_k_per_class(fake_mnist_dir, tmp_path):
  path = _write_synthetic(tmp_path / 'syn.npz', per_class=7)
  config = _config(fake_mnist_dir, synthetic=path, augmented_per_class=2)
  synthetic = augment_grid.load_synthetic(config)
  real = augment_grid.real_splits(config, 5)
  # 5 real + 2 augmented per class, the real ones first.
  np.testing.assert_array_equal(np.bincount(real.y_train), [7] * 10)
  cell = augment_grid.build_cell(real, 3, augment_grid.cell_key(0, 5, 3),
                                 config.augment, synthetic)
  np.testing.assert_array_equal(cell.x_train[:70], real.x_train)
  first3 = np.concatenate([np.arange(c * 7, c * 7 + 3) for c in range(10)])
  np.testing.assert_allclose(cell.x_train[70:, 0, 0, 0], first3 / 255.0,
                             rtol=1e-6)
  np.testing.assert_array_equal(cell.y_train[70:], np.repeat(np.arange(10), 3))


def test_synthetic_grid_writes_table5(fake_mnist_dir, tmp_path):
  path = _write_synthetic(tmp_path / 'syn.npz', per_class=5)
  config = _config(fake_mnist_dir, synthetic=path, table='5', seeds=1)
  workdir = tmp_path / 'grid'
  rows = experiments.run(config, str(workdir))
  assert [(r['generated/class'], r['train images']) for r in rows] == [
      (0, 50), (5, 100)]
  table = (workdir / 'table5.md').read_text()
  assert 'Table 5' in table and 'syn.npz' in table
  assert not (workdir / 'figure5.png').exists()


@pytest.mark.parametrize('content,match', [
    (None, r'missing\.npz: no such synthetic-image file'),
    (b'not a zip', r'not an \.npz'),
    ('few', r'5 images per class needed, but class 0 has only 2'),
    ('label', r'missing\.npz: labels 0\.\.10, expected digits 0-9'),
])
def test_bad_synthetic_file_errors_and_writes_nothing(fake_mnist_dir, tmp_path,
                                                      content, match):
  path = tmp_path / 'missing.npz'
  if content == 'few':
    _write_synthetic(path, per_class=2)
  elif content == 'label':
    np.savez(path, x=np.zeros((2, 28, 28), np.uint8), y=np.array([0, 10]))
  elif content is not None:
    path.write_bytes(content)
  config = _config(fake_mnist_dir, synthetic=str(path))
  with pytest.raises((errors.DataError, errors.ConfigError), match=match):
    experiments.run(config, str(tmp_path / 'grid'))
  assert not (tmp_path / 'grid').exists()


def test_synthetic_grid_config_variants():
  from configs import synthetic_grid
  table5 = synthetic_grid.get_config()
  assert table5.grid.table == '5' and table5.grid.synthetic.endswith('.npz')
  assert table5.train.epochs == 20  # the study's pipeline section (3.3)
  table6 = synthetic_grid.get_config('table6')
  assert table6.grid.table == '6' and table6.grid.augmented_per_class == 1000
  with pytest.raises(errors.ConfigError, match='table7'):
    synthetic_grid.get_config('table7')


def test_table5_rows_carry_both_study_columns():
  runs = [{'test_accuracy': a, 'train_images': 13000, 'train_time_s': 1.0}
          for a in (0.95, 0.96)]
  rows = augment_grid.table_rows({(300, 0): runs, (300, 1000): runs},
                                 augment_grid.STUDIES['5'])
  assert rows[0]['study (1 run)'] == 0.9785 and rows[0]['study, full GAN'] == ''
  assert (rows[1]['study (1 run)'], rows[1]['study, full GAN']) == (0.9485,
                                                                    0.9655)
