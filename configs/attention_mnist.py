"""python main.py --config=configs/attention_mnist.py --config.model.name=se --workdir=runs/se

Problem 4A: attention CNNs on Reduced MNIST (500/class train, 100/class test,
the test set doubling as validation as in the study). `:sweep` trains every
model of `sweep.models` for `seeds` seeds (one after another) and writes Table 10:
  python main.py --config=configs/attention_mnist.py:sweep --workdir=runs/attention
"""

import ml_collections

from configs import base


def get_config(arg=None):
  arg = base.parse_arg(arg, variants=('sweep',))
  config = base.get_base_config()
  config.seed = 4
  config.data.train_per_class = 500
  config.data.test_per_class = 100
  config.data.subset_seed = 4
  config.data.val = 'test'
  config.data.pixel_range = (0.0, 1.0)
  config.data.train_folder = ''  # Kaggle layout <folder>/<digit>/*.jpg
  config.data.test_folder = ''

  config.model.name = 'base'
  config.model.dropout = 0.3

  config.train.epochs = 10
  config.train.batch_size = 32

  config.sweep = ml_collections.ConfigDict()
  config.sweep.models = ('base', 'spatial', 'self_attention', 'cbam', 'se')
  if arg.sweep:
    config.experiment = 'attention_sweep'
    config.seeds = 3
  return config
