"""Experiment entry points, picked by `config.experiment`."""

import errors


def _attention_sweep(config, workdir):
  from train import attention_sweep  # pylint: disable=g-import-not-at-top
  return attention_sweep.run(config, workdir)


def _supervised(config, workdir):
  from train import supervised  # pylint: disable=g-import-not-at-top
  return supervised.train_and_evaluate(config, workdir)


EXPERIMENTS = {
    'supervised': _supervised,
    'attention_sweep': _attention_sweep,
}


def run(config, workdir):
  """Runs the entry point config.experiment names."""
  if config.experiment not in EXPERIMENTS:
    raise errors.ConfigError(
        f'experiment={config.experiment!r}: unknown; choices: '
        f'{sorted(EXPERIMENTS)}')
  return EXPERIMENTS[config.experiment](config, workdir)
