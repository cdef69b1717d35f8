"""Deterministic stratified selection and the arrays every trainer consumes."""

import dataclasses
import hashlib
import json
from typing import Optional

import numpy as np

import errors


@dataclasses.dataclass
class Splits:
  """In-memory arrays: x float32 [N, ...], y int32 [N] (or targets)."""
  x_train: np.ndarray
  y_train: np.ndarray
  x_val: np.ndarray
  y_val: np.ndarray
  x_test: np.ndarray
  y_test: np.ndarray
  num_classes: int = 10
  # info['signature'], where a pipeline sets it, describes the source data
  # (see `signature`); the workdir records it in data.json. info['run_files']
  # ({file name: JSON-able}) is what a supervised run keeps beside its
  # checkpoints to preprocess new inputs as its own were (eval.predict).
  info: Optional[dict] = None


def signature(summary, *parts):
  """{'summary', 'sha256'} of the data a run trains on, for data.json.

  parts: arrays (hashed with dtype and shape) or JSON-able values. Pipelines
  hash their source (files, or the arrays read from them before any float
  computation), so the same data gives the same signature on any machine.
  """
  h = hashlib.sha256()
  for part in parts:
    if isinstance(part, np.ndarray):
      h.update(f'{part.dtype}{part.shape}'.encode())
      h.update(np.ascontiguousarray(part).tobytes())
    else:
      h.update(json.dumps(part, sort_keys=True).encode())
  return {'summary': summary, 'sha256': h.hexdigest()}


def combine_signatures(*signatures):
  """One signature of several sources (a run on real plus synthetic data)."""
  return signature('; '.join(s['summary'] for s in signatures),
                   [s['sha256'] for s in signatures])


def stratified_indices(labels, per_class, seed, field='per_class'):
  """Indices of `per_class` items of each class, the same for the same seed.

  None takes every item. Order is ascending, so the subset does not depend on
  anything but (labels, per_class, seed).
  """
  labels = np.asarray(labels)
  if per_class is None:
    return np.arange(len(labels))
  if per_class < 0:
    raise errors.ConfigError(f'{field}={per_class}: must be >= 0')
  rng = np.random.default_rng(seed)
  chosen = []
  for c in np.unique(labels):
    idx = np.flatnonzero(labels == c)
    if per_class > len(idx):
      raise errors.ConfigError(
          f'{field}={per_class}: class {c} has only {len(idx)} items')
    chosen.append(rng.permutation(idx)[:per_class])
  return np.sort(np.concatenate(chosen))


def stratified_split(labels, fractions, seed):
  """Splits indices into len(fractions) stratified parts (fractions sum to 1)."""
  labels = np.asarray(labels)
  rng = np.random.default_rng(seed)
  parts = [[] for _ in fractions]
  bounds = np.cumsum(fractions)[:-1]
  for c in np.unique(labels):
    idx = rng.permutation(np.flatnonzero(labels == c))
    cuts = np.round(bounds * len(idx)).astype(int)
    for part, chunk in zip(parts, np.split(idx, cuts)):
      part.append(chunk)
  return [np.sort(np.concatenate(p)) for p in parts]


def split_validation(x, y, val, seed):
  """Returns (x_train, y_train, x_val, y_val) holding out a `val` fraction.

  `val` is a string (the config field also takes 'test'), so that
  `--config.data.val=0.1` works from the command line.
  """
  try:
    frac = float(val)
  except ValueError:
    frac = -1.0
  if not 0 < frac < 1:
    raise errors.ConfigError(f'data.val={val!r}: must be "test" or in (0, 1)')
  train_idx, val_idx = stratified_split(y, [1 - frac, frac], seed)
  return x[train_idx], y[train_idx], x[val_idx], y[val_idx]
