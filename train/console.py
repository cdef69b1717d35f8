"""What a run shows on the terminal: its header, epoch lines, step bars, ETAs.

Lines are absl INFO records (main.py writes them through tqdm.write, so a
line never lands inside a bar, and `--verbosity=-1` silences them); bars are
tqdm's, drawn only on a terminal.
"""

import time

from absl import logging
import jax
import tqdm

# An epoch shows a step bar only once it has run this long: a GAN or
# full-MNIST epoch gets one, a 1.5-3 s Reduced-MNIST epoch shows its line
# alone.
STEP_BAR_DELAY_S = 5.0


def device_note():
  """The device kind, with a count when there are several: '4 x NVIDIA H100'."""
  devices = jax.devices()
  kind = devices[0].device_kind
  return kind if len(devices) == 1 else f'{len(devices)} x {kind}'


def duration(seconds):
  """'42 s', '3.5 min' or '1.2 h'."""
  if seconds < 90:
    return f'{seconds:.0f} s'
  if seconds < 5400:
    return f'{seconds / 60:.1f} min'
  return f'{seconds / 3600:.1f} h'


def header(title, workdir, splits, params, replicas=1):
  """Logs the line that opens a run: what, where, data sizes, size, device.

  params: a count, or {network: count} for a run of several networks.
  """
  if isinstance(params, dict):
    size = ' + '.join(f'{k} {v:,}' for k, v in params.items())
  else:
    size = f'{params:,}'
  if replicas > 1:
    size += f' x {replicas} replicas'
  logging.info('%s in %s: %d train / %d val / %d test, %s params, %s', title,
               workdir, len(splits.x_train), len(splits.x_val),
               len(splits.x_test), size, device_note())


def epoch_line(epoch, epochs, row, suffixes):
  """'epoch 3/10: train_loss 0.1234 train_acc 0.9650 ... (1.4 s)': the row's
  metrics ending in one of `suffixes`."""
  shown = ' '.join(f'{k.replace("accuracy", "acc")} {v:.4f}'
                   for k, v in row.items()
                   if isinstance(v, float) and k.endswith(suffixes))
  return f'epoch {epoch}/{epochs}: {shown} ({row["epoch_time_s"]:.1f} s)'


def steps(batches, total, desc, enabled):
  """`batches` behind a step bar that appears after STEP_BAR_DELAY_S.

  tqdm looks at the clock at most every `mininterval` (0.1 s), so the bar
  costs the step loop a counter increment per step.
  """
  if not enabled:
    return batches
  # disable=None: no bar when stderr is not a terminal (logs, CI).
  return tqdm.tqdm(batches, total=total, desc=desc, unit='step', leave=False,
                   delay=STEP_BAR_DELAY_S, disable=None)


class RunCounter:
  """'run k/N: <what>, ETA ...' lines of a driver that trains runs in turn.

  The ETA is the mean time of the runs finished so far in this invocation
  times the runs left.
  """

  def __init__(self, total):
    self.total, self.done = total, 0
    self.t0 = time.perf_counter()

  def start(self, what):
    eta = ''
    if self.done:
      per_run = (time.perf_counter() - self.t0) / self.done
      eta = f', ETA {duration(per_run * (self.total - self.done))}'
    logging.info('run %d/%d: %s%s', self.done + 1, self.total, what, eta)

  def finish(self, what):
    self.done += 1
    logging.info('%s (%d/%d done, %s)', what, self.done, self.total,
                 duration(time.perf_counter() - self.t0))
