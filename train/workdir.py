"""The workdir's `config.json` and `data.json`: checked on resume, then written.

A workdir that holds a run (checkpoints, or a results.json) belongs to the
config in its config.json and to the data described by its data.json (a
signature of the source files, `data.splits.signature`). A rerun with other
fields (beyond RESUMABLE_FIELDS) or other data is refused before anything is
written, unless config.force.
"""

import json
import os

from absl import logging
import jax
import ml_collections

import errors
from nets import defaults as defaults_lib

# Fields a resumed run may change: where data lives (its content is checked
# against data.json), where the feature cache lives (its entries are keyed by
# every feature parameter, so the folder changes no number: a clone elsewhere
# resumes), the progress bar, how far to train, and the override.
RESUMABLE_FIELDS = ('data.dir', 'data.cache_dir', 'train.progress',
                    'train.epochs', 'force')


# Fields added after runs were made: field -> (neighbours, the value that
# does what runs made before it did). The neighbours (a dotted path from the
# top, or a tuple of them) are fields that every config holding the field has
# had from the start, and no other config has. An older config.json that has
# a neighbour but not the field is read as holding that value, so such runs
# still resume and load. data.train_folder marks configs/attention_mnist.py's
# runs, data.cmap configs/spectrogram_cnn.py's (model.dtype would also mark
# configs/fsdd_voices.py's, which never had these fields).
ADDED_FIELDS = {
    'defaults': ('seed', defaults_lib.LEGACY),
    'data.loso_fold': ('data.test_speaker', -1),
    # Issue 12, the study's protocols as the defaults: each value is the
    # behaviour before it (docs/defaults.md).
    'model.attention_residual': ('data.train_folder', True),
    'model.channel_pool': (('data.train_folder', 'data.cmap'), 'avg_max'),
    'model.noise_models': ('data.cmap', 'hybrid'),
    'approach_b.embedding': ('approach_b.merger', 'merger'),
    # Issue 16: configs/fsdd_voices.py's mel-band shift, off before it.
    'augment.freq_shift': ('augment.time_masks', 0),
}

# Fields added to every group of a kind, wherever configs nest it (a train
# group sits at train, aux.train, baseline.train, stages.<name>.config...):
# (a field every such group has had, the added field, its earlier value).
ADDED_GROUP_FIELDS = (
    # Issue 16: train.lr_schedule; runs before it kept a constant rate.
    ('plateau_factor', 'lr_schedule', 'constant'),
)


def _has(config, path):
  """Whether the nested dict `config` holds the dotted `path`."""
  node = config
  for key in path.split('.'):
    if not isinstance(node, dict) or key not in node:
      return False
    node = node[key]
  return True


def _read_config(path):
  """config.json as a dict, with the added fields filled in where missing."""
  return fill_added(_read_json(path))


def fill_added(config):
  """ADDED_FIELDS and ADDED_GROUP_FIELDS filled in, in place, where the
  recorded `config` (a nested dict) predates them; returns it."""
  for field, (neighbours, value) in ADDED_FIELDS.items():
    if isinstance(neighbours, str):
      neighbours = (neighbours,)
    *groups, name = field.split('.')
    if not any(_has(config, n) for n in neighbours) or _has(config, field):
      continue
    group = config
    for g in groups:
      group = group.setdefault(g, {})
    group[name] = value
  _fill_groups(config)
  return config


def _fill_groups(node):
  """ADDED_GROUP_FIELDS filled in, in place, in every nested group."""
  for marker, field, value in ADDED_GROUP_FIELDS:
    if marker in node and field not in node:
      node[field] = value
  for child in node.values():
    if isinstance(child, dict):
      _fill_groups(child)


def flat(d, prefix=''):
  """{'data.split': 'loso'} of {'data': {'split': 'loso'}}."""
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(flat(v, f'{prefix}{k}.'))
    else:
      out[f'{prefix}{k}'] = v
  return out


def _has_checkpoints(workdir):
  folder = os.path.join(workdir, 'checkpoints')
  return os.path.isdir(folder) and any(n.isdigit() for n in os.listdir(folder))


def _read_json(path):
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError) as e:
    raise errors.DataError(f'{path}: unreadable ({e})') from e


def write_json(path, obj):
  """Writes through a temporary file, so a kill never leaves half a file.

  Named by PID (one writer per workdir: the lock) rather than mkstemp's
  private 0600 file, so the result gets the umask's permissions.
  """
  tmp = f'{path}.{os.getpid()}.tmp'
  try:
    with open(tmp, 'w') as f:
      json.dump(obj, f, indent=2)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def check_config(config, workdir, signature=None):
  """Refuses to resume a run of another config or other data; writes nothing.

  signature: the data's `data.splits.signature` (None: not checked).
  """
  force = config.get('force', False)
  path = os.path.join(workdir, 'config.json')
  new = json.loads(config.to_json_best_effort())
  has_ckpt = _has_checkpoints(workdir)
  if has_ckpt and os.path.exists(path) and not force:
    old, cur = flat(_read_config(path)), flat(new)
    diff = sorted(k for k in old.keys() | cur.keys()
                  if k not in RESUMABLE_FIELDS and old.get(k) != cur.get(k))
    if diff:
      shown = ', '.join(f'{k}: {old.get(k)!r} -> {cur.get(k)!r}' for k in diff)
      raise errors.ConfigError(
          f'{path}: workdir holds a run with another config ({shown}); use '
          'another --workdir or --config.force=True')
  has_run = has_ckpt or os.path.exists(os.path.join(workdir, 'results.json'))
  old = recorded_signature(workdir) if signature and has_run else None
  if old is None or old == signature:
    return
  where = f'data.dir={config.data.get("dir")}'
  if force:
    logging.warning('%s: not the data of the run in %s (--config.force=True: '
                    'training on it anyway)', where, workdir)
    return
  raise errors.DataError(
      f'{where}: not the data the run in {workdir} used (now '
      f'{signature["summary"]}, sha256 {signature["sha256"][:12]}; '
      f'{workdir}/data.json: {old.get("summary")}, sha256 '
      f'{str(old.get("sha256"))[:12]}); point data.dir at the run\'s data, '
      'use another --workdir, or --config.force=True')


def write_config(config, workdir, signature=None):
  """Writes config.json (and data.json given a signature); process 0 only."""
  if jax.process_index() != 0:
    return
  os.makedirs(workdir, exist_ok=True)
  write_json(os.path.join(workdir, 'config.json'),
              json.loads(config.to_json_best_effort()))
  if signature is not None:
    write_json(os.path.join(workdir, 'data.json'), signature)


def record_config(config, workdir, signature=None):
  """check_config, then write_config: for workdirs that hold no checkpoint
  of their own (the top folder of a multi-run experiment)."""
  check_config(config, workdir, signature)
  write_config(config, workdir, signature)


def recorded_signature(workdir):
  """The data signature in workdir's data.json, or None if it has none."""
  path = os.path.join(workdir, 'data.json')
  return _read_json(path) if os.path.exists(path) else None


def load_config(workdir):
  """The ConfigDict a run in `workdir` was made with."""
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise errors.DataError(f'{path}: missing; is {workdir} a run directory?')
  return ml_collections.ConfigDict(_read_config(path))
