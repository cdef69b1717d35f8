"""What a run writes: per-epoch `metrics.jsonl` and TensorBoard events,
`results.json`, and the machine note every report carries."""

import json
import os

import jax
from tensorboardX import SummaryWriter

from train import workdir as workdir_lib


class MetricWriter:
  """Appends one JSON line and one set of scalars per epoch.

  Only process 0 of a multi-process job writes; the others hold no files.
  """

  def __init__(self, workdir, history=()):
    self.enabled = jax.process_index() == 0
    if not self.enabled:
      return
    self.path = os.path.join(workdir, 'metrics.jsonl')
    # A resumed run rewrites the file from the checkpoint's history, dropping
    # lines of epochs that ran after the checkpoint it resumed from.
    with open(self.path, 'w') as f:
      f.writelines(json.dumps(row) + '\n' for row in history)
    self.tb = SummaryWriter(os.path.join(workdir, 'tensorboard'))

  def write(self, row):
    if not self.enabled:
      return
    with open(self.path, 'a') as f:
      f.write(json.dumps(row) + '\n')
    for k, v in row.items():
      if k != 'epoch' and isinstance(v, (int, float)):
        self.tb.add_scalar(k, v, row['epoch'])
    self.tb.flush()

  def image(self, name, image_HxW, epoch):
    if self.enabled:
      self.tb.add_image(name, image_HxW, epoch, dataformats='HW')

  def close(self):
    if self.enabled:
      self.tb.close()


def read_history(workdir):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [json.loads(line) for line in f if line.strip()]


def run_summary(run):
  """The results.json fields every experiment reports about its training."""
  return {k: run[k] for k in ('train_time_s', 'compile_time_s', 'epochs_run',
                              'device')}


def write_results(workdir, results):
  if jax.process_index() == 0:
    # Whole or not at all: a grid skips the cells that have one.
    workdir_lib.write_json(os.path.join(workdir, 'results.json'), results)


def machine_note():
  """'Machine: <device kind>, <n> cores.' for the notes under every table."""
  return f'Machine: {jax.devices()[0].device_kind}, {os.cpu_count()} cores.'
