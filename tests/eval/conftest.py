"""Tiny trained runs that eval scripts read back: MNIST, spectrogram, MFCC,
voices."""

import types

import pytest

from configs import fsdd_voices
from configs import mfcc_fsdd
from configs import spectrogram_cnn
import data
import experiments
from experiments import mfcc
from experiments import supervised
from tests import conftest
from tests.data import fsdd_fakes
from train import workdir as workdir_lib


def _run(workdir):
  """The run in `workdir`: its path, config (as config.json has it), data."""
  config = workdir_lib.load_config(str(workdir))
  return types.SimpleNamespace(workdir=str(workdir), config=config,
                               splits=data.get_dataset(config.data))


@pytest.fixture(scope='session')
def mnist_run(tmp_path_factory):
  """The 4A base CNN, 2 epochs on fake MNIST (20/class train, 5/class test)."""
  root = tmp_path_factory.mktemp('mnist_run')
  config = conftest.tiny_attention_config(
      conftest.write_fake_mnist(root / 'data'), epochs=2)
  supervised.train_and_evaluate(config, str(root / 'run'))
  return _run(root / 'run')


@pytest.fixture(scope='session')
def fake_fsdd_root(tmp_path_factory):
  root = tmp_path_factory.mktemp('fsdd') / 'data'
  fsdd_fakes.write_recordings(root / 'fsdd' / 'recordings')
  return root


@pytest.fixture(scope='session')
def spectrogram_run(fake_fsdd_root, tmp_path_factory):
  """A LeNet on 32x32 spectrograms of the fake recordings, 2 epochs."""
  root = tmp_path_factory.mktemp('spectrogram_run')
  config = spectrogram_cnn.get_config('lenet,smoke')
  config.data.update(dir=str(fake_fsdd_root), cache_dir=str(root / 'cache'),
                     n_mels=32, frames=32, n_fft=256, train_fraction=1.0)
  config.train.update(epochs=2, batch_size=32, progress=False)
  config.eval.batch_size = 64
  supervised.train_and_evaluate(config, str(root / 'run'))
  return _run(root / 'run')


@pytest.fixture(scope='session')
def mfcc_run(fake_fsdd_root, tmp_path_factory):
  """The MFCC baseline stage of a smoke MFCC run on the fake recordings."""
  root = tmp_path_factory.mktemp('mfcc_run')
  config = mfcc_fsdd.get_config('baseline,smoke')
  config.data.update(dir=str(fake_fsdd_root), cache_dir=str(root / 'cache'))
  config.splits = ('random',)
  config.train.progress = False
  mfcc.run(config, str(root / 'run'))
  return _run(root / 'run' / 'random' / 'seed0' / 'baseline' / 'mlp')


@pytest.fixture(scope='session')
def voices_workdir(fake_fsdd_root, tmp_path_factory):
  """The voices driver on the fake recordings, random split, 16 mels x 16
  frames, a one-block net, 1 epoch: runs full/seed0 (normalize='utterance')
  and no_utterance_norm/seed0 ('train'). Same shapes: one compilation."""
  root = tmp_path_factory.mktemp('voices_run')
  config = fsdd_voices.get_config('random')
  config.seeds = 1
  config.ablation.variants = ('full', 'no_utterance_norm')
  config.data.update(dir=str(fake_fsdd_root), allow_download=False, n_mels=16,
                     frames=16, speed_perturb=(),
                     cache_dir=str(root / 'cache'))
  config.model.update(stem=4, widths=(8,))
  config.train.update(epochs=1, batch_size=32, progress=False)
  config.eval.batch_size = 64
  experiments.run(config, str(root / 'run'))
  return root / 'run'


@pytest.fixture(scope='session')
def voices_run(voices_workdir):
  """The full recipe's run (data.normalize='utterance')."""
  return _run(voices_workdir / 'full' / 'seed0')


@pytest.fixture(scope='session')
def voices_train_run(voices_workdir):
  """The no_utterance_norm run (data.normalize='train')."""
  return _run(voices_workdir / 'no_utterance_norm' / 'seed0')
