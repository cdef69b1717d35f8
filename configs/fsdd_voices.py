"""python main.py --config=configs/fsdd_voices.py:loso --workdir=runs/voices_loso

Issue 16: a spoken-digit recipe meant to generalise to unseen voices
(docs/voices.md). Log-mel features normalised per utterance with speed-
perturbed copies of the training recordings (data/logmel.py), on-device time
shift, SpecAugment masks, noise and mixup in the train step
(data/specaugment.py), a small residual CNN (nets/resnet.py); `seeds` seeds
of each. Variants, comma-separated: the split, `loso` (every fold, the
default; one with --config.data.loso_fold=k), `official` or `random`;
`ablation` trains the full recipe and every variant of ablation.changes
(each drops or adds one ingredient) and writes the ablation table:
  python main.py --config=configs/fsdd_voices.py:loso,ablation --workdir=runs/voices_ablation
`fast` trains 7 epochs under a cosine learning-rate schedule instead of 20 at
a constant rate with reduce-on-plateau: a whole LOSO configuration (6 folds x
3 seeds) in about 30 minutes on a 2-core CPU (docs/voices.md):
  python main.py --config=configs/fsdd_voices.py:loso,fast --workdir=runs/voices_fast
On the loso split every run is also scored after adapting its BatchNorm
statistics to the held-out voice from `adapt_bn` of its unlabelled
recordings (eval.adapt), and several seeds as their ensemble. `smoke` is
tiny (one fold, one seed, 2 epochs on a fifth of the training set).
"""

import ml_collections

from configs import base
from data import specaugment


# The ablation's variants in table order (a ConfigDict lists its keys
# sorted): one ingredient of the full recipe dropped, or (plus_*) added.
CHANGES = {
    'no_utterance_norm': {'data': {'normalize': 'train'}},
    'no_speed': {'data': {'speed_perturb': ()}},
    'no_shift': {'augment': {'shift': 0}},
    'no_time_mask': {'augment': {'time_mask': 0}},
    'no_freq_mask': {'augment': {'freq_mask': 0}},
    'no_noise': {'augment': {'noise_std': 0.0}},
    'no_mixup': {'augment': {'mixup': 0.0}},
    'no_residual': {'model': {'residual': False}},
    'plus_pitch': {'data': {'pitch_perturb': (-2.0, 2.0)}},
    'plus_band_norm': {'data': {'normalize': 'band'}},
    'plus_freq_shift': {'augment': {'freq_shift': 2}},
}


def get_config(arg=None):
  arg = base.parse_arg(
      arg, variants=('loso', 'official', 'random', 'ablation', 'fast',
                     'smoke'))
  config = base.get_base_config()
  config.experiment = 'voices'
  config.seed = 0
  config.seeds = 3
  # Rough minutes per 1000 training rows and epoch on the 2-core CPU, for the
  # estimate printed before training: a guess from the model's FLOPs, not a
  # measurement; the run lines' ETAs follow the real pace.
  config.estimate_min_per_1k_rows = 0.1
  # LOSO only: also score each run after re-estimating its BatchNorm
  # statistics on this many unlabelled recordings of the held-out speaker
  # (eval.adapt; the same draw for every seed of a fold), on the fold's other
  # recordings. 0: off; -1: on all of them (transductive).
  config.adapt_bn = 10

  config.data.name = 'fsdd_logmel'
  config.data.split = 'loso'  # loso | official | random | speaker
  config.data.split_seed = 42
  config.data.fractions = (0.8, 0.1, 0.1)
  config.data.test_speaker = 'theo'  # split 'speaker'
  # The 'loso' fold: held-out speaker k in name order; -1: every fold.
  config.data.loso_fold = -1
  config.data.train_fraction = 1.0  # stratified subset of train (smoke)
  config.data.sample_rate = 8000
  config.data.on_other_rate = 'resample'
  config.data.on_bad_file = 'error'
  config.data.n_mels = 40
  config.data.n_fft = 256  # 32 ms
  config.data.hop_length = 128  # 16 ms
  config.data.frames = 64  # 1.008 s
  config.data.top_db = 80.0
  config.data.normalize = 'utterance'  # utterance | band | train | none
  # Perturbed copies of the training recordings (host-side, cached): speed
  # factors (1.1 = 10% faster and higher) and pitch shifts in semitones.
  config.data.speed_perturb = (0.9, 1.1)
  config.data.pitch_perturb = ()
  config.data.cache_dir = ''  # '': data.cache.DEFAULT_CACHE_DIR

  config.augment = specaugment.default_config()

  config.model.name = 'voice_resnet'
  config.model.stem = 16
  config.model.widths = (24, 48, 96)
  config.model.residual = True
  config.model.dropout = 0.2
  config.model.dtype = 'float32'

  config.train.epochs = 20
  config.train.batch_size = 64
  config.train.plateau_factor = 0.5
  config.train.plateau_patience = 3
  config.train.restore_best = True  # the best val_loss epoch
  config.train.keep_checkpoints = 1
  config.eval.batch_size = 512

  config.ablation = ml_collections.ConfigDict()
  # The variants trained, in table order: 'full' (the config as it is) and
  # names of `changes`.
  config.ablation.variants = ('full',)
  # Each variant's fields, as overrides of the full recipe (CHANGES).
  config.ablation.changes = ml_collections.ConfigDict(CHANGES)
  # A variant with another number of training copies trains
  # epochs x (full's copies / its copies) epochs, so that every variant
  # takes the full recipe's number of optimizer steps.
  config.ablation.equal_steps = True

  for split in ('loso', 'official', 'random'):
    if arg[split]:
      config.data.split = split
  if arg.ablation:
    config.ablation.variants = ('full', *CHANGES)
  if arg.fast:
    config.train.epochs = 7
    config.train.lr_schedule = 'cosine'
    config.train.plateau_factor = 0.0
  if arg.smoke:
    config.seeds = 1
    config.data.loso_fold = 0
    config.data.train_fraction = 0.2
    config.train.epochs = 2
  return config
