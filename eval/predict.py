"""python -m eval.predict --workdir=RUN [--json] [--which=final] FILE...

Classifies files with a trained run, each preprocessed as the run's own
pipeline did (its config.json says how), by the data layer's own functions:
  MNIST runs (data.name reduced_mnist): 28x28 grayscale PNG/JPG images, a
    light digit on a dark background as in MNIST, scaled to data.pixel_range;
  spectrogram runs (fsdd_spectrogram): .wav recordings of one spoken digit,
    turned into the run's log-mel image (padded or cropped to the run's
    length, 1.016 s by default, as its training recordings were);
  the MFCC baseline (fsdd_mfcc_mean; the <split>/seed<k>/baseline/mlp run of
    an MFCC experiment): .wav recordings, their mean MFCC frame z-scored with
    the run's training statistics;
  voices runs (fsdd_logmel; the <variant>/[loso_<speaker>/]seed<k> runs of
    configs/fsdd_voices.py): .wav recordings, their log-mel features centred
    in the run's data.frames (padded with the clip's floor, or cropped about
    their centre, as its test recordings were) and normalised as its
    data.normalize says (per utterance, with the run's training statistics
    for 'train', or not at all).
Audio at a higher sample rate than the run's is resampled (unless the run has
data.on_other_rate=error). A lower rate (the upper band the model learnt from
is missing) and a recording longer than MAX_SECONDS (not one spoken digit:
FSDD's longest is 2.3 s) are errors rather than silently cut.

With --adapt the files are taken as recordings of one voice (at least
ADAPT_MIN_FILES), and the run's BatchNorm statistics are first re-estimated
on them, without labels (eval.adapt; on an unseen voice +5 points, measured
in docs/voices.md).

Prints `FILE: digit D (probability P)` per file, or with --json one JSON
object per line. A file of the wrong kind, rate or size is one `error:` line,
before any prediction is printed.
"""

import glob
import json
import os

from absl import app
from absl import flags
import numpy as np
import soundfile as sf

import data
from data import fsdd
from data import logmel
from data import mfcc
from data import mnist
from data import mnist_pipeline
from data import spectrogram
import errors
from eval import common
import nets
from train import evaluator as evaluator_lib
from train import state as state_lib
from train import workdir as workdir_lib

FLAGS = flags.FLAGS

MAX_SECONDS = 3.0
# --adapt's fewest files: docs/voices.md measured the gain with 10.
ADAPT_MIN_FILES = 10
MNIST_SIZE = (28, 28)


def read_audio(path, cfg):
  """One recording at cfg.sample_rate, mono float32, checked as above."""
  try:
    info = sf.info(path)
  except (sf.SoundFileError, RuntimeError) as e:
    raise errors.DataError(f'{path}: not readable audio ({e})') from e
  if info.samplerate < cfg.sample_rate:
    raise errors.DataError(
        f'{path}: sample rate {info.samplerate} Hz, below the '
        f'{cfg.sample_rate} Hz the run was trained at')
  if info.duration > MAX_SECONDS:
    raise errors.DataError(
        f'{path}: {info.duration:.1f} s long; one spoken digit takes at most '
        f'{MAX_SECONDS:g} s (cut the file to the digit)')
  return fsdd.load_audio(path, cfg.sample_rate, cfg.on_other_rate)


def mnist_reader(config, workdir):
  """(path -> model input, what the run takes) of an MNIST run."""
  del workdir

  def read(path):
    image = mnist.read_image(path)
    if image.shape != MNIST_SIZE:
      raise errors.DataError(
          f'{path}: {image.shape[1]}x{image.shape[0]} pixels, not 28x28')
    return mnist_pipeline.scale_pixels(image[None], config.data.pixel_range)[0]
  return read, '28x28 grayscale digit images (PNG/JPG)'


def spectrogram_reader(config, workdir):
  """(path -> model input, what the run takes) of a spectrogram run."""
  del workdir

  def read(path):
    wave = read_audio(path, config.data)
    return spectrogram.model_inputs(spectrogram.wave_image(wave, config.data))
  return read, '.wav recordings of one spoken digit'


def _zscore_stats(workdir, filename, from_data):
  """The z-score statistics the run kept in `filename` or, for a run made
  before it kept them, from_data(): its data again (data.dir must hold FSDD)."""
  path = os.path.join(workdir, filename)
  if not os.path.exists(path):
    return from_data()
  with open(path) as f:
    return json.load(f)


def mfcc_reader(config, workdir):
  """(path -> model input, what the run takes) of the MFCC baseline, with
  the run's z-score statistics (mfcc.ZSCORE_FILE)."""
  stats = _zscore_stats(workdir, mfcc.ZSCORE_FILE,
                        lambda: data.get_dataset(config.data).info)
  mean, std = np.asarray(stats['mean']), np.asarray(stats['std'])

  def read(path):
    frames = mfcc.mfcc(read_audio(path, config.data), config.data)
    return mfcc.mean_frames(mfcc.normalise([frames], mean, std))[0]
  return read, '.wav recordings of one spoken digit'


