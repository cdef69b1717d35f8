"""What a run writes: per-epoch `metrics.jsonl` and TensorBoard events,
`results.json` with the provenance of its numbers, and the machine note
every report carries."""

import functools
import importlib.metadata
import json
import math
import os
import platform
import subprocess

import jax
from tensorboardX import SummaryWriter

from train import workdir as workdir_lib

_PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Whose versions a result depends on (importlib.metadata distribution names).
_PACKAGES = ('jax', 'jaxlib', 'flax', 'optax', 'orbax-checkpoint', 'numpy')


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


def _git(*args):
  """git's output in the project folder, or None outside a checkout."""
  try:
    return subprocess.run(['git', *args], cwd=_PROJECT, capture_output=True,
                          text=True, timeout=10, check=True).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return None


def _cpu_model():
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


@functools.cache
def provenance():
  """What produced a result: package versions, git commit, CPU and devices."""
  status = _git('status', '--porcelain', '--untracked-files=no')
  return {
      'versions': {p: importlib.metadata.version(p) for p in _PACKAGES},
      'python': platform.python_version(),
      'git_commit': _git('rev-parse', 'HEAD'),
      # Uncommitted changes to tracked files: the commit alone does not say
      # what ran.
      'git_dirty': None if status is None else bool(status),
      'cpu': _cpu_model(),
      'cpu_count': os.cpu_count(),
      'platform': jax.default_backend(),
      'device': jax.devices()[0].device_kind,
      'device_count': jax.device_count(),
  }


def _strict_json(value):
  """NaN and Inf (the std of one seed, say) as null, which JSON has."""
  if isinstance(value, float) and not math.isfinite(value):
    return None
  if isinstance(value, dict):
    return {k: _strict_json(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_strict_json(v) for v in value]
  return value


def write_json(path, results):
  """`results` plus its provenance, as strict JSON (process 0 only)."""
  if jax.process_index() == 0:
    # Whole or not at all (a grid skips the cells that have one).
    workdir_lib.write_json(
        path, _strict_json({**results, 'provenance': provenance()}))


def write_results(workdir, results):
  """<workdir>/results.json: a run's or a driver's results dict."""
  write_json(os.path.join(workdir, 'results.json'), results)


def machine_note():
  """'Machine: <device kind>, <n> cores.' for the notes under every table."""
  return f'Machine: {jax.devices()[0].device_kind}, {os.cpu_count()} cores.'
