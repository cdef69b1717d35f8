"""python main.py --config=configs/gan_1000.py --workdir=runs/gan_1000

Conditional DCGAN on Reduced MNIST, 1000 real images per class (the seed's
Problem 3, Tables 4-5). `:smoke` is a ~2-minute CPU run of the same pipeline:
  python main.py --config=configs/gan_1000.py:smoke --workdir=runs/gan_1000_smoke
"""

from configs import gan_base


def get_config(arg=None):
  return gan_base.get_gan_config(arg, train_per_class=1000)
