"""python main.py --config=configs/gan_full.py --workdir=runs/gan_full

Conditional DCGAN on all 60,000 MNIST training images (the seed's general
GAN of Table 5). `:smoke` is a ~2-minute CPU run of the same pipeline:
  python main.py --config=configs/gan_full.py:smoke --workdir=runs/gan_full_smoke
"""

from configs import gan_base


def get_config(arg=None):
  return gan_base.get_gan_config(arg, train_per_class=None)
