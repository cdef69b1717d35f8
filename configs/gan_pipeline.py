"""python main.py --config=configs/gan_pipeline.py --workdir=runs/gan_pipeline

The seed's pipeline (3.3, Table 6): 300 real images per class plus 1000
augmented ones per class (data/augment.py's `combined` transforms) = 13,000
images, on which the conditional DCGAN is trained. `:smoke` is a short CPU run:
  python main.py --config=configs/gan_pipeline.py:smoke --workdir=runs/gan_pipeline_smoke
"""

from configs import gan_base


def get_config(arg=None):
  return gan_base.get_gan_config(arg, train_per_class=300,
                                 augment_per_class=1000)
