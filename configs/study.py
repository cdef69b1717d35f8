"""python main.py --config=configs/study.py --workdir=runs/study

The whole study in one command: Problem 1 (Table 1), Problem 2 (Table 3),
Problem 3 (each GAN of the run, its samples, then its Table 5 or 6 grid), 4A
(Table 10) and 4B (Table 13), in that order, each by its own driver in
<workdir>/<stage>; finished stages are skipped and a killed run resumes. Ends
with <workdir>/REPORT.md: every results table beside the study's numbers.
Args, comma-separated:
  gan_700, gan_1000, gan_pipeline, gan_full  also train that GAN (hours on a
      CPU each, docs/gan.md) and run its Table 5 / 6 grid; gan_300 always runs.
  smoke  the same path on tiny sizes, Table 13 left out (it reads all 3000
      recordings): a few minutes on a 2-core CPU.
Any stage's field is --config.stages.<stage>.config.<field>; --config.order
picks and orders the stages.
"""

import ml_collections

from configs import attention_mnist
from configs import augment_grid
from configs import base
from configs import gan_1000
from configs import gan_300
from configs import gan_700
from configs import gan_full
from configs import gan_pipeline
from configs import mfcc_fsdd
from configs import spectrogram_cnn
from configs import synthetic_grid

# The study's test-set sizes, for the binomial noise of its single-run numbers
# (REPORT.md). Table 1: 15% of FSDD's 3000 recordings (the study's stratified
# 70/15/15 split, seed 42). Tables 3, 5, 6: "a fixed test set of 200 examples"
# per class. Table 10: "The test set, comprising 1000 images". Table 13: its
# accuracies are exact multiples of 1/256, so 256 test spectrograms (issue 12;
# its text says "approximately 300").
TEST_SIZES = {'1': 450, '3': 2000, '5': 2000, '6': 2000, '10': 1000, '13': 256}

# GAN -> (its config module, the real images per class it was trained on;
# None: the Table-6 pipeline, 0: full MNIST, whose samples are Table 5's
# second number for every real size).
GANS = {'gan_300': (gan_300, 300), 'gan_700': (gan_700, 700),
        'gan_1000': (gan_1000, 1000), 'gan_pipeline': (gan_pipeline, None),
        'gan_full': (gan_full, 0)}
# Rough minutes per stage on the project's 2-core CPU when free (docs/gan.md,
# "Cost": 1.7 s per GAN step of 128 with the 'patches' layers, 75 epochs, plus
# the classifier's pre-training); the ETA rescales them by the pace of the
# stages run so far.
_GAN_MIN = {'gan_300': 55, 'gan_700': 120, 'gan_1000': 170, 'gan_pipeline': 220,
            'gan_full': 1020}
# Table-2 CNN training images per second (fit, batch 32, validation included;
# docs/benchmarks.md measured 3600 per step, ~850 in the loaded Table-3 grid).
_CNN_IMAGES_S = 1500.0


def _stage(config, table, estimate_min, study_column='', samples_per_class=0,
           not_run=''):
  """One stage: the child `config` its driver runs, and how REPORT.md reads it."""
  stage = ml_collections.ConfigDict()
  stage.config = config
  stage.table = table  # the study's table number; '' for a GAN run
  stage.test_size = TEST_SIZES.get(table, 0)
  # The column of the driver's results.json rows holding the study's number
  # ('': the driver's usual one, experiments/study.py).
  stage.study_column = study_column
  # A GAN stage then writes <stage>/synthetic.npz with this many per class.
  stage.samples_per_class = samples_per_class
  stage.estimate_min = float(estimate_min)
  # Why REPORT.md may list it as not run (when config.order leaves it out).
  stage.not_run = not_run
  return stage


def _grid_minutes(config):
  """Training images x epochs of a Table 3/5/6 grid at _CNN_IMAGES_S."""
  g = config.grid
  images = sum(10 * (r + g.augmented_per_class + k) for r in g.real_per_class
               for k in g.generated_per_class)
  return images * config.train.epochs * config.seeds / _CNN_IMAGES_S / 60 + 1


