"""Faults a new user hits in the first week, run as they would run them.

Each case runs main.py or an eval script in a subprocess on tiny fake data
and checks the promise of the README: one `error: <file or field>: ...` line
and exit status 1 (or the recovery described), no traceback, and a workdir
whose files are byte-identical where nothing should change.
"""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from configs import gan_300
from configs import mfcc_fsdd
from configs import spectrogram_cnn
import data
from data import cache
from data import fsdd
from data import spectrogram
import errors
from eval import common
import nets
from tests.conftest import make_digits
from tests.conftest import tiny_attention_config
from tests.conftest import write_idx
from tests.data.fsdd_fakes import write_recordings
from train import checkpoint
from train import lock
from train import trainer

ROOT = pathlib.Path(__file__).resolve().parents[1]
ATTENTION = '--config=configs/attention_mnist.py'
MFCC = '--config=configs/mfcc_fsdd.py:baseline,smoke'


def _run(*args, module=None, log=None):
  """main.py (or `python -m module`) with args: the finished process, or
  with `log` (a file for its output) the running one."""
  cmd = [sys.executable, *(['-m', module] if module else ['main.py']), *args]
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  if log:
    with open(log, 'w') as f:
      return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=f,
                              stderr=subprocess.STDOUT)
  return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=300)


def _ok(r):
  assert r.returncode == 0, r.stderr[-3000:]
  assert 'Traceback' not in r.stderr and 'Exception ignored' not in r.stderr
  return r


def _one_error(r, *names):
  """The single `error:` line of a failed run; it must name each of names."""
  assert r.returncode == 1, r.stderr[-3000:]
  assert 'Traceback' not in r.stderr, r.stderr[-3000:]
  lines = [l for l in r.stderr.splitlines() if l.startswith('error:')]
  assert len(lines) == 1, r.stderr[-3000:]
  for name in names:
    assert str(name) in lines[0], lines[0]
  return lines[0]


def _snapshot(root):
  """{relative path: bytes, or None for a folder} of everything under root."""
  out = {}
  for path in sorted(pathlib.Path(root).rglob('*')):
    rel = str(path.relative_to(root))
    out[rel] = None if path.is_dir() else path.read_bytes()
  return out


def _mnist_root(root, seed=0):
  """A data root with mnist/ IDX files of learnable fake digits."""
  (root / 'mnist').mkdir(parents=True)
  for split, n, offset in (('train', 30, 0), ('t10k', 12, 1)):
    images, labels = make_digits(n, seed + offset)
    write_idx(root / 'mnist' / f'{split}-images-idx3-ubyte.gz', images, 2051)
    write_idx(root / 'mnist' / f'{split}-labels-idx1-ubyte.gz', labels, 2049)
  return root


def _tiny(data_dir, epochs=2):
  return [ATTENTION, f'--config.data.dir={data_dir}',
          '--config.data.allow_download=False',
          '--config.data.train_per_class=20', '--config.data.test_per_class=5',
          f'--config.train.epochs={epochs}', '--config.train.progress=False']


def _mfcc(data_dir, cache_dir):
  return [MFCC, f'--config.data.dir={data_dir}',
          '--config.data.allow_download=False',
          f'--config.data.cache_dir={cache_dir}', "--config.splits=('random',)",
          '--config.baseline.train.epochs=1', '--config.train.progress=False']


@pytest.fixture(scope='module')
def mnist(tmp_path_factory):
  return _mnist_root(tmp_path_factory.mktemp('mnist'))


@pytest.fixture(scope='module')
def trained(tmp_path_factory, mnist):
  """A finished 2-epoch attention run (checkpoints/1, /2); copy before use."""
  workdir = tmp_path_factory.mktemp('trained') / 'run'
  _ok(_run(*_tiny(mnist), f'--workdir={workdir}'))
  return workdir


@pytest.fixture
def run_copy(trained, tmp_path):
  shutil.copytree(trained, tmp_path / 'run')
  return tmp_path / 'run'


@pytest.fixture(scope='module')
def mfcc_run(tmp_path_factory):
  """A finished MFCC baseline run on fake recordings: (data root, cache,
  workdir)."""
  root = tmp_path_factory.mktemp('fsdd')
  write_recordings(root / 'data' / 'fsdd' / 'recordings')
  args = _mfcc(root / 'data', root / 'cache')
  _ok(_run(*args, f'--workdir={root / "run"}'))
  return root / 'data', root / 'cache', root / 'run'