def logmel_reader(config, workdir):
  """(path -> model input, what the run takes) of a voices (log-mel) run;
  with data.normalize='train', the run's z-score statistics
  (logmel.ZSCORE_FILE)."""
  cfg = config.data
  zscore = None
  if cfg.normalize == 'train':
    stats = _zscore_stats(
        workdir, logmel.ZSCORE_FILE,
        lambda: data.get_dataset(cfg).info['run_files'][logmel.ZSCORE_FILE])
    # float32 as the pipeline computed them (JSON holds them exactly).
    zscore = tuple(np.asarray(stats[k], np.float32) for k in ('mean', 'std'))

  def read(path):
    mel = logmel.wave_log_mel(read_audio(path, cfg), cfg)
    return logmel.model_inputs([mel], cfg, zscore)[0]
  return read, '.wav recordings of one spoken digit'


READERS = {
    'reduced_mnist': mnist_reader,
    'fsdd_spectrogram': spectrogram_reader,
    'fsdd_mfcc_mean': mfcc_reader,
    'fsdd_logmel': logmel_reader,
}


def _check_run(workdir):
  """A run directory with checkpoints; a sweep's names one of its runs."""
  config = workdir_lib.load_config(workdir)
  if os.path.isdir(os.path.join(workdir, 'checkpoints')):
    return config
  runs = sorted(glob.glob(os.path.join(workdir, '*', '**', 'checkpoints'),
                          recursive=True))
  hint = (f'; it holds runs such as --workdir={os.path.dirname(runs[0])}'
          if runs else '')
  raise errors.CheckpointError(f'{workdir}: no checkpoints{hint}')


def predict(workdir, paths, which='final', data_dir=None, adapt=False):
  """[{file, digit, probability, probabilities}] of each file in `paths`.

  A replicated run (config.replicas > 1) predicts with the mean of its
  replicas' probabilities. adapt: re-estimate the BatchNorm statistics on
  the files first (one voice, at least ADAPT_MIN_FILES of them).
  """
  if not paths:
    raise errors.ConfigError('no files given: python -m eval.predict '
                             '--workdir=RUN FILE...')
  if adapt and len(paths) < ADAPT_MIN_FILES:
    raise errors.ConfigError(
        f'--adapt: {len(paths)} file(s); re-estimating BatchNorm statistics '
        f'needs at least {ADAPT_MIN_FILES} recordings of the voice')
  config = _check_run(workdir)
  if data_dir:
    config.data.dir = data_dir
  name = config.data.get('name')
  if name not in READERS:
    raise errors.ConfigError(
        f'{workdir}: a run on data.name={name!r}; eval.predict takes runs on '
        f'{sorted(READERS)}')
  read, takes = READERS[name](config, workdir)
  inputs = []
  for path in paths:
    if not os.path.isfile(path):
      raise errors.DataError(f'{path}: no such file')
    try:
      inputs.append(read(path))
    except errors.DataError as e:
      raise errors.DataError(f'{e}; this run takes {takes}') from e
  x = np.stack(inputs)
  replicated = len(state_lib.replica_seeds(config)) > 1
  state = common.restore_state(
      workdir, config, nets.get_model(config.model, config.defaults), x[:1],
      which)
  if adapt:
    if replicated or not state.batch_stats:
      raise errors.ConfigError(
          f'{workdir}: --adapt takes a single-seed run of a model with '
          'BatchNorm')
    state = evaluator_lib.adapt_batch_stats(state, x)
  probs = evaluator_lib.probabilities(state, x, config.eval.batch_size,
                                      replicated)
  if replicated:
    probs = probs.mean(axis=0)
  return [{'file': path, 'digit': int(p.argmax()),
           'probability': float(p.max()), 'probabilities': p.tolist()}
          for path, p in zip(paths, probs)]


@common.cli
def main(argv):
  for row in predict(FLAGS.workdir, argv[1:], FLAGS.which, FLAGS.data_dir,
                     FLAGS.adapt):
    if FLAGS.json:
      print(json.dumps(row))
    else:
      print(f'{row["file"]}: digit {row["digit"]} '
            f'(probability {row["probability"]:.3f})')


if __name__ == '__main__':
  flags.DEFINE_string('workdir', None, 'Run directory written by main.py.')
  flags.DEFINE_bool('json', False, 'One JSON object per file instead of text.')
  flags.DEFINE_enum('which', 'final', ['final', 'latest', 'best'],
                    'Which checkpoint to predict with.')
  flags.DEFINE_bool('adapt', False,
                    'Re-estimate BatchNorm statistics on the files (one '
                    f'voice, at least {ADAPT_MIN_FILES}) before predicting.')
  flags.DEFINE_string('data_dir', None,
                      'Data root instead of the run\'s data.dir (only read '
                      'for MFCC and data.normalize=train log-mel runs that '
                      'lack their z-score file).')
  flags.mark_flag_as_required('workdir')
  app.run(main)
