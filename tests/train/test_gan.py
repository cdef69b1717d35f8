"""The GAN step and loop: D and G move, the classifier stays frozen, resume."""

import functools

import jax
from jax._src import compilation_cache
import jax.numpy as jnp
import numpy as np
import pytest

from configs import gan_300
from train import gan


def tiny_config(data_dir):
  """configs/gan_300.py shrunk to seconds: small nets, the small CNN as aux."""
  config = gan_300.get_config()
  config.data.dir = str(data_dir)
  config.data.allow_download = False
  config.data.train_per_class = 8
  config.data.test_per_class = 4
  config.generator.features = (8, 8, 4)
  config.generator.embed_dim = 4
  config.discriminator.features = (4, 4, 8)
  config.discriminator.embed_dim = 4
  config.aux.model = {'name': 'base', 'dropout': 0.5}
  config.aux.train.epochs = 1
  config.aux.train.batch_size = 40
  config.aux.train.progress = False
  config.train.z_dim = 8
  config.train.batch_size = 32
  config.train.epochs = 2
  config.train.sample_every = 1
  config.train.progress = False
  config.eval.batch_size = 40
  return config


def _set_jax_config(values):
  compilation_cache.reset_cache()
  for k, v in values.items():
    jax.config.update(k, v)


@pytest.fixture(scope='module', autouse=True)
def compile_cache(tmp_path_factory):
  """A persistent compile cache, so that the identical steps of the runs
  below compile once: compiling dominates these tests' CPU time."""
  fields = {'jax_compilation_cache_dir': str(
      tmp_path_factory.getbasetemp() / 'jax_cache'),
            'jax_persistent_cache_min_compile_time_secs': 0.0}
  old = {k: getattr(jax.config, k) for k in fields}
  _set_jax_config(fields)
  yield
  _set_jax_config(old)


def _step(states, x, y):
  step = jax.jit(functools.partial(
      gan.train_step, z_dim=8, num_classes=10, aux_weight=0.1,
      keep_training_aux=False))
  return step(states, gan.zero_sums(states, x, y), x, y,
              np.arange(len(x), dtype=np.int32))


def _changed(a, b):
  return any(not np.array_equal(u, v)
             for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


@pytest.fixture
def tiny_states(tmp_path):
  config = tiny_config(tmp_path)
  states = gan.create_states(config, jax.random.PRNGKey(0))
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32))
  y = jnp.asarray(rng.integers(0, 10, 16).astype(np.int32))
  return states, x, y


def test_step_moves_d_and_g_but_not_frozen_aux(tiny_states):
  states, x, y = tiny_states
  before = jax.device_get(states)
  new, sums = _step(states, x, y)
  for name in ('generator', 'discriminator'):
    assert _changed(before[name].params, new[name].params), name
    assert int(new[name].step) == 1
  assert not _changed(before['aux'].params, new['aux'].params)
  assert not _changed(before['aux'].batch_stats, new['aux'].batch_stats)
  assert _changed(before['generator'].batch_stats, new['generator'].batch_stats)
  row = gan._means(sums)  # pylint: disable=protected-access
  assert all(np.isfinite(v) for v in row.values())
  assert 0 < row['d_real'] < 1 and 0 < row['d_fake'] < 1


def test_generator_objective_uses_the_classifier(tiny_states):
  states, x, y = tiny_states
  grad = jax.jit(jax.grad(lambda im, w: gan.generator_objective(
      im, y, states['discriminator'], states['aux'], jax.random.PRNGKey(0),
      w)[0]))
  grad = functools.partial(grad, x)
  # The frozen classifier's cross-entropy reaches the generator's images.
  assert float(jnp.abs(grad(1.0) - grad(0.0)).max()) > 1e-6


def test_fast_step_equals_reference_step(tmp_path):
  """The CPU-fast layer impls give the step of the native lax convolutions."""
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32))
  y = jnp.asarray(rng.integers(0, 10, 16).astype(np.int32))
  results = []
  for up, down in (('transpose', 'strided'), ('patches', 'patches')):
    config = tiny_config(tmp_path)
    # The Upsample biases feed BatchNorm: their gradient is rounding noise,
    # which Adam's first step scales to ~2e-5 per impl. With Flax's init the
    # two impls' noise differs by 1.97e-5 (inside atol), with Keras' by
    # 2.09e-5; the impls' equality does not depend on the init.
    config.defaults = 'flax'
    config.generator.upsample, config.discriminator.downsample = up, down
    states = gan.create_states(config, jax.random.PRNGKey(0))
    new, sums = _step(states, x, y)
    results.append(({k: (new[k].params, new[k].batch_stats) for k in new},
                    sums))
  jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=2e-4,
                                 atol=2e-5), *results)
