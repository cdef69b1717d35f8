"""On-disk cache of computed arrays, keyed by everything that changes them.

`cached(cache_dir, name, params, compute_fn)` stores compute_fn()'s arrays in
`<cache_dir>/<name>-<hash of params>.npz`. `params` must hold every input that
changes the output (feature parameters, `file_signature` of the inputs, a code
version tag), so a changed input gets a new file and a rerun reads the old one.
Default directory: DEFAULT_CACHE_DIR, `runs/cache` in the project (gitignored).
"""

import hashlib
import json
import os
import tempfile
import zipfile

from absl import logging
import numpy as np

DEFAULT_CACHE_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'runs',
    'cache')


def params_hash(params):
  """A stable 16-hex-digit hash of a JSON-able dict (key order ignored)."""
  blob = json.dumps(params, sort_keys=True, default=str)
  return hashlib.sha256(blob.encode()).hexdigest()[:16]


def file_signature(paths):
  """[(basename, size, mtime_ns)] of `paths`: changes when any file does."""
  out = []
  for p in paths:
    st = os.stat(p)
    out.append((os.path.basename(p), st.st_size, st.st_mtime_ns))
  return out


def _read(path, keys):
  """The entry's arrays; ValueError unless it is an .npz holding `keys`."""
  try:
    f = np.load(path, allow_pickle=False)
    if not isinstance(f, np.lib.npyio.NpzFile):
      raise ValueError('not an .npz archive')
    with f:
      arrays = {k: f[k] for k in f.files}
  except (OSError, EOFError, ValueError, zipfile.BadZipFile) as e:
    raise ValueError(f'{type(e).__name__}: {e}') from e
  missing = sorted(set(keys) - set(arrays))
  if missing:
    raise ValueError(f'no {", ".join(missing)} array')
  return arrays


def cached(cache_dir, name, params, compute_fn, keys=()):
  """compute_fn() -> {key: array}, read from / written to the cache.

  The file is written to a temporary name and renamed, so a killed run never
  leaves a half-written entry; an entry that cannot be read back, or lacks
  one of `keys`, is recomputed and replaced (whatever broke it). cache_dir
  '' is DEFAULT_CACHE_DIR, so configs record no machine's path.
  """
  path = os.path.join(os.path.expanduser(cache_dir or DEFAULT_CACHE_DIR),
                      f'{name}-{params_hash(params)}.npz')
  if os.path.exists(path):
    try:
      arrays = _read(path, keys)
      logging.info('cache hit: %s', path)
      return arrays
    except ValueError as e:
      logging.warning('cache entry %s unreadable (%s); recomputing', path, e)
  arrays = {k: np.asarray(v) for k, v in compute_fn().items()}
  os.makedirs(os.path.dirname(path), exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix='.tmp')
  try:
    with os.fdopen(fd, 'wb') as f:
      np.savez(f, **arrays)
    os.replace(tmp, path)
  except BaseException:
    os.unlink(tmp)
    raise
  logging.info('cache write: %s', path)
  return arrays


def pack_ragged(arrays):
  """[array [T_i, ...]] -> (concatenated [sum T_i, ...], lengths [n])."""
  lengths = np.array([len(a) for a in arrays], np.int64)
  return np.concatenate(arrays), lengths


def unpack_ragged(flat, lengths):
  """Inverse of pack_ragged: a list of arrays of the given lengths."""
  return np.split(flat, np.cumsum(lengths)[:-1])
