"""Conditional DCGAN with an auxiliary classifier: three TrainStates, one jitted step.

`train_and_evaluate` (EXPERIMENTS['gan']) pre-trains the auxiliary classifier
with `trainer.fit` (or restores it from `config.aux.pretrained`), then runs the
GAN loop: per batch a discriminator step, a generator step (non-saturating BCE
plus aux_weight * cross-entropy of the frozen classifier on its samples) and,
with aux.keep_training, a classifier step on the real batch. Checkpoints hold
all three states; a killed run resumes from the workdir with the same keys.
"""

import dataclasses
import functools
import json
import os
import time

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from PIL import Image
import tqdm

import data
import errors
import nets
from train import checkpoint
from train import metrics as metrics_lib
from train import supervised
from train import trainer
from train import workdir as workdir_lib

NETWORKS = ('generator', 'discriminator', 'aux')


def gan_splits(config):
  """The real splits, plus data.augment_per_class augmented images per class
  appended to the training set (the seed's pipeline, Table 6)."""
  splits = data.get_dataset(config.data)
  if not config.data.augment_per_class:
    return splits
  from data import augment  # pylint: disable=g-import-not-at-top
  x_aug, y_aug = augment.generate_per_class(
      jax.random.fold_in(jax.random.PRNGKey(config.seed), 1), splits.x_train,
      splits.y_train, config.data.augment_per_class, config.augment)
  return dataclasses.replace(
      splits, x_train=np.concatenate([splits.x_train, x_aug]),
      y_train=np.concatenate([splits.y_train, y_aug]))


def model_configs(config):
  """The three model configs as checkpoints store them (JSON: tuples -> lists)."""
  return json.loads(json.dumps({
      'generator': config.generator.to_dict(),
      'discriminator': config.discriminator.to_dict(),
      'aux': config.aux.model.to_dict()}))


def create_states(config, rng):
  """Freshly initialised {generator, discriminator, aux} TrainStates."""
  g_rng, d_rng, a_rng = jax.random.split(rng, 3)
  z = jnp.zeros((1, config.train.z_dim), jnp.float32)
  y = jnp.zeros((1,), jnp.int32)
  x = jnp.zeros((1, 28, 28, 1), jnp.float32)
  return {
      'generator': trainer.create_train_state(
          nets.get_model(config.generator), trainer.make_optimizer(config.g_opt),
          g_rng, (z, y)),
      'discriminator': trainer.create_train_state(
          nets.get_model(config.discriminator),
          trainer.make_optimizer(config.d_opt), d_rng, (x, y)),
      'aux': trainer.create_train_state(
          nets.get_model(config.aux.model), trainer.make_optimizer(config.aux.train),
          a_rng, x),
  }


def aux_config(config):
  """config.aux as the supervised config `trainer.fit` pre-trains it with."""
  sub = ml_collections.ConfigDict({
      'experiment': 'supervised', 'seed': config.seed,
      'data': config.data.to_dict(), 'model': config.aux.model.to_dict(),
      'train': config.aux.train.to_dict(), 'eval': config.eval.to_dict()})
  return sub


def pretrained_aux(config, workdir, splits, template):
  """The auxiliary classifier's state before the GAN starts.

  From config.aux.pretrained (a run directory of the same model: params and
  batch statistics are taken, the optimizer starts fresh), else trained with
  trainer.fit on the GAN's training images in <workdir>/aux.
  """
  path = config.aux.pretrained
  if path:
    from eval import common  # pylint: disable=g-import-not-at-top
    run_config = workdir_lib.load_config(path)
    if run_config.model.to_dict() != config.aux.model.to_dict():
      raise errors.CheckpointError(
          f'aux.pretrained={path}: a run of model {run_config.model.to_dict()}, '
          f'but aux.model is {config.aux.model.to_dict()}')
    state = common.restore_state(path, run_config,
                                 nets.get_model(run_config.model),
                                 splits.x_train[:1])
    return template.replace(params=state.params, batch_stats=state.batch_stats)
  sub, aux_dir = aux_config(config), os.path.join(workdir, 'aux')
  workdir_lib.record_config(sub, aux_dir)
  state, run = trainer.fit(sub, aux_dir, nets.get_model(sub.model), splits)
  logging.info('Auxiliary classifier: %s', run['history'][-1] if run['history']
               else 'restored')
  return state


