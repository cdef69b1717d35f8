"""python main.py --config=configs/gan_300.py --workdir=runs/gan_300

Conditional DCGAN on Reduced MNIST, 300 real images per class (the seed's
Problem 3, Tables 4-5). `:smoke` is a ~2-minute CPU run of the same pipeline:
  python main.py --config=configs/gan_300.py:smoke --workdir=runs/gan_300_smoke
"""

from configs import gan_base


def get_config(arg=None):
  return gan_base.get_gan_config(arg, train_per_class=300)
