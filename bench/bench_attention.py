"""Train-step throughput (images/s) of the Problem-4A models, after compile.

python -m bench.bench_attention [--models=base,se] [--batch_sizes=32,128]
Random inputs of the Reduced-MNIST shape; times `--steps` jitted steps called
from a Python loop, the way train.trainer.fit calls them.
"""

import functools
import time

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

from configs import attention_mnist
import nets
from train import trainer

flags.DEFINE_list('models', list(nets.MODELS), 'Models to time.')
flags.DEFINE_list('batch_sizes', ['32'], 'Batch sizes to time.')
flags.DEFINE_integer('steps', 150, 'Timed steps per measurement.')
flags.DEFINE_integer('repeats', 3, 'Measurements per setting; the best is kept.')
FLAGS = flags.FLAGS


def time_model(name, batch_size, steps, repeats):
  config = attention_mnist.get_config()
  config.model.name = name
  model = nets.get_model(config.model)
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.random((5000, 28, 28, 1), np.float32))
  y = jnp.asarray(rng.integers(0, 10, 5000).astype(np.int32))
  state = trainer.create_train_state(
      model, trainer.make_optimizer(config.train), jax.random.PRNGKey(0), x[:1])
  sums = trainer.zero_sums(state, trainer.softmax_xent, x, y)
  step = jax.jit(functools.partial(trainer.train_step,
                                   loss_fn=trainer.softmax_xent),
                 donate_argnums=(0, 1))
  idx = [rng.permutation(5000)[:batch_size].astype(np.int32)
         for _ in range(steps)]
  state, sums = step(state, sums, x, y, idx[0])
  best = float('inf')
  for _ in range(repeats):
    jax.block_until_ready(state)
    t0 = time.perf_counter()
    for i in idx:
      state, sums = step(state, sums, x, y, i)
    jax.block_until_ready(state)
    best = min(best, time.perf_counter() - t0)
  return steps * batch_size / best


def main(_):
  print(f'device: {jax.devices()[0].device_kind}, jax {jax.__version__}')
  print(f'{"model":>15} {"batch":>6} {"images/s":>10}')
  for name in FLAGS.models:
    for bs in map(int, FLAGS.batch_sizes):
      print(f'{name:>15} {bs:>6} '
            f'{time_model(name, bs, FLAGS.steps, FLAGS.repeats):>10.0f}')


if __name__ == '__main__':
  app.run(main)
