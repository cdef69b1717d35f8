"""Per-epoch history: `metrics.jsonl` plus TensorBoard event files."""

import json
import os

import jax
from tensorboardX import SummaryWriter


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

  def close(self):
    if self.enabled:
      self.tb.close()


def read_history(workdir):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [json.loads(line) for line in f if line.strip()]
