"""Combined-augmentation throughput and the time to build the largest grid cell.

python -m bench.bench_augment [--batch_sizes=256,1024,8192] [--repeats=3]
Throughput: images/s of `augment_with_keys` (config.augment of
configs/augment_grid.py) after compilation, best of --repeats. Largest cell:
1000 real + 3000 generated per class (40,000 images) through
experiments.augment_grid.build_cell, from MNIST when ../shared/data has it
(random images otherwise), first call (with compilation) and best later call.
"""

import time

from absl import app
from absl import flags
import jax
import numpy as np

from configs import augment_grid as grid_config
from data import augment
from data import splits as splits_lib
import errors
from experiments import augment_grid

flags.DEFINE_list('batch_sizes', ['256', '1024', '8192'], 'Batch sizes to time.')
flags.DEFINE_integer('repeats', 3, 'Measurements per setting; the best is kept.')
FLAGS = flags.FLAGS


def best_time(fn, repeats):
  best = float('inf')
  for _ in range(repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    best = min(best, time.perf_counter() - t0)
  return best


def throughput(cfg, batch_size, repeats):
  x = np.random.default_rng(0).random((batch_size, 28, 28, 1), np.float32)
  keys = jax.random.split(jax.random.PRNGKey(0), batch_size)
  run = lambda: augment.augment_with_keys(keys, x, cfg)
  jax.block_until_ready(run())
  return batch_size / best_time(run, repeats)


def real_1000(config):
  """Splits with 1000 real images per class, MNIST or random stand-ins."""
  try:
    return augment_grid.real_splits(config, 1000), 'MNIST train'
  except errors.DataError:
    rng = np.random.default_rng(0)
    x = rng.random((10000, 28, 28, 1), np.float32)
    y = np.repeat(np.arange(10, dtype=np.int32), 1000)
    return splits_lib.Splits(x, y, x[:10], y[:10], x[:10], y[:10],
                             info={}), 'random images'


def main(_):
  config = grid_config.get_config()
  config.data.allow_download = False
  print(f'device: {jax.devices()[0].device_kind}, jax {jax.__version__}, '
        f'chunk {augment._CHUNK}')  # pylint: disable=protected-access
  # The cell first, so that its first call includes the compilation.
  real, source = real_1000(config)
  key = augment_grid.cell_key(config.grid.data_seed, 1000, 3000)
  build = lambda: augment_grid.build_cell(real, 3000, key, config.augment).x_train
  t0 = time.perf_counter()
  n = len(jax.block_until_ready(build()))
  first = time.perf_counter() - t0
  print(f'largest cell ({n} images, 1000 real/class from {source} + 3000 '
        f'generated/class): first call {first:.2f}s (with compilation), '
        f'then best {best_time(build, FLAGS.repeats):.2f}s')

  print(f'{"batch":>6} {"images/s":>10}')
  for bs in map(int, FLAGS.batch_sizes):
    print(f'{bs:>6} {throughput(config.augment, bs, FLAGS.repeats):>10.0f}')


if __name__ == '__main__':
  app.run(main)
