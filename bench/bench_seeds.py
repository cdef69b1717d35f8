"""Wall time of N seeds of the 4A base model: vmapped vs sequential vs one run.

python -m bench.bench_seeds [--seeds=5 --epochs=10]
Real Reduced MNIST (5000 train / 1000 test) from config.data.dir; each timing
is train_time_s + compile_time_s as fit reports them, plus the sum of both.
"""

import tempfile

from absl import app
from absl import flags
import jax

from configs import attention_mnist
import data
import nets
from train import trainer

FLAGS = flags.FLAGS


def _fit(config, splits):
  with tempfile.TemporaryDirectory() as workdir:
    _, run = trainer.fit(
        config, workdir, nets.get_model(config.model, config.defaults), splits)
  return run


def main(_):
  config = attention_mnist.get_config()
  config.train.epochs = FLAGS.epochs
  config.train.progress = False
  splits = data.get_dataset(config.data)
  print(f'device: {jax.devices()[0].device_kind} x{jax.device_count()}, '
        f'{FLAGS.seeds} seeds, {FLAGS.epochs} epochs, model {config.model.name}')
  one = _fit(config, splits)
  config.replicas = FLAGS.seeds
  together = _fit(config, splits)
  config.replicas = 1
  sequential = [_fit(config.copy_and_resolve_references(), splits)
                for _ in range(FLAGS.seeds)]
  rows = [('one seed', [one]), (f'{FLAGS.seeds} seeds vmapped', [together]),
          (f'{FLAGS.seeds} seeds sequential', sequential)]
  print(f'{"":>22} {"train s":>9} {"compile s":>10} {"total s":>9}')
  for name, runs in rows:
    t = sum(r['train_time_s'] for r in runs)
    c = sum(r['compile_time_s'] for r in runs)
    print(f'{name:>22} {t:>9.1f} {c:>10.1f} {t + c:>9.1f}')


if __name__ == '__main__':
  flags.DEFINE_integer('seeds', 5, 'Number of seeds.')
  flags.DEFINE_integer('epochs', 10, 'Epochs per run.')
  app.run(main)
