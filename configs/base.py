"""Fields every experiment shares; experiment files override them."""

import os

import ml_collections

import errors

# Default data root: $DIGITS_DATA_DIR, else ../shared/data beside the project.
DEFAULT_DATA_DIR = os.environ.get(
    errors.DATA_ENV,
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                 '..', 'shared', 'data'))


def get_base_config():
  """Defaults: Keras-like Adam, no regularisation, no early stopping."""
  config = ml_collections.ConfigDict()
  config.experiment = 'supervised'
  config.seed = 0
  # Independent replicas trained together (vmapped): seeds seed..seed+seeds-1.
  config.seeds = 1

  config.data = ml_collections.ConfigDict()
  config.data.name = 'reduced_mnist'
  config.data.dir = DEFAULT_DATA_DIR
  config.data.allow_download = True
  # 'auto': files in data.dir, fetched there if missing (python -m data.fetch);
  # 'tfds': MNIST through tensorflow-datasets (needs TensorFlow).
  config.data.source = 'auto'

  config.model = ml_collections.ConfigDict()
  config.model.name = 'base'

  config.train = ml_collections.ConfigDict()
  config.train.epochs = 10
  config.train.batch_size = 32
  config.train.loss = 'softmax_xent'
  config.train.label_smoothing = 0.0
  config.train.optimizer = 'adam'
  config.train.learning_rate = 1e-3
  # Keras' Adam defaults (eps 1e-7), which the study used.
  config.train.b1 = 0.9
  config.train.b2 = 0.999
  config.train.eps = 1e-7
  config.train.momentum = 0.0
  config.train.weight_decay = 0.0  # decoupled, for optimizer='adamw'
  config.train.l2 = 0.0  # Keras-style L2 added to the loss
  config.train.l2_pattern = 'kernel'  # regex on param paths the L2 applies to
  config.train.grad_clip_norm = 0.0  # 0: no clipping
  config.train.monitor = 'val_loss'
  config.train.min_delta = 0.0
  config.train.patience = 0  # early stopping; 0: off
  config.train.restore_best = False
  config.train.plateau_factor = 0.0  # reduce-LR-on-plateau; 0: off
  config.train.plateau_patience = 3
  config.train.plateau_min_lr = 0.0
  config.train.keep_checkpoints = 2
  config.train.progress = True

  config.eval = ml_collections.ConfigDict()
  # A power of two divides evenly over any usual device count.
  config.eval.batch_size = 512
  return config
