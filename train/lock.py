"""One run per workdir: `<workdir>/run.lock`, held with flock(2).

The OS drops a flock when its holder exits, however it exits, so the lock of
a killed run is free at once; the file it leaves behind only names that run,
and the next run takes it over with a warning. Runs inside a run (sweep
children, grid cells, the GAN's classifier) live in subfolders of the
workdir and are covered by its lock. Only process 0 of a multi-process job
takes it. Not every network filesystem supports flock; where it does not,
the lock holds only between processes of one machine.
"""

import contextlib
import datetime
import fcntl
import json
import os
import socket
import sys

from absl import logging
import jax

import errors

LOCK_NAME = 'run.lock'


def _make_workdir(workdir):
  """Creates `workdir` and missing parents; returns those created, outermost
  first, so that a run that fails early can remove them again."""
  created = []
  path = os.path.abspath(workdir)
  while not os.path.lexists(path):
    created.insert(0, path)
    path = os.path.dirname(path)
  if not os.path.isdir(path):
    raise errors.WorkdirError(f'{path}: exists and is not a directory; use '
                              'another --workdir')
  try:
    for d in created:
      os.mkdir(d)
  except OSError as e:
    _remove_empty(created)
    raise errors.WorkdirError(
        f'{e.filename}: cannot create the workdir ({e.strerror})') from e
  return created


def _remove_empty(created):
  for d in reversed(created):
    try:
      os.rmdir(d)
    except OSError:
      return


def _holder(fd):
  """Who the lock file names, in words; '' if it is empty."""
  os.lseek(fd, 0, os.SEEK_SET)
  text = os.read(fd, 4096).decode(errors='replace').strip()
  if not text:
    return ''
  try:
    h = json.loads(text)
    return (f'process {h["pid"]} on {h["host"]} (started {h["started"]}: '
            f'{h["command"]})')
  except (ValueError, KeyError, TypeError):
    return repr(text[:200])


def _acquire(path):
  """An open descriptor of `path`, flocked; WorkdirError if another holds it.

  A holder unlinks the file before it lets go, so a descriptor whose inode
  is no longer the one at `path` locked a file that is gone: try again.
  """
  for _ in range(100):
    try:
      fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
      raise errors.WorkdirError(
          f'{os.path.dirname(path)}: not writable ({e.strerror}); a run '
          'writes its checkpoints there') from e
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
      holder = _holder(fd) or 'another process'
      os.close(fd)
      raise errors.WorkdirError(
          f'{path}: the workdir is in use by {holder}; wait for that run to '
          'end or use another --workdir') from e
    try:
      if os.stat(path).st_ino == os.fstat(fd).st_ino:
        return fd
    except FileNotFoundError:
      pass
    os.close(fd)
  raise errors.WorkdirError(f'{path}: could not take the lock (it keeps '
                            'being replaced)')


@contextlib.contextmanager
def hold(workdir):
  """Runs the body holding `workdir`'s lock, creating the workdir if needed.

  A workdir this call created is removed again if the body leaves it empty
  (a run refused before it wrote anything leaves no trace).
  """
  if jax.process_index() != 0:
    yield
    return
  created = _make_workdir(workdir)
  path = os.path.join(workdir, LOCK_NAME)
  try:
    fd = _acquire(path)
  except BaseException:
    _remove_empty(created)
    raise
  try:
    stale = _holder(fd)
    if stale:
      logging.warning('%s: taking over the lock of %s, which has ended', path,
                      stale)
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({
        'pid': os.getpid(), 'host': socket.gethostname(),
        'started': datetime.datetime.now().isoformat(timespec='seconds'),
        'command': ' '.join(sys.argv)}).encode() + b'\n', 0)
    yield
  finally:
    # Unlinked while still held: see _acquire.
    os.unlink(path)
    os.close(fd)
    _remove_empty(created)