# 1. --config.force and hyper-parameters on resume.
def test_forced_rerun_trains_with_the_new_learning_rate(run_copy, mnist):
  before = _snapshot(run_copy)
  changed = [*_tiny(mnist, epochs=3), '--config.opt.learning_rate=0.01',
             f'--workdir={run_copy}']
  _one_error(_run(*changed), 'config.json', 'opt.learning_rate', 'force')
  assert _snapshot(run_copy) == before
  _ok(_run(*changed, '--config.force=True'))
  rows = [json.loads(l) for l in (run_copy / 'metrics.jsonl').open()]
  assert [r['epoch'] for r in rows] == [1, 2, 3]
  assert rows[1]['lr'] == pytest.approx(1e-3)
  assert rows[2]['lr'] == pytest.approx(1e-2)
  config = json.loads((run_copy / 'config.json').read_text())
  assert config['opt']['learning_rate'] == 0.01


# 2. A corrupt newest checkpoint.
def _truncate_largest(step_dir):
  files = [p for p in step_dir.rglob('*') if p.is_file()]
  largest = max(files, key=lambda p: p.stat().st_size)
  with open(largest, 'r+b') as f:
    f.truncate(100)


def test_corrupt_newest_checkpoint_falls_back_to_the_one_before(run_copy,
                                                                mnist):
  _truncate_largest(run_copy / 'checkpoints' / '2')
  shutil.rmtree(run_copy / 'best')
  before = _snapshot(run_copy)
  r = _ok(_run(f'--workdir={run_copy}', '--which=latest',
               module='eval.evaluate'))
  assert 'checkpoints/2' in r.stderr and 'unreadable' in r.stderr
  assert '(checkpoint latest)' in r.stdout.splitlines()[0]
  after = _snapshot(run_copy)
  assert after.pop('eval.json') and after.pop('confusion.png')
  assert after == before  # no folder created

  r = _ok(_run(*_tiny(mnist, epochs=3), f'--workdir={run_copy}'))
  assert 'checkpoints/2' in r.stderr and 'at epoch 1' in r.stderr
  names = os.listdir(run_copy / 'checkpoints')
  assert sorted(n for n in names if n.isdigit()) == ['2', '3']
  assert any(n.startswith('2.unreadable') for n in names)  # kept for a look
  rows = [json.loads(l) for l in (run_copy / 'metrics.jsonl').open()]
  assert [r['epoch'] for r in rows] == [1, 2, 3]


def test_no_readable_checkpoint_is_one_error(run_copy):
  for step in ('1', '2'):
    _truncate_largest(run_copy / 'checkpoints' / step)
  config = tiny_attention_config(run_copy)
  with pytest.raises(errors.CheckpointError, match='no readable checkpoint'):
    common.restore_state(str(run_copy), config,
                         nets.get_model(config.model, config.defaults),
                         np.zeros((1, 28, 28, 1), np.float32), 'latest')


# 3. Two runs in one workdir.
def test_second_run_in_a_busy_workdir_is_refused(mnist, tmp_path):
  workdir = tmp_path / 'run'
  log = tmp_path / 'first.log'
  first = _run(*_tiny(mnist, epochs=100_000), f'--workdir={workdir}', log=log)
  try:
    deadline = time.time() + 120
    while not (workdir / 'checkpoints' / '1').exists():
      assert first.poll() is None, log.read_text()[-3000:]
      assert time.time() < deadline, 'the first run wrote no checkpoint'
      time.sleep(0.1)
    second = _run(*_tiny(mnist, epochs=100_000), f'--workdir={workdir}')
    _one_error(second, lock.LOCK_NAME, f'process {first.pid}')
  finally:
    first.send_signal(signal.SIGKILL)
    first.wait()
  # The killed run's lock file is left behind; the next run takes it over
  # and trains one epoch past the ones it finished (fewer are refused).
  assert (workdir / lock.LOCK_NAME).exists()
  done = len((workdir / 'metrics.jsonl').read_text().splitlines())
  r = _ok(_run(*_tiny(mnist, epochs=done + 1), f'--workdir={workdir}'))
  assert f'taking over the lock of process {first.pid}' in r.stderr
  assert not (workdir / lock.LOCK_NAME).exists()
  epochs = [json.loads(l)['epoch'] for l in (workdir / 'metrics.jsonl').open()]
  assert epochs == list(range(1, len(epochs) + 1))
  assert not [n for n in os.listdir(workdir / 'checkpoints') if 'tmp' in n]


# 4. Audio with NaN/Inf samples.
def _nan_wav(recordings):
  wave = np.zeros(800, np.float32)
  wave[100], wave[200] = np.nan, np.inf
  path = recordings / '3_ann_1.wav'
  sf.write(path, wave, 8000, subtype='FLOAT')
  return path


