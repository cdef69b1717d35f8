"""Fields every experiment shares, and the helpers every config file uses.

`parse_arg` reads a config file's argument (`configs/x.py:variant,key=value`,
as big_vision's configs do); `derive` makes the child config of one stage or
one run of a sweep from its parent.
"""

import importlib
import os

import ml_collections

import data
import errors

class UnknownArgError(errors.ConfigError):
  """A config-file argument that is none of the file's `choices`."""

  def __init__(self, word, choices):
    super().__init__(f'config argument {word!r}: unknown; choices: '
                     f'{", ".join(choices) or "none"}')
    self.choices = choices

def parse_arg(arg, variants=(), **defaults):
  """`a,b,key=value` -> ConfigDict of `defaults` with variants set to True.

  Each bare word must be one of `variants`; each key=value must name a key of
  `defaults`, and its value is converted to that default's type. Anything
  else is an UnknownArgError naming the config file's choices.
  """
  fields = dict({v: False for v in variants}, **defaults)
  for word in (arg or '').split(','):
    if not word:
      continue
    key, eq, value = word.partition('=')
    if not eq and key in variants:
      fields[key] = True
    elif eq and key in defaults:
      kind = type(defaults[key])
      fields[key] = value.lower() in ('1', 'true') if kind is bool else kind(value)
    else:
      raise UnknownArgError(word, [*variants, *(f'{k}=' for k in defaults)])
  return ml_collections.ConfigDict(fields)


def describe_configs():
  """'  <file>.py  <its variants>' per config file of this folder (--help).

  The variants are what each file's parse_arg accepts, found by asking it
  for one it does not know, so the list cannot drift from the files.
  """
  folder = os.path.dirname(os.path.abspath(__file__))
  lines = []
  for name in sorted(os.listdir(folder)):
    if not name.endswith('.py') or name == 'base.py':
      continue
    module = importlib.import_module(f'configs.{name[:-3]}')
    try:
      module.get_config('-')
      choices = []
    except UnknownArgError as e:
      choices = e.choices
    lines.append(f'  {name:<20} {", ".join(choices)}')
  return '\n'.join(lines)


def derive(config, keep=None, **overrides):
  """A copy of `config` with dotted-path overrides: derive(c, **{'model.name': 'se'}).

  keep: the top-level fields to copy (default all), so that a stage's child
  holds only what shapes that stage. Used for every child config (a sweep's
  runs, a grid's cells, the stages of a multi-stage experiment), so each
  child's config.json describes exactly the run it belongs to.
  """
  parent = config.to_dict()
  child = ml_collections.ConfigDict(
      {k: v for k, v in parent.items() if keep is None or k in keep})
  for path, value in overrides.items():
    *parents, leaf = path.split('.')
    node = child
    for p in parents:
      node = node[p]
    node[leaf] = value.to_dict() if hasattr(value, 'to_dict') else value
  return child


def get_opt(**overrides):
  """The optimizer group `train.optim.make_optimizer` reads: Keras' Adam."""
  opt = ml_collections.ConfigDict()
  opt.name = 'adam'
  opt.learning_rate = 1e-3
  # Keras' Adam defaults (eps 1e-7), which the study used.
  opt.b1 = 0.9
  opt.b2 = 0.999
  opt.eps = 1e-7
  opt.momentum = 0.0
  opt.weight_decay = 0.0  # decoupled, for name='adamw'
  # Gradient clipping; 0: off. Per variable (Keras' clipnorm) with
  # config.defaults='keras', by the global norm with 'flax'.
  opt.clip_norm = 0.0
  opt.update(overrides)
  return opt


def get_train(**overrides):
  """The loop's fields: schedule, loss, regularisation, stopping, checkpoints."""
  train = ml_collections.ConfigDict()
  train.epochs = 10
  train.batch_size = 32
  train.loss = 'softmax_xent'
  train.label_smoothing = 0.0
  train.l2 = 0.0  # Keras-style L2 added to the loss
  train.l2_pattern = 'kernel'  # regex on param paths the L2 applies to
  train.monitor = 'val_loss'
  train.min_delta = 0.0
  train.patience = 0  # early stopping; 0: off
  train.restore_best = False
  train.plateau_factor = 0.0  # reduce-LR-on-plateau; 0: off
  train.plateau_patience = 3
  train.plateau_min_lr = 0.0
  # 'cosine': opt.learning_rate decayed over train.epochs, set each epoch
  # (trainer.epoch_lr); needs plateau_factor=0.
  train.lr_schedule = 'constant'
  train.keep_checkpoints = 2
  train.progress = True
  train.update(overrides)
  return train


def get_base_config():
  """Defaults: Keras-like Adam, no regularisation, no early stopping."""
  config = ml_collections.ConfigDict()
  config.experiment = 'supervised'
  config.seed = 0
  # Seeds trained one after another by drivers that loop (sweeps, grids):
  # seed .. seed + seeds - 1.
  config.seeds = 1
  # Independent replicas trained together in one vmapped computation:
  # seeds seed .. seed + replicas - 1.
  config.replicas = 1
  # Resume a workdir whose config.json differs (the differing fields win).
  config.force = False
  # 'keras': what the study ran (Keras' initialisers and norm constants,
  # per-variable clipnorm, L2 inside reported losses); 'flax': Flax's, as
  # every run made before this field (nets/defaults.py).
  config.defaults = 'keras'

  config.data = ml_collections.ConfigDict()
  config.data.name = 'reduced_mnist'
  config.data.dir = data.DEFAULT_DIR
  config.data.allow_download = True
  # 'auto': files in data.dir, fetched there if missing (python -m data.fetch);
  # 'tfds': MNIST through tensorflow-datasets (needs TensorFlow).
  config.data.source = 'auto'

  config.model = ml_collections.ConfigDict()
  config.model.name = 'base'

  config.opt = get_opt()
  config.train = get_train()

  config.eval = ml_collections.ConfigDict()
  # A power of two divides evenly over any usual device count.
  config.eval.batch_size = 512
  return config
