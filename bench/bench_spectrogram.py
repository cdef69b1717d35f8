"""Train-step throughput of the Problem-4B LeNets and spectrogram extraction time.

python -m bench.bench_spectrogram [--models=lenet,lenet_hybrid] [--extract]
Random 128x128x3 inputs at batch 16; times `--steps` jitted steps called from
a Python loop, the way train.trainer.fit calls them, best of `--repeats`.
--extract also times the spectrogram images of every FSDD recording, computed
into an empty cache and then read back from it.
"""

import tempfile
import time

from absl import app
from absl import flags
import jax

from bench import common
from configs import spectrogram_cnn
import data

flags.DEFINE_list('models', list(spectrogram_cnn.L2), 'Models to time.')
flags.DEFINE_integer('batch_size', 16, 'Batch size (the seed used 16).')
flags.DEFINE_integer('steps', 40, 'Timed steps per measurement.')
flags.DEFINE_integer('repeats', 3, 'Measurements per model; the best is kept.')
flags.DEFINE_bool('extract', False, 'Also time spectrogram extraction.')
FLAGS = flags.FLAGS


def time_model(name, batch_size, steps, repeats, n=480):
  """Images/s of the train step of model `name` (best of `repeats`)."""
  return common.train_step_images_per_s(
      spectrogram_cnn.get_config(name), (128, 128, 3), batch_size, steps,
      repeats, n)


def time_extraction():
  """(seconds computing every image, seconds reading them from the cache)."""
  cfg = spectrogram_cnn.get_config().data
  with tempfile.TemporaryDirectory() as cache_dir:
    cfg.cache_dir = cache_dir
    times = []
    for _ in range(2):
      t0 = time.perf_counter()
      data.get_dataset(cfg)
      times.append(time.perf_counter() - t0)
  return times


def main(_):
  print(f'device: {jax.devices()[0].device_kind}, jax {jax.__version__}, '
        f'batch {FLAGS.batch_size}')
  print(f'{"model":>13} {"images/s":>9}')
  for name in FLAGS.models:
    ips = time_model(name, FLAGS.batch_size, FLAGS.steps, FLAGS.repeats)
    print(f'{name:>13} {ips:>9.1f}', flush=True)
  if FLAGS.extract:
    first, cached = time_extraction()
    print(f'spectrograms of all recordings: {first:.1f}s computed, '
          f'{cached:.1f}s from the cache (both include the split)')


if __name__ == '__main__':
  app.run(main)