def test_nan_audio_is_one_error_or_skipped(tmp_path):
  root = tmp_path / 'data'
  bad = _nan_wav(write_recordings(root / 'fsdd' / 'recordings'))
  r = _run(*_mfcc(root, tmp_path / 'cache'), f'--workdir={tmp_path / "run"}')
  _one_error(r, bad, 'NaN')
  assert not (tmp_path / 'run').exists()
  # Both FSDD pipelines skip it with data.on_bad_file=skip.
  config = mfcc_fsdd.get_config('smoke')
  config.data.update(dir=str(root), cache_dir=str(tmp_path / 'cache'),
                     on_bad_file='skip', split='random')
  assert [str(bad)] == data.get_dataset(config.data).info['skipped']
  config = spectrogram_cnn.get_config('smoke')
  config.data.update(dir=str(root), cache_dir=str(tmp_path / 'cache'),
                     on_bad_file='skip', n_mels=16, n_fft=128, frames=16)
  recordings = fsdd.list_recordings(root / 'fsdd' / 'recordings')
  images, kept = spectrogram.spectrogram_images(config.data, recordings)
  assert len(kept) == len(images) == len(recordings) - 1


# 5. Unreadable caches and synthetic-image files.
@pytest.mark.parametrize('damage', ['empty', 'missing_key', 'npy'])
def test_unreadable_cache_entry_is_rebuilt(tmp_path, damage):
  compute = lambda: {'frames': np.arange(3), 'lengths': np.ones(3)}
  cache.cached(tmp_path, 'x', {'a': 1}, compute, keys=('frames', 'lengths'))
  [entry] = tmp_path.glob('x-*.npz')
  if damage == 'empty':
    entry.write_bytes(b'')
  elif damage == 'missing_key':
    np.savez(entry, frames=np.arange(3))
  else:
    with open(entry, 'wb') as f:
      np.save(f, np.arange(3))
  out = cache.cached(tmp_path, 'x', {'a': 1}, compute,
                     keys=('frames', 'lengths'))
  assert sorted(out) == ['frames', 'lengths']
  assert sorted(np.load(entry)) == ['frames', 'lengths']  # replaced


def test_empty_synthetic_file_is_one_error(mnist, tmp_path):
  empty = tmp_path / 'synthetic.npz'
  empty.write_bytes(b'')
  r = _run('--config=configs/augment_grid.py:smoke',
           f'--config.data.dir={mnist}', '--config.data.allow_download=False',
           f'--config.grid.synthetic={empty}', f'--workdir={tmp_path / "run"}')
  _one_error(r, empty)
  assert not (tmp_path / 'run').exists()


# 7. Filesystem errors.
def test_workdir_that_is_a_file_is_one_error(mnist, tmp_path):
  path = tmp_path / 'file'
  path.write_text('not a folder')
  _one_error(_run(*_tiny(mnist), f'--workdir={path}'), path, 'not a directory')
  _one_error(_run(*_tiny(mnist), f'--workdir={path}/run'), path)
  assert path.read_text() == 'not a folder'


# Root ignores file modes; a root test runner drops the capabilities that let
# it, so that a read-only workdir is read-only to the child too.
_WITHOUT_ROOT_OVERRIDE = '''
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
  if libc.prctl(24, cap, 0, 0, 0):  # PR_CAPBSET_DROP
    sys.exit(77)
os.execv(sys.executable, [sys.executable] + sys.argv[1:])
'''


def _run_read_only(*args, module=None):
  cmd = [*(['-m', module] if module else ['main.py']), *args]
  if os.geteuid() == 0:
    cmd = ['-c', _WITHOUT_ROOT_OVERRIDE, *cmd]
  r = subprocess.run([sys.executable, *cmd], cwd=ROOT, capture_output=True,
                     text=True, timeout=300,
                     env=dict(os.environ, JAX_PLATFORMS='cpu'))
  if r.returncode == 77:
    pytest.skip('cannot drop root\'s file-permission override here')
  return r


def test_read_only_workdir(run_copy, mnist):
  before = _snapshot(run_copy)
  modes = {p: p.stat().st_mode for p in [run_copy, *run_copy.rglob('*')]}
  for p in modes:
    p.chmod(modes[p] & ~0o222)
  try:
    r = _run_read_only(*_tiny(mnist, epochs=3), f'--workdir={run_copy}')
    _one_error(r, run_copy, 'not writable')
    r = _run_read_only(f'--workdir={run_copy}', module='eval.evaluate')
    _ok(r)
    assert 'test_accuracy' in r.stdout.splitlines()[0]
    assert 'eval.json: not written' in r.stderr
  finally:
    for p, mode in modes.items():
      p.chmod(mode)
  assert _snapshot(run_copy) == before


