"""Experiment entry points, picked by `config.experiment`."""

import errors


def _augment_grid(config, workdir):
  from train import augment_grid  # pylint: disable=g-import-not-at-top
  return augment_grid.run(config, workdir)


def _attention_sweep(config, workdir):
  from train import attention_sweep  # pylint: disable=g-import-not-at-top
  return attention_sweep.run(config, workdir)


def _gan(config, workdir):
  from train import gan  # pylint: disable=g-import-not-at-top
  return gan.train_and_evaluate(config, workdir)


def _mfcc(config, workdir):
  from train import mfcc  # pylint: disable=g-import-not-at-top
  return mfcc.run(config, workdir)


def _spectrogram(config, workdir):
  from train import spectrogram  # pylint: disable=g-import-not-at-top
  return spectrogram.run(config, workdir)


def _supervised(config, workdir):
  from train import supervised  # pylint: disable=g-import-not-at-top
  return supervised.train_and_evaluate(config, workdir)


EXPERIMENTS = {
    'supervised': _supervised,
    'spectrogram': _spectrogram,
    'mfcc': _mfcc,
    'attention_sweep': _attention_sweep,
    'augment_grid': _augment_grid,
    'gan': _gan,
}


def run(config, workdir):
  """Runs the entry point config.experiment names."""
  if config.experiment not in EXPERIMENTS:
    raise errors.ConfigError(
        f'experiment={config.experiment!r}: unknown; choices: '
        f'{sorted(EXPERIMENTS)}')
  return EXPERIMENTS[config.experiment](config, workdir)
