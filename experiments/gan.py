"""Problem 3: the conditional DCGAN run (EXPERIMENTS['gan']).

Assembles the training images (real, plus augmentations for the Table-6
pipeline), pre-trains the auxiliary classifier with `trainer.fit` (or
restores it from `config.aux.pretrained`), trains with `train.gan.fit_gan`,
saves a sample grid every train.sample_every epochs, and writes
results.json and the per-epoch history table.
"""

import dataclasses
import os

import jax
import numpy as np

from configs import base
import data
from data import augment
import errors
from eval import common
from eval import generate
from eval import report
from experiments import supervised
import nets
from train import gan
from train import metrics
from train import trainer
from train import workdir as workdir_lib


def gan_splits(config):
  """The real splits, plus data.augment_per_class augmented images per class
  appended to the training set (the seed's pipeline, Table 6)."""
  splits = data.get_dataset(config.data)
  if not config.data.augment_per_class:
    return splits
  x_aug, y_aug = augment.generate_per_class(
      jax.random.fold_in(jax.random.PRNGKey(config.seed), 1), splits.x_train,
      splits.y_train, config.data.augment_per_class, config.augment)
  return dataclasses.replace(
      splits, x_train=np.concatenate([splits.x_train, x_aug]),
      y_train=np.concatenate([splits.y_train, y_aug]))


def aux_config(config):
  """config.aux as the supervised config `trainer.fit` pre-trains it with."""
  return base.derive(config, keep=('seed', 'defaults', 'force', 'data', 'eval'),
                     experiment='supervised', model=config.aux.model,
                     opt=config.aux.opt, train=config.aux.train)


def pretrained_aux(config, workdir, splits, template):
  """The auxiliary classifier's state before the GAN starts.

  From config.aux.pretrained (a run directory of the same model: params and
  batch statistics are taken, the optimizer starts fresh), else trained with
  trainer.fit on the GAN's training images in <workdir>/aux.
  """
  path = config.aux.pretrained
  if path:
    run_config = workdir_lib.load_config(path)
    if run_config.model.to_dict() != config.aux.model.to_dict():
      raise errors.CheckpointError(
          f'aux.pretrained={path}: a run of model {run_config.model.to_dict()}, '
          f'but aux.model is {config.aux.model.to_dict()}')
    # The GAN runs the classifier with its own defaults' norm constants.
    if run_config.defaults != config.defaults:
      raise errors.CheckpointError(
          f'aux.pretrained={path}: trained with defaults='
          f'{run_config.defaults!r}, but this run has defaults='
          f'{config.defaults!r}')
    state = common.restore_state(
        path, run_config, nets.get_model(run_config.model, run_config.defaults),
        splits.x_train[:1])
    return template.replace(params=state.params, batch_stats=state.batch_stats)
  sub, aux_dir = aux_config(config), os.path.join(workdir, 'aux')
  return trainer.fit(sub, aux_dir, nets.get_model(sub.model, sub.defaults),
                     splits)[0]


def sample_grids(config, workdir):
  """The on_epoch callback: a fixed-noise grid PNG every sample_every epochs."""
  tc = config.train
  z, labels = generate.grid_inputs(config.eval.grid_seed, tc.z_dim)
  render = jax.jit(gan.sample)

  def on_epoch(loop, states):
    if loop.epoch % tc.sample_every and loop.epoch != tc.epochs:
      return
    path = os.path.join(workdir, 'samples', f'epoch_{loop.epoch:03d}.png')
    grid = generate.save_grid(path, render(states['generator'], z, labels),
                              rows=10)
    loop.writer.image('samples', grid, loop.epoch)
  return on_epoch


def train_and_evaluate(config, workdir):
  """Trains the GAN of `config`; writes results.json (last epoch, aux test)."""
  if config.train.sample_every < 1 or config.seeds != 1:
    raise errors.ConfigError(
        f'train.sample_every={config.train.sample_every}, seeds={config.seeds}'
        ': need sample_every >= 1 and one seed per GAN run')
  splits = gan_splits(config)
  states, run = gan.fit_gan(
      config, workdir, splits,
      init_aux=lambda template: pretrained_aux(config, workdir, splits,
                                               template),
      on_epoch=sample_grids(config, workdir))
  results = {
      'train_images': int(len(splits.x_train)), 'seed': config.seed,
      **(run['history'][-1] if run['history'] else {}),
      **supervised.test_metrics(aux_config(config), states['aux'], splits,
                                'aux_test_'),
      **metrics.run_summary(run),
  }
  metrics.write_results(workdir, results)
  write_history(config, workdir, run['history'], len(splits.x_train))
  return results


def write_history(config, workdir, history, train_images):
  """history.md/.csv: the per-epoch losses, D(x), D(G(z)) and aux numbers."""
  if not history:
    return
  tc, ac = config.train, config.aux
  aux_source = (f'restored from {ac.pretrained}' if ac.pretrained else
                f'pre-trained {ac.train.epochs} epochs on the same images')
  report.write_table(
      history, os.path.join(workdir, 'history'),
      title=f'GAN per-epoch metrics ({len(history)} of {tc.epochs} epochs)',
      notes=(f'Seed {config.seed}, {train_images} training images, batch '
             f'{tc.batch_size} ({train_images // tc.batch_size} steps/epoch), '
             f'aux_weight {tc.aux_weight}. Aux classifier: '
             f'{ac.model.to_dict()}, {aux_source}, '
             f'{"trained on each real batch" if ac.keep_training else "frozen"}'
             f' during the GAN. d_real/d_fake: mean D(x), D(G(z)); g_aux_*: '
             f'the classifier on generated samples. {metrics.machine_note()}',))