def _bce(logits, target):
  return jnp.mean(optax.sigmoid_binary_cross_entropy(
      logits, jnp.full_like(logits, target)))


def generator_objective(images, labels, d_state, aux_state, rng, aux_weight):
  """Non-saturating GAN loss + aux_weight * CE of the classifier (eval mode)."""
  logits = d_state.apply_fn({'params': d_state.params}, (images, labels),
                            train=True, rngs={'dropout': rng})
  adv = _bce(logits, 1.0)
  aux_logits = aux_state.apply_fn(
      {'params': aux_state.params, 'batch_stats': aux_state.batch_stats},
      images, train=False)
  ce, extra = trainer.softmax_xent(aux_logits, labels)
  return adv + aux_weight * jnp.mean(ce), {
      'g_adv': adv, 'g_aux_ce': jnp.mean(ce),
      'g_aux_accuracy': jnp.mean(extra['accuracy'])}


def train_step(states, sums, x_all, y_all, idx, *, z_dim, num_classes,
               aux_weight, keep_training_aux):
  """A D step, a G step and (optionally) a classifier step on x_all[idx].

  The generator runs forward once: the D step uses its samples (G's params
  do not change in between, so the G step would recompute the same images)
  and the G step pulls the updated D's gradient back through the saved vjp.
  Keys come from fold_in(generator key, step) as in trainer.train_step.
  """
  g, d, a = (states[k] for k in NETWORKS)
  x, y = x_all[idx], y_all[idx]
  b = idx.shape[0]
  z_rng, y_rng, g_rng, d_rng, dg_rng = jax.random.split(
      jax.random.fold_in(g.rng, g.step), 5)
  z = jax.random.normal(z_rng, (b, z_dim))
  y_fake = jax.random.randint(y_rng, (b,), 0, num_classes)

  def generate(params):
    return g.apply_fn({'params': params, 'batch_stats': g.batch_stats},
                      (z, y_fake), train=True, mutable=['batch_stats'],
                      rngs={'dropout': g_rng})
  fake, g_vjp, g_updates = jax.vjp(generate, g.params, has_aux=True)

  def d_objective(params):
    # Real and fake in one batch: one conv pass instead of two.
    logits = d.apply_fn({'params': params}, (jnp.concatenate([x, fake]),
                                             jnp.concatenate([y, y_fake])),
                        train=True, rngs={'dropout': d_rng})
    return _bce(logits[:b], 1.0) + _bce(logits[b:], 0.0), logits
  (d_loss, d_logits), d_grads = jax.value_and_grad(d_objective, has_aux=True)(
      d.params)
  d = d.apply_gradients(grads=d_grads)

  (g_loss, g_metrics), image_grads = jax.value_and_grad(
      generator_objective, has_aux=True)(fake, y_fake, d, a, dg_rng, aux_weight)
  g = g.apply_gradients(grads=g_vjp(image_grads)[0],
                        batch_stats=g_updates['batch_stats'])

  batch = {'d_loss': d_loss, 'g_loss': g_loss, **g_metrics,
           'd_real': jnp.mean(jax.nn.sigmoid(d_logits[:b])),
           'd_fake': jnp.mean(jax.nn.sigmoid(d_logits[b:])), 'count': 1.0}
  new_sums = {'gan': jax.tree.map(jnp.add, sums['gan'], batch), 'aux': sums['aux']}
  if keep_training_aux:
    a, new_sums['aux'] = trainer.train_step(a, sums['aux'], x_all, y_all, idx,
                                            loss_fn=trainer.softmax_xent)
  return {'generator': g, 'discriminator': d, 'aux': a}, new_sums