# 8. Eval tools on another experiment's workdir.
def test_eval_on_an_mfcc_top_folder_names_its_runs(mfcc_run):
  _, _, workdir = mfcc_run
  r = _run(f'--workdir={workdir}', module='eval.evaluate')
  _one_error(r, workdir, workdir / 'random' / 'seed0' / 'baseline' / 'mlp')


def test_gradcam_on_an_attention_run_is_one_error(trained, tmp_path):
  r = _run(f'--workdir={trained}', f'--out={tmp_path / "g.png"}',
           module='eval.gradcam')
  _one_error(r, trained, 'last_conv')


def test_eval_on_a_gan_run_is_one_error(tmp_path):
  (tmp_path / 'checkpoints').mkdir()
  (tmp_path / 'config.json').write_text(gan_300.get_config('smoke').to_json())
  with pytest.raises(errors.ConfigError, match='a GAN run'):
    common.load_run(str(tmp_path))


# 9. A failed run leaves the workdir as it was.
def test_mfcc_data_error_leaves_the_workdir_alone(mfcc_run, tmp_path):
  _, cache_dir, workdir = mfcc_run
  before = _snapshot(workdir)
  missing = tmp_path / 'nowhere'
  r = _run(*_mfcc(missing, cache_dir), f'--workdir={workdir}')
  _one_error(r, missing)
  assert _snapshot(workdir) == before


def test_bad_batch_size_writes_nothing(mnist, tmp_path):
  r = _run(*_tiny(mnist), '--config.train.batch_size=0',
           f'--workdir={tmp_path / "run"}')
  _one_error(r, 'train.batch_size')
  assert not (tmp_path / 'run').exists()


@pytest.mark.parametrize('config,field,value,match', [
    # A multi-run driver writes its top config before any run trains.
    ('fsdd_voices.py:loso,smoke', 'train.lr_schedule', 'cosine',
     'train.plateau_factor=0'),
    ('gan_300.py:smoke', 'train.lr_schedule', 'cosine', 'constant rates'),
    ('mfcc_fsdd.py:baseline,smoke', 'baseline.train.lr_schedule', 'linear',
     'unknown'),
])
def test_bad_lr_schedule_writes_nothing(tmp_path, config, field, value, match):
  r = _run(f'--config=configs/{config}', f'--config.{field}={value}',
           f'--workdir={tmp_path / "run"}')
  _one_error(r, f'{field}={value!r}', match)
  assert not (tmp_path / 'run').exists()


# 10. Other data on resume.
def test_resume_on_other_mnist_images_is_refused(run_copy, tmp_path):
  other = _mnist_root(tmp_path / 'other', seed=5)
  before = _snapshot(run_copy)
  _one_error(_run(*_tiny(other), f'--workdir={run_copy}'),
             f'data.dir={other}', 'data.json', 'force')
  assert _snapshot(run_copy) == before


def test_resume_on_other_recordings_is_refused(mfcc_run, tmp_path):
  _, cache_dir, workdir = mfcc_run
  other = tmp_path / 'data'
  write_recordings(other / 'fsdd' / 'recordings', seed=1)
  before = _snapshot(workdir)
  _one_error(_run(*_mfcc(other, cache_dir), f'--workdir={workdir}'),
             f'data.dir={other}', 'recordings')
  assert _snapshot(workdir) == before


# 11. A NaN loss after good epochs.
def test_nan_after_good_epochs_keeps_their_checkpoints(mnist, tmp_path):
  config = tiny_attention_config(mnist, epochs=2)
  model = nets.get_model(config.model, config.defaults)
  splits = data.get_dataset(config.data)
  good, _ = trainer.fit(config, str(tmp_path), model, splits)
  metrics = (tmp_path / 'metrics.jsonl').read_bytes()
  config.train.epochs = 4
  splits.x_train[3] = np.nan
  with pytest.raises(errors.NonFiniteLossError, match='epoch 3: non-finite'):
    trainer.fit(config, str(tmp_path), model, splits)
  assert (tmp_path / 'metrics.jsonl').read_bytes() == metrics
  ckpts = checkpoint.Checkpoints(str(tmp_path), read_only=True)
  assert ckpts.latest.all_steps() == [1, 2]
  ckpts.close()
  kept = common.restore_state(str(tmp_path), config, model,
                              splits.x_test[:1], 'latest')
  assert int(kept.step) == int(good.step)
  for p, q in zip(np.asarray(good.params['Dense_1']['kernel']),
                  np.asarray(kept.params['Dense_1']['kernel'])):
    np.testing.assert_array_equal(p, q)