def _gan_stages(name, smoke):
  """{gan stage, grid stage} of one GAN: train it, sample, then its grid."""
  module, real = GANS[name]
  gan = module.get_config('smoke' if smoke else None)
  if real is None:
    grid = synthetic_grid.get_config('table6' + (',smoke' if smoke else ''))
    table, grid_name = '6', 'table6'
  else:
    grid = synthetic_grid.get_config('smoke' if smoke else None)
    table, grid_name = '5', f'table5_{name}'
    # Comparable with the study only where the samples come from the GAN of
    # that real size (its "specific GAN"); gan_full is its second number.
    grid.grid.real_per_class = (300, 700, 1000) if real == 0 else (real,)
  # Relative: a file in the GAN's stage folder (experiments/study.py).
  grid.grid.synthetic = f'{name}/synthetic.npz'
  if smoke:
    _shrink_gan(gan)
    _shrink_grid(grid)
  per_class = max(grid.grid.generated_per_class)
  # gan_300 is in the default order; the others are opted into by name.
  how = ('back in config.order' if name == next(iter(GANS))
         else f'with configs/study.py:{name}')
  note = f'add it {how} (CPU hours, docs/gan.md)'
  return {
      name: _stage(gan, '', 2 if smoke else _GAN_MIN[name],
                   samples_per_class=per_class, not_run=note),
      grid_name: _stage(grid, table, _grid_minutes(grid),
                        'study, full GAN' if real == 0 else '', not_run=note),
  }


def _shrink_gan(config):
  """configs/gan_base.py's smoke with small nets and the Table-2 CNN as the
  classifier: seconds per epoch on a CPU."""
  config.generator.features = (32, 16, 8)
  config.generator.embed_dim = 8
  config.discriminator.features = (8, 16, 32)
  config.discriminator.embed_dim = 8
  config.aux.model = {'name': 'base', 'dropout': 0.5}
  config.train.z_dim = 16
  config.train.batch_size = 64


def _shrink_grid(config):
  """1000 generated per class or none (cells the study reports), two seeds (a
  CI), one epoch, 20 test images per class."""
  config.data.test_per_class = 20
  config.grid.augmented_per_class = min(config.grid.augmented_per_class, 100)
  config.grid.generated_per_class = (0, 1000)
  config.seeds = 2


def get_config(arg=None):
  arg = base.parse_arg(arg, variants=('smoke', *list(GANS)[1:]))
  config = ml_collections.ConfigDict()
  config.experiment = 'study'
  # Set on every stage: the data folder, whether it may download, the net
  # defaults ('keras': what the study ran) and resuming a changed stage.
  config.defaults = 'keras'
  config.force = False
  config.data = ml_collections.ConfigDict()
  config.data.dir = base.get_base_config().data.dir
  config.data.allow_download = True

  table1 = mfcc_fsdd.get_config('smoke' if arg.smoke else None)
  # The study's split: stratified 70/15/15, seed 42.
  table1.splits = ('random',)
  table3 = augment_grid.get_config('smoke' if arg.smoke else None)
  table10 = attention_mnist.get_config('sweep')
  table13 = spectrogram_cnn.get_config('sweep' + (',smoke' if arg.smoke else ''))
  if arg.smoke:
    table1.approach_a.dims = (20,)
    table1.approach_a.curves_dim = 20
    _shrink_grid(table3)
    table10.sweep.models = ('base', 'se')
    table10.seeds = 2
    table10.train.epochs = 1
    table10.data.train_per_class = 50
    table10.data.test_per_class = 20

  # Table 1: ~8.5 min per seed (the baseline, 8 autoencoders with their MLPs,
  # Approach B) on the idle 2-core CPU: seeds 3-4 took 16.9 min
  # (docs/study/README.md).
  stages = {
      'table1': _stage(table1, '1', 1 if arg.smoke else 8.5 * table1.seeds),
      'table3': _stage(table3, '3', _grid_minutes(table3)),
  }
  order = ['table1', 'table3']
  for name in GANS:
    gan_stages = _gan_stages(name, arg.smoke)
    stages.update(gan_stages)
    if name == 'gan_300' or arg[name]:
      order += gan_stages
  stages['table10'] = _stage(table10, '10', 1 if arg.smoke else 2 * len(
      table10.sweep.models) * table10.seeds)
  # LeNet, CBAM, hybrid: ~50 / 170 / 120 s per epoch, ~13 epochs each.
  stages['table13'] = _stage(
      table13, '13', 75 * table13.seeds,
      not_run='left out of :smoke, which would read all 3000 recordings')
  order += ['table10'] + ([] if arg.smoke else ['table13'])
  config.stages = ml_collections.ConfigDict(stages)
  # The stages run, in this order; the others are listed as not run.
  config.order = tuple(order)
  return config
