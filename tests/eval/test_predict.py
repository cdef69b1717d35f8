"""eval.predict: files in, the run's own preprocessing, one line per file."""

import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest
import soundfile as sf

from configs import fsdd_voices
import data
from data import logmel
from data import mfcc as mfcc_data
from data import mnist
import errors
from eval import common
from eval import predict
import nets
from tests.data import fsdd_fakes
from train import evaluator

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _pipeline_probabilities(run, x):
  """What the run's model says on inputs its data pipeline made."""
  state = common.restore_state(run.workdir, run.config,
                               nets.get_model(run.config.model,
                                              run.config.defaults), x[:1])
  return evaluator.probabilities(state, x, 64)


def _probabilities(rows):
  return np.array([r['probabilities'] for r in rows])


def test_png_is_read_as_the_mnist_pipeline_reads_idx(mnist_run, tmp_path):
  splits = mnist_run.splits
  images, _ = mnist.read_idx_split(
      os.path.join(mnist_run.config.data.dir, 'mnist'), 'test')
  paths = []
  for i in range(3):
    paths.append(str(tmp_path / f'{i}.png'))
    Image.fromarray(images[splits.info['test_indices'][i]]).save(paths[-1])
  rows = predict.predict(mnist_run.workdir, paths)
  expected = _pipeline_probabilities(mnist_run, splits.x_test[:3])
  np.testing.assert_allclose(_probabilities(rows), expected, atol=1e-6)
  assert [r['digit'] for r in rows] == list(expected.argmax(-1))
  assert [r['file'] for r in rows] == paths
  for r in rows:
    assert r['probability'] == max(r['probabilities'])
    assert sum(r['probabilities']) == pytest.approx(1.0, abs=1e-5)


def test_wav_is_read_as_the_spectrogram_pipeline_reads_it(spectrogram_run):
  splits = spectrogram_run.splits
  paths = splits.info['test_files'][:4]
  rows = predict.predict(spectrogram_run.workdir, paths)
  np.testing.assert_allclose(
      _probabilities(rows),
      _pipeline_probabilities(spectrogram_run, splits.x_test[:4]), atol=1e-5)


def test_wav_is_read_as_the_mfcc_baseline_reads_it(mfcc_run):
  splits = mfcc_run.splits
  recordings = mfcc_data.select_recordings(mfcc_run.config.data)
  paths = [recordings[i].path for i in splits.info['indices']['test'][:4]]
  expected = _pipeline_probabilities(mfcc_run, splits.x_test[:4])
  rows = predict.predict(mfcc_run.workdir, paths)
  np.testing.assert_allclose(_probabilities(rows), expected, atol=1e-5)
  # A run made before the z-score file existed recomputes its statistics.
  zscore = os.path.join(mfcc_run.workdir, mfcc_data.ZSCORE_FILE)
  saved = open(zscore).read()
  os.remove(zscore)
  try:
    rows = predict.predict(mfcc_run.workdir, paths)
  finally:
    with open(zscore, 'w') as f:
      f.write(saved)
  np.testing.assert_allclose(_probabilities(rows), expected, atol=1e-5)


def _logmel_inputs(config, workdir, paths):
  read, _ = predict.READERS['fsdd_logmel'](config, workdir)
  return np.stack([read(p) for p in paths])


