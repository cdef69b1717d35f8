"""The JAX side of bench/compare.py: each workload on the project's own code.

python -m bench.jax_twins --workload=gan --steps=5 --repeats=1
Workloads as in bench/keras_twins.py (plus seeds5_vmap): the GAN step of
bench.bench_gan.make_step, train steps timed by bench.common, and 10-epoch
runs of train.trainer.fit on random data of the Reduced-MNIST shape (5000
train / 1000 validation images, validation every epoch, checkpoints written
as in a real run; images/s = seeds x epochs x 5000 / train_time_s, compile
excluded). Prints one JSON line: {"workload", "images_per_s", "params",
"state" (batch_stats), "jax", "flax"}; images/s is the best of --repeats.
The side-by-side benchmark imports project modules here only.
"""

import tempfile

import flax
import jax
import jax.numpy as jnp
import numpy as np

from bench import bench_gan
from bench import common
from bench import twin_cli
from configs import attention_mnist
from configs import augment_grid
from configs import gan_300
from configs import spectrogram_cnn
from data import splits as splits_lib
import nets
from train import trainer



def count(model_cfgs_and_inputs):
  """(params, batch_stats) sizes summed over (model config, sample input)."""
  size = lambda tree: sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))
  params = state = 0
  for cfg, sample in model_cfgs_and_inputs:
    # Sizes do not depend on the initialisers.
    variables = jax.eval_shape(nets.get_model(cfg, 'keras').init,
                               jax.random.PRNGKey(0), sample)
    params += size(variables['params'])
    state += size(variables.get('batch_stats', {}))
  return params, state


def gan(steps, repeats, aux=True):
  """The jitted train.gan.train_step of configs/gan_300.py at batch 128."""
  config = gan_300.get_config()
  call = bench_gan.make_step(config.generator.upsample,
                             config.discriminator.downsample,
                             config.train.batch_size, config.aux.model.width,
                             aux=aux)
  seconds = bench_gan.best_time(call, (), steps, repeats)
  x, y = jnp.zeros((1, 28, 28, 1)), jnp.zeros((1,), jnp.int32)
  models = [(config.generator, (jnp.zeros((1, config.train.z_dim)), y)),
            (config.discriminator, (x, y))]
  if aux:
    models.append((config.aux.model, x))
  return config.train.batch_size / seconds, count(models)


def train_steps(config, steps, repeats, input_shape, n):
  """config.model's train step at config.train.batch_size (bench.common)."""
  ips = common.train_step_images_per_s(
      config, input_shape, config.train.batch_size, steps, repeats, n)
  return ips, count([(config.model, jnp.zeros((1, *input_shape)))])


def _random_splits(n_train=5000, n_val=1000, seed=0):
  rng = np.random.default_rng(seed)
  x = rng.random((n_train + n_val, 28, 28, 1), np.float32)
  y = rng.integers(0, 10, n_train + n_val).astype(np.int32)
  return splits_lib.Splits(x[:n_train], y[:n_train], x[n_train:], y[n_train:],
                           x[n_train:], y[n_train:])


def fit_workload(name, epochs, repeats, seeds=1, vmapped=False):
  """Images/s of Table-10 runs of model `name`: one run, `seeds` sequential
  runs, or one run of `seeds` vmapped replicas (config.replicas)."""
  config = attention_mnist.get_config()
  config.model.name = name
  config.train.epochs = epochs
  config.train.progress = False
  configs = []
  for i in range(1 if vmapped else seeds):
    cfg = config.copy_and_resolve_references()
    cfg.seed += i
    cfg.replicas = seeds if vmapped else 1
    configs.append(cfg)
  splits = _random_splits()
  best = float('inf')
  for _ in range(repeats):
    seconds = 0.0
    for cfg in configs:
      with tempfile.TemporaryDirectory() as workdir:
        _, run = trainer.fit(
            cfg, workdir, nets.get_model(cfg.model, cfg.defaults), splits)
      seconds += run['train_time_s']
    best = min(best, seconds)
  n = len(splits.x_train)
  return (seeds * epochs * n / best,
          count([(config.model, jnp.zeros((1, 28, 28, 1)))]))


WORKLOADS = {
    'gan': gan,
    'gan_gd': lambda s, r: gan(s, r, aux=False),
    'attention_base': lambda s, r: fit_workload('base', s, r),
    'attention_se': lambda s, r: fit_workload('se', s, r),
    # The augmentation grid's classifier is the Table-2 CNN.
    'cnn_table2': lambda s, r: train_steps(
        augment_grid.get_config(), s, r, (28, 28, 1), 5000),
    # `ours`: its Keras twin's block (avg + max channel pools, no noise), the
    # workload docs/benchmarks.md measured.
    'lenet_cbam': lambda s, r: train_steps(
        spectrogram_cnn.get_config('lenet_cbam,ours'), s, r, (128, 128, 3),
        480),
    'seeds5': lambda s, r: fit_workload('base', s, r, seeds=5),
    'seeds5_vmap': lambda s, r: fit_workload('base', s, r, seeds=5,
                                             vmapped=True),
}


if __name__ == '__main__':
  twin_cli.run(WORKLOADS, {'jax': jax.__version__, 'flax': flax.__version__})
