"""Fetches MNIST and FSDD on first use: verified, placed atomically.

python -m data.fetch --datasets=mnist,fsdd [--data_dir=...]

For clusters whose compute nodes are offline: run it on a connected node; it
downloads what is missing into `<data_dir>/mnist` and
`<data_dir>/fsdd/recordings` and checks every file, present or new, against
the pinned hashes.

Mirrors: MNIST_URLS in order, or $DIGITS_MNIST_URL (a base URL under which the
four `*-ubyte.gz` files lie); FSDD_URL, or $DIGITS_FSDD_URL (a tar archive
whose top folder holds `recordings/`).

A download goes to a hidden `*.part` name beside its destination, is verified,
then renamed into place, so that a killed or failed fetch never leaves a file
under a name the loaders read. The loaders trust files already present (they
check IDX headers and sizes, and read every wav); `python -m data.fetch`
hashes them too.
"""

import gzip
import hashlib
import os
import shutil
import sys
import tarfile
import uuid
import zlib

from absl import app
from absl import flags
from absl import logging
import pooch
import requests

import data
import errors

MNIST_URL_ENV = 'DIGITS_MNIST_URL'
FSDD_URL_ENV = 'DIGITS_FSDD_URL'
MNIST_URLS = (
    'https://ossci-datasets.s3.amazonaws.com/mnist/',
    'https://storage.googleapis.com/cvdf-datasets/mnist/',
)
FSDD_URL = ('https://github.com/Jakobovski/free-spoken-digit-dataset/archive/'
            'refs/tags/v1.0.10.tar.gz')

# sha256 of each file's decompressed IDX bytes: mirrors re-gzip MNIST, so the
# .gz bytes differ between hosts while the content must not.
MNIST_SHA256 = {
    'train-images-idx3-ubyte':
        'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
    'train-labels-idx1-ubyte':
        '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
    't10k-images-idx3-ubyte':
        '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
    't10k-labels-idx1-ubyte':
        'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
}
# Sizes of the canonical .gz files, for the line announcing a download.
_MNIST_MB = {
    'train-images-idx3-ubyte': 9.9,
    'train-labels-idx1-ubyte': 0.03,
    't10k-images-idx3-ubyte': 1.6,
    't10k-labels-idx1-ubyte': 0.005,
}
_FSDD_MB = 21  # the 3,000 recordings unpacked


def recordings_dir(data_dir):
  """`<data_dir>/fsdd/recordings`, the shared layout."""
  return os.path.join(os.path.expanduser(data_dir), 'fsdd', 'recordings')


def _read_manifest(path):
  """{file name: sha256} from a gzipped `sha256sum` listing."""
  with gzip.open(path, 'rt') as f:
    return {name: digest for digest, name in (line.split() for line in f)}


# The 3,000 recordings of FSDD v1.0.10, hashed one by one: a host may re-pack
# the archive, but not change a recording.
FSDD_SHA256 = _read_manifest(
    os.path.join(os.path.dirname(__file__), 'fsdd_sha256.txt.gz'))


def mnist_urls():
  """Base URLs to try in order: $DIGITS_MNIST_URL alone, else MNIST_URLS."""
  override = os.environ.get(MNIST_URL_ENV)
  return (override,) if override else MNIST_URLS


def fsdd_url():
  """$DIGITS_FSDD_URL, else the v1.0.10 release archive."""
  return os.environ.get(FSDD_URL_ENV) or FSDD_URL


def idx_path(directory, name):
  """`<directory>/<name>.gz`, or the raw `<name>` when only that exists."""
  gz = os.path.join(directory, name + '.gz')
  raw = os.path.join(directory, name)
  return raw if os.path.exists(raw) and not os.path.exists(gz) else gz


def _why(e):
  """A short reason for a failed download."""
  if isinstance(e, requests.HTTPError):
    return f'HTTP {e.response.status_code}'
  if isinstance(e, requests.Timeout):
    return 'timed out'
  if isinstance(e, requests.ConnectionError):
    return 'cannot connect (no network?)'
  if isinstance(e, requests.exceptions.ChunkedEncodingError):
    return 'connection broke off mid-download'
  return f'{type(e).__name__}: {(str(e).splitlines() or [""])[0]}'


def _download(url, path):
  """Streams `url` to `path` with a progress bar; DataError naming the URL."""
  try:
    pooch.HTTPDownloader(progressbar=True)(url, path, None)
  except requests.RequestException as e:
    raise errors.DataError(f'{url}: {_why(e)}') from e
  except OSError as e:
    raise errors.DataError(f'{path}: cannot write the download ({e})') from e


