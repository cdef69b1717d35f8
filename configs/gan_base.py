"""python main.py --config=configs/gan_base.py:judge --workdir=runs/mnist_judge

Fields every conditional-DCGAN config shares (configs/gan_300.py etc. call
`get_gan_config`). Its own `get_config` has one variant, `judge`:
the Table-2 CNN trained on all 60k real images in the GAN's [-1, 1] pixel
range, which eval/gan_quality.py uses to score samples (class consistency,
Frechet distance of its penultimate features).
"""

import ml_collections

from configs import base
from data import augment
import errors


def all_or_int(value):
  """A per-class count where None means the whole split: typed, so that
  `--config.data.train_per_class=100` can override a None."""
  return ml_collections.config_dict.placeholder(int) if value is None else value


def get_gan_config(arg, train_per_class, augment_per_class=0):
  """GAN on `train_per_class` real MNIST images per class (None: all 60k)
  plus `augment_per_class` augmented ones; `arg` may be 'smoke'."""
  arg = base.parse_arg(arg, variants=('smoke',))
  config = base.get_base_config()
  config.experiment = 'gan'
  config.seed = 0
  config.data.train_per_class = all_or_int(train_per_class)
  config.data.test_per_class = 200  # the seed's Table-5 test set
  config.data.subset_seed = 0
  config.data.val = 'test'
  config.data.pixel_range = (-1.0, 1.0)  # the generator's tanh range
  # Extra augmented images per class added to the real ones (Table 6's
  # pipeline); 0: none. Their transforms are config.augment.
  config.data.augment_per_class = augment_per_class
  if augment_per_class:
    config.augment = augment.default_config()
    config.augment.pixel_range = config.data.pixel_range

  config.generator = ml_collections.ConfigDict()
  config.generator.name = 'gan_generator'
  config.generator.embed_dim = 50
  config.generator.features = (256, 128, 64)
  config.generator.dropout = 0.3
  config.generator.bn_momentum = 0.9
  # Same numbers whichever impl; 'auto' picks the fastest measured per
  # platform (nets/gan.py, docs/benchmarks.md).
  config.generator.upsample = 'auto'

  config.discriminator = ml_collections.ConfigDict()
  config.discriminator.name = 'gan_discriminator'
  config.discriminator.embed_dim = 50
  config.discriminator.features = (64, 128, 256)
  config.discriminator.dropout = 0.3
  config.discriminator.downsample = 'auto'

  # The generator's and the discriminator's Adam (the seed's Table 4).
  config.opt = base.get_opt(learning_rate=2e-4, b1=0.5)

  # The auxiliary classifier: pre-trained with trainer.fit on the GAN's real
  # training images (<workdir>/aux) unless `pretrained` names a run directory
  # of the same model (e.g. one made with this group as a supervised config).
  config.aux = ml_collections.ConfigDict()
  config.aux.pretrained = ''
  config.aux.model = ml_collections.ConfigDict()
  config.aux.model.name = 'mobilenet_v2'
  config.aux.model.width = 1.0
  config.aux.model.dropout = 0.5
  config.aux.opt = base.get_opt()
  config.aux.train = base.get_train(epochs=10, batch_size=128,
                                    keep_checkpoints=1)
  config.aux.keep_training = True  # also a step on each real batch during the GAN

  config.train.epochs = 75
  config.train.batch_size = 128
  config.train.z_dim = 100
  # lambda of the generator's aux cross-entropy. The discriminator (the
  # seed's Table 4) sees the label only as f(x) + g(y), so class-consistent
  # samples come from this term alone; 1.0 from the start swamped the
  # adversarial term (textures, D won), see docs/gan.md.
  config.train.aux_weight = 0.1
  config.train.sample_every = 5  # epochs between sample grids
  config.train.keep_checkpoints = 2
  config.eval.grid_seed = 0
  if arg.smoke:
    smoke(config)
  return config


def smoke(config):
  """Shrinks `config` in place to a ~2-minute CPU run of the same pipeline."""
  config.data.train_per_class = min(config.data.train_per_class or 30, 30)
  config.data.test_per_class = 20
  config.data.augment_per_class = min(config.data.augment_per_class, 30)
  config.aux.model.width = 0.35
  config.aux.train.epochs = 1
  # A frozen classifier keeps its training step (and its compile) out of
  # the GAN step; tests cover aux.keep_training.
  config.aux.keep_training = False
  config.train.epochs = 2
  config.train.sample_every = 1
  return config


def get_config(arg=None):
  if not base.parse_arg(arg, variants=('judge',)).judge:
    raise errors.ConfigError(
        'configs/gan_base.py: needs its variant, configs/gan_base.py:judge')
  config = base.get_base_config()
  config.data.train_per_class = all_or_int(None)
  config.data.test_per_class = all_or_int(None)
  config.data.subset_seed = 0
  config.data.val = 'test'
  config.data.pixel_range = (-1.0, 1.0)
  config.model.name = 'base'
  config.model.dropout = 0.5
  config.train.epochs = 3
  config.train.batch_size = 128
  return config
