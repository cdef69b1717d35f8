"""Models, picked by `config.model.name` from MODELS."""

import functools

import errors
from nets import cnn

MODELS = {
    'base': functools.partial(cnn.AttentionCNN, block=None),
    'spatial': functools.partial(cnn.AttentionCNN, block='spatial'),
    'self_attention': functools.partial(cnn.AttentionCNN, block='self_attention'),
    'cbam': functools.partial(cnn.AttentionCNN, block='cbam'),
    'se': functools.partial(cnn.AttentionCNN, block='se'),
}


def get_model(cfg):
  """Builds MODELS[cfg.name] with the other fields of cfg as its arguments."""
  if cfg.name not in MODELS:
    raise errors.ConfigError(
        f'model.name={cfg.name!r}: unknown model; choices: {sorted(MODELS)}')
  kwargs = {k: v for k, v in cfg.items() if k != 'name'}
  try:
    return MODELS[cfg.name](**kwargs)
  except TypeError as e:
    raise errors.ConfigError(f'model.{cfg.name}: {e}') from e