def _sha256(f):
  h = hashlib.sha256()
  for chunk in iter(lambda: f.read(1 << 20), b''):
    h.update(chunk)
  return h.hexdigest()


def _check_idx(label, path, name, gzipped):
  """Raises DataError (starting with `label`) unless `path` holds `name`."""
  opener = gzip.open if gzipped else open
  try:
    with opener(path, 'rb') as f:
      digest = _sha256(f)
  except (OSError, EOFError, zlib.error) as e:
    raise errors.DataError(f'{label}: unreadable ({e})') from e
  if digest != MNIST_SHA256[name]:
    raise errors.DataError(
        f'{label}: sha256 of the IDX content is {digest[:12]}..., not the '
        f'pinned {MNIST_SHA256[name][:12]}... of {name}')


def _make_dirs(path):
  """Creates `path` and its missing parents; returns those it created."""
  made = []
  while path and not os.path.isdir(path):
    made.append(path)
    path = os.path.dirname(path)
  for d in reversed(made):
    try:
      os.makedirs(d, exist_ok=True)
    except OSError as e:
      raise errors.DataError(f'{d}: cannot create folder ({e})') from e
  return made


def _remove_empty(dirs):
  """Removes the folders a failed fetch created, where still empty."""
  for d in dirs:
    try:
      os.rmdir(d)
    except OSError:
      pass


def _part_name(path):
  # Unique per try, so that runs sharing a folder never write the same file.
  head, tail = os.path.split(path)
  return os.path.join(head, f'.{tail}.{uuid.uuid4().hex[:8]}.part')


def _replace(src, dest):
  try:
    os.replace(src, dest)
  except OSError as e:
    raise errors.DataError(f'{dest}: cannot place the download ({e})') from e


def _fetch_idx(directory, name):
  """Downloads `<name>.gz` from the first mirror that gives verified bytes."""
  dest = os.path.join(directory, name + '.gz')
  tried = []
  for base_url in mnist_urls():
    url = base_url.rstrip('/') + '/' + name + '.gz'
    logging.info('Fetching MNIST %s.gz (%.3g MB) from %s into %s', name,
                 _MNIST_MB[name], url, directory)
    part = _part_name(dest)
    try:
      _download(url, part)
      _check_idx(url, part, name, gzipped=True)
      _replace(part, dest)
      return dest
    except errors.DataError as e:
      logging.warning('%s', e)
      tried.append(str(e))
    finally:
      if os.path.exists(part):
        os.remove(part)
  files = ', '.join(n + '.gz' for n in MNIST_SHA256)
  raise errors.DataError(
      f'{"; ".join(tried)}. Put the MNIST files ({files}) in {directory} by '
      f'hand, or set ${MNIST_URL_ENV} to a base URL holding them')


def ensure_mnist(directory, names=tuple(MNIST_SHA256), allow_download=True):
  """{name: path} of the IDX files `names` in `directory`, fetched if missing.

  Present files count whether gzipped (`name.gz`) or raw (`name`). Missing
  ones are downloaded when `allow_download`; otherwise, or when every mirror
  fails, raises a one-line DataError saying how to place the files.
  """
  directory = os.path.expanduser(str(directory))
  paths = {n: idx_path(directory, n) for n in names}
  missing = [n for n, p in paths.items() if not os.path.exists(p)]
  if missing and not allow_download:
    raise errors.DataError(
        f'{paths[missing[0]]}: missing MNIST file and data.allow_download is '
        f'false. Put the four *-ubyte.gz files from {mnist_urls()[0]} in '
        f'{directory}, point config.data.dir or ${errors.DATA_ENV} at a folder'
        ' holding them, or run `python -m data.fetch --datasets=mnist` on a '
        'connected machine')
  made = _make_dirs(directory) if missing else []
  try:
    for name in missing:
      paths[name] = _fetch_idx(directory, name)
  except errors.DataError:
    _remove_empty(made)
    raise
  return paths


def _has_wavs(folder):
  return os.path.isdir(folder) and any(
      n.lower().endswith('.wav') for n in os.listdir(folder))


def _check_recordings(label, folder):
  """Raises DataError (starting with `label`) unless `folder` is FSDD_SHA256."""
  names = {n for n in os.listdir(folder) if n.lower().endswith('.wav')}
  lacking, extra = sorted(set(FSDD_SHA256) - names), sorted(
      names - set(FSDD_SHA256))
  if lacking:
    raise errors.DataError(
        f'{label}: lacks {len(lacking)} of the {len(FSDD_SHA256)} FSDD '
        f'recordings (e.g. {lacking[0]})')
  if extra:
    raise errors.DataError(
        f'{label}: holds {len(extra)} recordings not in FSDD v1.0.10 '
        f'(e.g. {extra[0]})')
  for name in sorted(names):
    with open(os.path.join(folder, name), 'rb') as f:
      if _sha256(f) != FSDD_SHA256[name]:
        raise errors.DataError(
            f'{label}: {name} does not match its pinned sha256')