def zero_sums(states, x, y):
  """The accumulators `train_step` adds into."""
  gan = ('d_loss', 'g_loss', 'g_adv', 'g_aux_ce', 'g_aux_accuracy', 'd_real',
         'd_fake', 'count')
  return {'gan': {k: jnp.zeros((), jnp.float32) for k in gan},
          'aux': trainer.zero_sums(states['aux'], trainer.softmax_xent, x, y)}


def _means(sums):
  host = jax.device_get(sums)
  row = {k: float(v) / max(float(host['gan']['count']), 1.0)
         for k, v in host['gan'].items() if k != 'count'}
  if host['aux']['count']:
    row.update({f'aux_{k}': float(v) / float(host['aux']['count'])
                for k, v in host['aux'].items() if k != 'count'})
  return row


def sample(state, z, labels, batch_stats=False):
  """Generator images for (z, labels) in eval mode: running BN averages, or the
  batch's own statistics with batch_stats=True (dropout off either way)."""
  variables = {'params': state.params, 'batch_stats': state.batch_stats}
  if batch_stats:
    return state.apply_fn(variables, (z, labels), batch_stats=True,
                          mutable=['batch_stats'])[0]
  return state.apply_fn(variables, (z, labels))


def check_labels(labels, num_classes=10):
  labels = np.asarray(labels)
  bad = labels[(labels < 0) | (labels >= num_classes)]
  if bad.size:
    raise errors.ConfigError(
        f'labels {sorted(set(bad.tolist()))}: outside 0-{num_classes - 1}')
  return labels.astype(np.int32)


def grid_inputs(seed, z_dim, per_class=10, num_classes=10):
  """A fixed (z, labels) grid: row c holds `per_class` samples of class c."""
  labels = np.repeat(np.arange(num_classes), per_class).astype(np.int32)
  z = jax.random.normal(jax.random.PRNGKey(seed), (len(labels), z_dim))
  return z, labels


def grid_image(images, rows):
  """[rows*cols, H, W, 1] in [-1, 1] -> one [rows*H, cols*W] image in [0, 1]."""
  images = np.asarray(images)[..., 0]
  n, h, w = images.shape
  cols = n // rows
  tiled = images[:rows * cols].reshape(rows, cols, h, w).transpose(0, 2, 1, 3)
  return np.clip((tiled.reshape(rows * h, cols * w) + 1.0) / 2.0, 0.0, 1.0)


def save_grid(path, images, rows):
  """Writes the images as a PNG grid (one row per class) and returns it."""
  grid = grid_image(images, rows)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  Image.fromarray(np.round(grid * 255).astype(np.uint8)).save(path)
  return grid


