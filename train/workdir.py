"""The workdir's `config.json`: written on start, checked on resume."""

import json
import os

import jax
import ml_collections

import errors

# Fields a resumed run may change: where data lives, the progress bar, how far
# to train, and the override itself.
RESUMABLE_FIELDS = ('data.dir', 'train.progress', 'train.epochs', 'force')


def _flat(d, prefix=''):
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(_flat(v, f'{prefix}{k}.'))
    else:
      out[f'{prefix}{k}'] = v
  return out


def record_config(config, workdir):
  """Writes config.json, refusing to resume a run made with another config.

  A workdir that already has checkpoints belongs to the config in its
  config.json; unless config.force, a run whose fields differ (beyond
  RESUMABLE_FIELDS) is refused with the list of differing fields.
  """
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, 'config.json')
  new = json.loads(config.to_json_best_effort())
  has_ckpt = os.path.isdir(os.path.join(workdir, 'checkpoints')) and any(
      n.isdigit() for n in os.listdir(os.path.join(workdir, 'checkpoints')))
  if has_ckpt and os.path.exists(path) and not config.get('force', False):
    with open(path) as f:
      old = _flat(json.load(f))
    cur = _flat(new)
    diff = sorted(k for k in old.keys() | cur.keys()
                  if k not in RESUMABLE_FIELDS and old.get(k) != cur.get(k))
    if diff:
      shown = ', '.join(f'{k}: {old.get(k)!r} -> {cur.get(k)!r}' for k in diff)
      raise errors.ConfigError(
          f'{path}: workdir holds a run with another config ({shown}); use '
          'another --workdir or --config.force=True')
  if jax.process_index() == 0:
    with open(path, 'w') as f:
      json.dump(new, f, indent=2)


def load_config(workdir):
  """The ConfigDict a run in `workdir` was made with."""
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise errors.DataError(f'{path}: missing; is {workdir} a run directory?')
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))
