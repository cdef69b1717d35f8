"""Models, picked by `config.model.name` from MODELS."""

import functools

import errors
from nets import cnn
from nets import defaults as defaults_lib
from nets import gan
from nets import lenet
from nets import mlp
from nets import mobilenet
from nets import resnet

MODELS = {
    'base': functools.partial(cnn.AttentionCNN, block=None),
    'spatial': functools.partial(cnn.AttentionCNN, block='spatial'),
    'self_attention': functools.partial(cnn.AttentionCNN, block='self_attention'),
    'cbam': functools.partial(cnn.AttentionCNN, block='cbam'),
    'se': functools.partial(cnn.AttentionCNN, block='se'),
    'lenet': lenet.LeNet,
    'lenet_cbam': functools.partial(lenet.LeNet, block='cbam'),
    'lenet_hybrid': functools.partial(
        lenet.LeNet, block='hybrid', conv_dropout=0.1, dense_dropout=0.5),
    'mobilenet_v2': mobilenet.MobileNetV2,
    'voice_resnet': resnet.VoiceResNet,
    'gan_generator': gan.Generator,
    'gan_discriminator': gan.Discriminator,
    'mlp': mlp.MLP,
    'autoencoder': mlp.Autoencoder,
    'frame_autoencoder': functools.partial(
        mlp.Autoencoder, hidden=128, bottleneck=32),
    'merger': functools.partial(mlp.MLP, features=(64,), num_classes=32),
}


def get_model(cfg, defaults):
  """Builds MODELS[cfg.name] from cfg's other fields and `defaults` (a name)."""
  if cfg.name not in MODELS:
    raise errors.ConfigError(
        f'model.name={cfg.name!r}: unknown model; choices: {sorted(MODELS)}')
  defaults_lib.get(defaults)  # a bad name fails here, before any tracing
  kwargs = {k: v for k, v in cfg.items() if k != 'name'}
  kwargs['defaults'] = defaults
  try:
    return MODELS[cfg.name](**kwargs)
  except TypeError as e:
    raise errors.ConfigError(f'model.{cfg.name}: {e}') from e