def fit_gan(config, workdir, splits):
  """Trains the GAN per config.train; returns (states, run) like trainer.fit."""
  tc = config.train
  if tc.batch_size < 1 or tc.epochs < 0 or tc.sample_every < 1:
    raise errors.ConfigError(
        f'train.batch_size={tc.batch_size}, train.epochs={tc.epochs}, '
        f'train.sample_every={tc.sample_every}: need batch_size >= 1, '
        'epochs >= 0, sample_every >= 1')
  x_train, y_train = jnp.asarray(splits.x_train), jnp.asarray(splits.y_train)
  n, bs = len(x_train), min(tc.batch_size, len(splits.x_train))
  rng = jax.random.PRNGKey(config.seed)
  init_rng, shuffle_rng = jax.random.split(rng)
  states = create_states(config, init_rng)
  model_cfgs = model_configs(config)
  ckpts = checkpoint.Checkpoints(workdir, keep=tc.keep_checkpoints)
  restored = ckpts.restore(ckpts.latest, states, model_cfgs)
  if restored:
    states, meta = restored
    logging.info('Resumed from %s at epoch %d', workdir, meta['epoch'])
  else:
    states['aux'] = pretrained_aux(config, workdir, splits, states['aux'])
    meta = {'epoch': 0, 'history': [], 'model': model_cfgs}
  writer = metrics_lib.MetricWriter(workdir, meta['history'])

  step = jax.jit(functools.partial(
      train_step, z_dim=tc.z_dim, num_classes=splits.num_classes,
      aux_weight=tc.aux_weight, keep_training_aux=config.aux.keep_training),
                 donate_argnums=(0, 1))
  zero = zero_sums(states, x_train, y_train)
  t0 = time.perf_counter()
  # One batch shape: the remainder n % bs is dropped, a different one each
  # epoch, so one compiled step serves every batch.
  compiled = step.lower(states, zero, x_train, y_train,
                        np.zeros(bs, np.int32)).compile()
  compile_s = time.perf_counter() - t0
  logging.info('Compiled the GAN step in %.2fs', compile_s)
  z_grid, y_grid = grid_inputs(config.eval.grid_seed, tc.z_dim)
  render = jax.jit(sample)

  history, epoch = meta['history'], meta['epoch']
  bar = tqdm.tqdm(total=tc.epochs, initial=epoch, desc='gan',
                  disable=not tc.progress, leave=False)
  while epoch < tc.epochs:
    t0 = time.perf_counter()
    perm = np.asarray(jax.random.permutation(
        jax.random.fold_in(shuffle_rng, epoch), n)).astype(np.int32)
    sums = jax.tree.map(jnp.copy, zero)
    for i in range(0, n - bs + 1, bs):
      states, sums = compiled(states, sums, x_train, y_train, perm[i:i + bs])
    row = {'epoch': epoch + 1, **_means(sums)}
    row['epoch_time_s'] = time.perf_counter() - t0
    trainer.check_finite(row, epoch + 1, workdir)
    epoch += 1
    history.append(row)
    ckpts.save(ckpts.latest, epoch, states,
               {'epoch': epoch, 'history': history, 'model': model_cfgs})
    writer.write(row)
    if epoch % tc.sample_every == 0 or epoch == tc.epochs:
      grid = save_grid(os.path.join(workdir, 'samples', f'epoch_{epoch:03d}.png'),
                       render(states['generator'], z_grid, y_grid), rows=10)
      writer.tb.add_image('samples', grid, epoch, dataformats='HW')
    bar.update(1)
    bar.set_postfix({k: f'{v:.3f}' for k, v in row.items()
                     if k in ('d_loss', 'g_loss', 'd_real', 'd_fake')})
    logging.info('epoch %d: %s', epoch, {k: round(v, 4) for k, v in row.items()})
  bar.close()
  ckpts.wait()
  ckpts.close()
  writer.close()
  train_s = sum(r['epoch_time_s'] for r in history)
  return states, {'history': history, 'train_time_s': train_s,
                  'compile_time_s': compile_s, 'epochs_run': epoch}


def train_and_evaluate(config, workdir):
  """Trains the GAN of `config`; writes results.json (last epoch, aux test)."""
  splits = gan_splits(config)
  workdir_lib.record_config(config, workdir)
  states, run = fit_gan(config, workdir, splits)
  evaluate = trainer.Evaluator(trainer.softmax_xent, config.eval.batch_size)
  results = {
      'train_images': int(len(splits.x_train)), 'seed': config.seed,
      **(run['history'][-1] if run['history'] else {}),
      **evaluate(states['aux'], splits.x_test, splits.y_test, 'aux_test_'),
      **supervised.run_summary(run),
  }
  supervised.write_results(workdir, results)
  write_history(config, workdir, run['history'], len(splits.x_train))
  return results


def write_history(config, workdir, history, train_images):
  """history.md/.csv: the per-epoch losses, D(x), D(G(z)) and aux numbers."""
  if not history:
    return
  from eval import report  # pylint: disable=g-import-not-at-top
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
             'the classifier on generated samples. Machine: '
             f'{jax.devices()[0].device_kind}, {os.cpu_count()} cores.',))
