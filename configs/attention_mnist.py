"""python main.py --config=configs/attention_mnist.py --config.model.name=se --workdir=runs/se

Problem 4A: attention CNNs on Reduced MNIST (500/class train, 100/class test,
the test set doubling as validation as in the study). `:sweep` trains every
model of `sweep.models` for `seeds` seeds (one after another) and writes Table 10:
  python main.py --config=configs/attention_mnist.py:sweep --workdir=runs/attention

The blocks follow the study's text (docs/defaults.md, "The study's protocols"):
self-attention without a residual (Table 8: MultiHeadAttention ->
LayerNormalization) and CBAM's channel gate on average pooling only (section
5.2.2). `ours` restores this codebase's earlier blocks (a residual before the
LayerNorm, avg + max pooling); --config.model.attention_residual=True and
--config.model.channel_pool=avg_max set each alone.
"""

import ml_collections

from configs import base


def get_config(arg=None):
  arg = base.parse_arg(arg, variants=('sweep', 'ours'))
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
  config.model.attention_residual = False
  config.model.channel_pool = 'avg'  # nets.attention.CHANNEL_POOLS

  config.train.epochs = 10
  config.train.batch_size = 32

  config.sweep = ml_collections.ConfigDict()
  config.sweep.models = ('base', 'spatial', 'self_attention', 'cbam', 'se')
  if arg.sweep:
    config.experiment = 'attention_sweep'
    # A 10-epoch run takes under a minute on a 2-core CPU (README).
    config.seeds = 5
  if arg.ours:
    config.model.attention_residual = True
    config.model.channel_pool = 'avg_max'
  return config
