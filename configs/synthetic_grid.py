"""python main.py --config=configs/synthetic_grid.py --workdir=runs/table5_gan300

Problem 3's Tables 5 and 6: the Table-2 CNN trained on real Reduced-MNIST
images plus the first k per class of a GAN's samples (an `eval.generate` .npz,
grid.synthetic), k in grid.generated_per_class, `seeds` seeds per cell, the
same 200/class MNIST test images in every cell. It is the augmentation grid of
Problem 2 (train/augment_grid.py) with GAN samples as the generated images.

  table5 (default): real 300 per class + the samples of gan_300, the GAN
    trained on those 300 (the study's "specific GAN" cells); for 700 and
    1000 real, the matching GAN:
      --config.grid.synthetic=runs/gan_700/synthetic.npz
      --config.grid.real_per_class='(700,)'
    and the study's "full GAN" column, samples of gan_full at every size:
      --config.grid.synthetic=runs/gan_full/synthetic.npz
      --config.grid.real_per_class='(300,700,1000)'
  table6: the pipeline, 300 real + 1000 augmented per class (new draws of
    the transforms gan_pipeline's 13,000 training images came from) +
    samples of gan_pipeline:
    python main.py --config=configs/synthetic_grid.py:table6 --workdir=runs/table6
  smoke: one cell pair, one seed, one epoch.
Make the .npz first:
  python -m eval.generate --workdir=runs/gan_300 --per_class=3000 --out=synthetic.npz
"""

from configs import augment_grid
from configs import base


def get_config(arg=None):
  arg = base.parse_arg(arg, variants=('table5', 'table6', 'smoke'))
  # Its 20 epochs are the study's (3.3), which Table 3 takes as well.
  config = augment_grid.get_config()
  config.grid.table = '5'
  config.grid.real_per_class = (300,)
  config.grid.generated_per_class = (0, 1000, 2000, 3000)
  config.seeds = 3
  config.grid.synthetic = 'runs/gan_300/synthetic.npz'
  if arg.table6:
    config.grid.table = '6'
    config.grid.real_per_class = (300,)
    config.grid.augmented_per_class = 1000
    config.grid.synthetic = 'runs/gan_pipeline/synthetic.npz'
  if arg.smoke:
    augment_grid.smoke(config)
  return config