def _unpack_recordings(url, archive, out):
  """Writes the archive's `[top/]recordings/*.wav` files flat into `out`."""
  _make_dirs(out)
  try:
    with tarfile.open(archive) as tar:
      for member in tar:
        parts = member.name.strip('/').split('/')
        # Only plain files directly in recordings/: no links, no `..` paths.
        if (member.isfile() and len(parts) in (2, 3) and
            parts[-2] == 'recordings' and parts[-1].lower().endswith('.wav')):
          with tar.extractfile(member) as src, open(
              os.path.join(out, parts[-1]), 'wb') as dst:
            shutil.copyfileobj(src, dst)
  except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
    raise errors.DataError(f'{url}: not a readable tar archive ({e})') from e
  if not os.listdir(out):
    raise errors.DataError(
        f'{url}: the archive has no recordings/*.wav (expected a top folder '
        'holding recordings/)')


def ensure_fsdd(data_dir, allow_download=True):
  """`<data_dir>/fsdd/recordings`, fetched from fsdd_url() if it has no wavs.

  Without `allow_download`, or when the fetch fails, raises a one-line
  DataError saying how to place the files.
  """
  root = recordings_dir(data_dir)
  if _has_wavs(root):
    return root
  url = fsdd_url()
  how = (f'Put the 3,000 .wav files of the recordings/ folder of {FSDD_URL} '
         f'in {root}')
  if not allow_download:
    raise errors.DataError(
        f'{root}: FSDD recordings folder not found and data.allow_download is '
        f'false. {how}, or run `python -m data.fetch --datasets=fsdd` on a '
        'connected machine')
  parent = os.path.dirname(root)
  made = _make_dirs(parent)
  part = _part_name(root)
  logging.info('Fetching FSDD v1.0.10 (3,000 recordings, %d MB unpacked) from '
               '%s into %s', _FSDD_MB, url, root)
  try:
    _make_dirs(part)
    archive = os.path.join(part, 'archive')
    _download(url, archive)
    recordings = os.path.join(part, 'recordings')
    _unpack_recordings(url, archive, recordings)
    _check_recordings(url, recordings)
    try:
      os.replace(recordings, root)
    except OSError as e:
      # Another run may have placed the same recordings meanwhile.
      if not _has_wavs(root):
        raise errors.DataError(f'{root}: cannot place recordings ({e})') from e
  except errors.DataError as e:
    raise errors.DataError(
        f'{e}. {how}, or set ${FSDD_URL_ENV} to a copy of that archive') from e
  finally:
    shutil.rmtree(part, ignore_errors=True)
    _remove_empty(made)
  return root


def fetch_mnist(data_dir):
  """Fetches what is missing into `<data_dir>/mnist` and verifies all four."""
  directory = os.path.join(os.path.expanduser(data_dir), 'mnist')
  paths = ensure_mnist(directory)
  for name, path in paths.items():
    try:
      _check_idx(path, path, name, path.endswith('.gz'))
    except errors.DataError as e:
      raise errors.DataError(f'{e}; delete it to download it again') from e
  return f'mnist: {len(paths)} files verified in {directory}'


def fetch_fsdd(data_dir):
  """Fetches `<data_dir>/fsdd/recordings` if absent and verifies every file."""
  root = ensure_fsdd(data_dir)
  try:
    _check_recordings(root, root)
  except errors.DataError as e:
    raise errors.DataError(
        f'{e}; move the folder away to download it again') from e
  return f'fsdd: {len(FSDD_SHA256)} recordings verified in {root}'


FETCHERS = {'mnist': fetch_mnist, 'fsdd': fetch_fsdd}


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.INFO)
  try:
    for name in flags.FLAGS.datasets:
      if name not in FETCHERS:
        raise errors.ConfigError(
            f'--datasets={name}: unknown; choices: {sorted(FETCHERS)}')
      print(FETCHERS[name](flags.FLAGS.data_dir))
  except errors.UserError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(1)


if __name__ == '__main__':
  flags.DEFINE_list('datasets', list(FETCHERS), 'Datasets to fetch and verify.')
  flags.DEFINE_string('data_dir', data.DEFAULT_DIR,
                      'Data root: MNIST goes to <data_dir>/mnist, FSDD to '
                      '<data_dir>/fsdd/recordings.')
  app.run(main)
