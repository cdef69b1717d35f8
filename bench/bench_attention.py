"""Train-step throughput (images/s) of the Problem-4A models, after compile.

python -m bench.bench_attention [--models=base,se] [--batch_sizes=32,128]
Random inputs of the Reduced-MNIST shape; times `--steps` jitted steps called
from a Python loop, the way train.trainer.fit calls them.
"""

from absl import app
from absl import flags
import jax

from bench import common
from configs import attention_mnist

flags.DEFINE_list('models', ['base', 'spatial', 'self_attention', 'cbam', 'se'],
                  'Models to time.')
flags.DEFINE_list('batch_sizes', ['32'], 'Batch sizes to time.')
flags.DEFINE_integer('steps', 150, 'Timed steps per measurement.')
flags.DEFINE_integer('repeats', 3, 'Measurements per setting; the best is kept.')
FLAGS = flags.FLAGS


def time_model(name, batch_size, steps, repeats):
  config = attention_mnist.get_config()
  config.model.name = name
  return common.train_step_images_per_s(config, (28, 28, 1), batch_size,
                                        steps, repeats)


def main(_):
  print(f'device: {jax.devices()[0].device_kind}, jax {jax.__version__}')
  print(f'{"model":>15} {"batch":>6} {"images/s":>10}')
  for name in FLAGS.models:
    for bs in map(int, FLAGS.batch_sizes):
      print(f'{name:>15} {bs:>6} '
            f'{time_model(name, bs, FLAGS.steps, FLAGS.repeats):>10.0f}')


if __name__ == '__main__':
  app.run(main)