@pytest.mark.parametrize('normalize', ['utterance', 'band', 'train', 'none'])
def test_wav_is_read_as_the_logmel_pipeline_reads_it(
    normalize, voices_run, voices_train_run):
  run = voices_train_run if normalize == 'train' else voices_run
  config = run.config.copy_and_resolve_references()
  config.data.normalize = normalize
  splits = data.get_dataset(config.data)
  paths = splits.info['test_files']
  # The fake recordings (0.1-0.3 s) give 7-19 frames: some are padded to the
  # 16 frames, some cropped.
  frames = [1 + sf.info(p).frames // config.data.hop_length for p in paths]
  assert min(frames) < config.data.frames < max(frames)
  np.testing.assert_array_equal(
      _logmel_inputs(config, run.workdir, paths), splits.x_test)


@pytest.mark.parametrize('run_name', ['voices_run', 'voices_train_run'])
def test_a_voices_run_predicts_as_on_its_pipeline_inputs(run_name, request):
  run = request.getfixturevalue(run_name)
  paths = run.splits.info['test_files'][:4]
  rows = predict.predict(run.workdir, paths)
  np.testing.assert_allclose(
      _probabilities(rows),
      _pipeline_probabilities(run, run.splits.x_test[:4]), atol=1e-5)


def test_adapt_re_estimates_batchnorm_on_the_files_first(voices_run):
  paths = voices_run.splits.info['test_files'][:predict.ADAPT_MIN_FILES]
  x = voices_run.splits.x_test[:len(paths)]
  state = common.restore_state(
      voices_run.workdir, voices_run.config,
      nets.get_model(voices_run.config.model, voices_run.config.defaults),
      x[:1])
  adapted = evaluator.probabilities(evaluator.adapt_batch_stats(state, x), x,
                                    64)
  rows = predict.predict(voices_run.workdir, paths, adapt=True)
  np.testing.assert_allclose(_probabilities(rows), adapted, atol=1e-5)
  assert np.abs(adapted - _pipeline_probabilities(voices_run, x)).max() > 1e-3
  with pytest.raises(errors.ConfigError, match='at least 10 recordings'):
    predict.predict(voices_run.workdir, paths[:9], adapt=True)


def test_a_train_normalised_voices_run_keeps_its_statistics(
    voices_run, voices_train_run):
  assert not os.path.exists(
      os.path.join(voices_run.workdir, logmel.ZSCORE_FILE))
  zscore = os.path.join(voices_train_run.workdir, logmel.ZSCORE_FILE)
  paths = voices_train_run.splits.info['test_files']
  # A run made before the z-score file existed recomputes its statistics.
  saved = open(zscore).read()
  os.remove(zscore)
  try:
    x = _logmel_inputs(voices_train_run.config, voices_train_run.workdir,
                       paths)
  finally:
    with open(zscore, 'w') as f:
      f.write(saved)
  np.testing.assert_array_equal(x, voices_train_run.splits.x_test)


@pytest.mark.parametrize('normalize', ['utterance', 'train'])
def test_shared_fsdd_wav_is_read_as_the_logmel_pipeline_reads_it(
    normalize, shared_fsdd, tmp_path):
  """Real recordings of two speakers at the recipe's full feature size; no
  run needed ('train' recomputes the statistics, as for an older run)."""
  config = fsdd_voices.get_config('loso')
  config.data.update(
      dir=str(fsdd_fakes.copy_two_speakers(shared_fsdd, tmp_path / 'data')),
      cache_dir=str(tmp_path / 'cache'), loso_fold=1, speed_perturb=(),
      normalize=normalize)
  splits = data.get_dataset(config.data)
  np.testing.assert_array_equal(
      _logmel_inputs(config, str(tmp_path), splits.info['test_files']),
      splits.x_test)


def _tone(path, seconds, rate):
  t = np.arange(int(seconds * rate)) / rate
  sf.write(path, (0.3 * np.sin(2 * np.pi * 500 * t)).astype(np.float32), rate)
  return str(path)


def test_audio_at_a_higher_rate_is_resampled(spectrogram_run, tmp_path):
  rows = predict.predict(spectrogram_run.workdir,
                         [_tone(tmp_path / 'a.wav', 0.3, 16000)])
  assert 0 <= rows[0]['digit'] <= 9


@pytest.mark.parametrize('run_name,make,match', [
    ('mnist_run', lambda d: _tone(d / 'a.wav', 0.3, 8000),
     r'a\.wav: unreadable image .*; this run takes 28x28 grayscale'),
    ('mnist_run', lambda d: Image.new('L', (32, 28)).save(d / 'a.png') or
     str(d / 'a.png'), r'a\.png: 32x28 pixels, not 28x28'),
    ('spectrogram_run', lambda d: Image.new('L', (28, 28)).save(d / 'a.png')
     or str(d / 'a.png'), r'a\.png: not readable audio .*; this run takes '
     r'\.wav recordings'),
    ('spectrogram_run', lambda d: _tone(d / 'a.wav', 0.3, 4000),
     r'a\.wav: sample rate 4000 Hz, below the 8000 Hz'),
    ('mfcc_run', lambda d: _tone(d / 'a.wav', 5.0, 8000),
     r'a\.wav: 5\.0 s long; one spoken digit takes at most 3 s'),
    ('voices_run', lambda d: _tone(d / 'a.wav', 3.5, 16000),
     r'a\.wav: 3\.5 s long; one spoken digit takes at most 3 s .*; this run '
     r'takes \.wav recordings'),
    ('mnist_run', lambda d: str(d / 'missing.png'), r'missing\.png: no such'),
])
def test_a_file_of_the_wrong_kind_rate_or_size_is_an_error(
    run_name, make, match, request, tmp_path):
  run = request.getfixturevalue(run_name)
  with pytest.raises(errors.DataError, match=match):
    predict.predict(run.workdir, [make(tmp_path)])


def test_a_sweep_directory_names_one_of_its_runs(mnist_run, tmp_path):
  sweep = tmp_path / 'sweep'
  (sweep / 'base').mkdir(parents=True)
  os.symlink(mnist_run.workdir, sweep / 'base' / 'seed4')
  with open(sweep / 'config.json', 'w') as f:
    json.dump(mnist_run.config.to_dict(), f)
  with pytest.raises(errors.CheckpointError,
                     match=r'sweep: no checkpoints; it holds runs such as '
                     r'--workdir=.*base/seed4'):
    predict.predict(str(sweep), ['x.png'])


def _cli(*args):
  return subprocess.run([sys.executable, '-m', 'eval.predict', *args],
                        cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_cli_prints_json_lines_and_one_line_errors(mnist_run, tmp_path):
  x = (mnist_run.splits.x_test[0, ..., 0] * 255).round().astype(np.uint8)
  Image.fromarray(x).save(tmp_path / 'digit.png')
  r = _cli(f'--workdir={mnist_run.workdir}', '--json',
           str(tmp_path / 'digit.png'), str(tmp_path / 'digit.png'))
  assert r.returncode == 0, r.stderr[-2000:]
  rows = [json.loads(line) for line in r.stdout.splitlines()]
  assert len(rows) == 2 and rows[0] == rows[1]
  assert rows[0]['digit'] == int(np.argmax(rows[0]['probabilities']))

  r = _cli(f'--workdir={mnist_run.workdir}', str(tmp_path / 'digit.png'))
  assert r.stdout == (f'{tmp_path}/digit.png: digit {rows[0]["digit"]} '
                      f'(probability {rows[0]["probability"]:.3f})\n')
  assert r.stderr == ''

  Image.new('RGB', (64, 64)).save(tmp_path / 'big.jpg')
  r = _cli(f'--workdir={mnist_run.workdir}', str(tmp_path / 'digit.png'),
           str(tmp_path / 'big.jpg'))
  assert r.returncode == 1 and r.stdout == ''
  assert r.stderr.splitlines() == [
      f'error: {tmp_path}/big.jpg: 64x64 pixels, not 28x28; this run takes '
      '28x28 grayscale digit images (PNG/JPG)']


def test_cli_predicts_with_a_voices_run_at_a_higher_rate_not_a_lower(
    voices_run, tmp_path):
  recording = voices_run.splits.info['test_files'][0]
  high_rate = _tone(tmp_path / '16k.wav', 0.5, 16000)
  r = _cli(f'--workdir={voices_run.workdir}', recording, high_rate)
  assert r.returncode == 0, r.stderr[-2000:]
  lines = r.stdout.splitlines()
  assert len(lines) == 2
  for path, line in zip((recording, high_rate), lines):
    assert re.fullmatch(rf'{re.escape(path)}: digit \d \(probability '
                        r'[01]\.\d{3}\)', line), line

  r = _cli(f'--workdir={voices_run.workdir}', recording,
           _tone(tmp_path / '4k.wav', 0.5, 4000))
  assert r.returncode == 1 and r.stdout == ''
  assert r.stderr.splitlines() == [
      f'error: {tmp_path}/4k.wav: sample rate 4000 Hz, below the 8000 Hz the '
      'run was trained at; this run takes .wav recordings of one spoken digit']
