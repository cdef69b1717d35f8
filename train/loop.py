"""The epoch skeleton every training loop shares.

The workdir's guards, resume from the newest readable checkpoint, one
checkpoint, one metrics row and one terminal line per epoch, a step bar for
long epochs, the non-finite guard and the run summary;
`trainer.fit` and `gan.fit_gan` differ only in their steps and rows.
"""

import math
import time

from absl import logging
import jax

import errors
from train import checkpoint
from train import console
from train import metrics as metrics_lib
from train import optim
from train import workdir as workdir_lib


def check_finite(row, epoch, workdir):
  """Raises NonFiniteLossError naming the metrics of `row` that are NaN/Inf."""
  bad = [k for k, v in row.items()
         if isinstance(v, float) and not math.isfinite(v)]
  if bad:
    raise errors.NonFiniteLossError(
        f'epoch {epoch}: non-finite {", ".join(bad)}; training stopped, the '
        f'last good checkpoint stays in {workdir}/checkpoints')


def compile_ahead(step, *args):
  """(the compiled step, seconds): compiled before the first epoch so that
  epoch times measure training alone."""
  t0 = time.perf_counter()
  compiled = step.lower(*args).compile()
  return compiled, time.perf_counter() - t0


class EpochLoop:
  """Checkpoints, history and progress of one run of `config` in `workdir`.

  Before anything is written the workdir is checked (workdir.check_config:
  a run of another config or other data is refused) and the newest readable
  checkpoint restored; then config.json and data.json are written.
  `state` is the template's structure restored from that checkpoint, or the
  template itself for a fresh run (`resumed` says which); `meta` holds the
  epoch, the history and whatever bookkeeping the caller saved with it.
  config_lr: config's learning rate (a dict by network name when the state
  is a dict of TrainStates), see optim.follow_config_lr. signature: the
  data's (`data.splits.signature`), or None.
  """

  def __init__(self, workdir, template, config, model_cfg, *, config_lr,
               signature, desc, postfix=('loss', 'accuracy')):
    tc = config.train
    self.workdir, self.model_cfg, self.epochs = workdir, model_cfg, tc.epochs
    self.config_lr, self.postfix = config_lr, postfix
    workdir_lib.check_config(config, workdir, signature)
    self.ckpts = checkpoint.Checkpoints(workdir, keep=tc.keep_checkpoints)
    restored = self.ckpts.restore(self.ckpts.latest, template, model_cfg)
    if restored and restored[1]['epoch'] > tc.epochs:
      # Else it would stand, unchanged, as a run of tc.epochs epochs.
      raise errors.ConfigError(
          f'train.epochs={tc.epochs}: {workdir} holds a run trained for '
          f'{restored[1]["epoch"]} epochs, which cannot be shortened; use '
          'another workdir')
    self.ckpts.set_aside_unreadable()
    self.resumed = restored is not None
    if restored:
      self.state, self.meta = restored
      self.state = optim.follow_config_lr(
          self.state, self.meta.get('config_lr'), config_lr)
      logging.info('Resumed from %s at epoch %d', workdir, self.meta['epoch'])
    else:
      self.state = template
      self.meta = {'epoch': 0, 'history': [], 'model': model_cfg}
    workdir_lib.write_config(config, workdir, signature)
    self.epoch, self.history = self.meta['epoch'], self.meta['history']
    self.writer = metrics_lib.MetricWriter(workdir, self.history)
    self.desc, self.progress = desc, tc.progress
    self._t0 = None

  def start_epoch(self):
    self._t0 = time.perf_counter()

  def steps(self, batches, total):
    """The epoch's `batches` (`total` of them), behind a bar if it is long."""
    return console.steps(
        batches, total, f'{self.desc} epoch {self.epoch + 1}/{self.epochs}',
        self.progress)

  def end_epoch(self, state, row, best=False, **meta):
    """Times, checks, records and checkpoints the epoch that just ran."""
    row['epoch_time_s'] = time.perf_counter() - self._t0
    try:
      check_finite(row, self.epoch + 1, self.workdir)
    except errors.NonFiniteLossError:
      self.ckpts.wait()  # the last good epoch's save may still be running
      raise
    self.epoch += 1
    self.history.append(row)
    self.meta = {'epoch': self.epoch, 'history': self.history,
                 'model': self.model_cfg, 'config_lr': self.config_lr, **meta}
    if best:
      self.ckpts.save(self.ckpts.best, self.epoch, state, self.meta)
    self.ckpts.save(self.ckpts.latest, self.epoch, state, self.meta)
    self.writer.write(row)
    logging.info('%s', console.epoch_line(self.epoch, self.epochs, row,
                                          self.postfix))

  def restore_best(self, state):
    """The best epoch's state, or `state` when no best was saved."""
    self.ckpts.wait()
    if self.ckpts.best.latest_step() is None:
      return state
    return self.ckpts.restore(self.ckpts.best, state, self.model_cfg)[0]

  def close(self, compile_s):
    """Waits for pending saves; the summary every experiment reports."""
    self.ckpts.wait()
    self.ckpts.close()
    self.writer.close()
    train_s = sum(r['epoch_time_s'] for r in self.history)
    logging.info('Trained %d epochs in %.2fs (+%.2fs compile)', self.epoch,
                 train_s, compile_s)
    return {'history': self.history, 'train_time_s': train_s,
            'compile_time_s': compile_s, 'epochs_run': self.epoch,
            'device': jax.devices()[0].device_kind}
