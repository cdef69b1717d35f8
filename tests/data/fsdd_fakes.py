"""Tiny generated FSDD folders for the FSDD/MFCC tests."""

import pathlib
import shutil

import numpy as np
import pytest
import soundfile as sf

from tests import conftest

SPEAKERS = ('ann', 'bob', 'theo')


def write_recordings(root, speakers=SPEAKERS, indices=range(6), rate=8000,
                     seed=0):
  """`{digit}_{speaker}_{index}.wav` tones: the pitch encodes the digit,
  the length varies per file (0.1-0.3 s) so utterances differ in frames."""
  root = pathlib.Path(root)
  root.mkdir(parents=True, exist_ok=True)
  rng = np.random.default_rng(seed)
  for digit in range(10):
    for speaker in speakers:
      for index in indices:
        n = int(rate * rng.uniform(0.1, 0.3))
        t = np.arange(n) / rate
        wave = 0.3 * np.sin(2 * np.pi * (200 + 150 * digit) * t)
        wave += 0.01 * rng.standard_normal(n)
        sf.write(root / f'{digit}_{speaker}_{index}.wav',
                 wave.astype(np.float32), rate, subtype='PCM_16')
  return root


@pytest.fixture
def fake_fsdd(tmp_path):
  """A data root whose fsdd/recordings holds 10 digits x 3 speakers x 6."""
  root = tmp_path / 'data'
  write_recordings(root / 'fsdd' / 'recordings')
  return root


@pytest.fixture
def shared_fsdd():
  """../shared/data when it holds FSDD recordings, or a skip saying why."""
  rec = conftest.SHARED_DATA / 'fsdd' / 'recordings'
  if not (rec.is_dir() and any(rec.glob('*.wav'))):
    pytest.skip(f'FSDD recordings not found at {rec.resolve()}')
  return conftest.SHARED_DATA.resolve()


def copy_two_speakers(shared, root):
  """Copies indices 0-2 of every digit by george and theo from the shared
  FSDD to <root>/fsdd/recordings; returns the data dir `root`."""
  rec = root / 'fsdd' / 'recordings'
  rec.mkdir(parents=True)
  src = shared / 'fsdd' / 'recordings'
  for d in range(10):
    for speaker in ('george', 'theo'):
      for i in range(3):
        shutil.copy(src / f'{d}_{speaker}_{i}.wav', rec)
  return root
