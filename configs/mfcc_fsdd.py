"""python main.py --config=configs/mfcc_fsdd.py --workdir=runs/mfcc

Problem 1: spoken digits (FSDD) from 13 MFCCs. Trains every approach
of `approaches` on every split of `splits` for `seeds` seeds and writes Table 1
and the figures into the workdir. Args pick approaches and sizes:
  configs/mfcc_fsdd.py:baseline     mean MFCC -> MLP
  configs/mfcc_fsdd.py:approach_a   autoencoder bottleneck sweep -> MLP
  configs/mfcc_fsdd.py:approach_b   two-frame AE + merger embeddings -> MLP
  configs/mfcc_fsdd.py:smoke        (or approach_a,smoke, ...) 120 files, few
                                    epochs, one seed: a run in well under a
                                    minute.
  configs/mfcc_fsdd.py:baseline,loso  leave-one-speaker-out: every fold
                                    (splits=('loso',)), mean ± 95% CI.
Variants that are not the study's method, each labelled in Table 1:
  encoder_l2     Approach A's L2 on the encoder's kernels only (the study: "L2
                 regularization (weight decay of 0.001) is applied to the
                 dense layers", all four), rows 'A (AE d=..., L2 encoder only)'
  mean_latents   Approach B's embedding is the mean of the utterance's pair
                 latents, no merger (approach_b.embedding)
  ours           this codebase's earlier Approach-A stopping rule, min_delta
                 1e-3 (the study gives none)
docs/defaults.md, "The study's protocols", quotes the study for each.
"""

import ml_collections

from configs import base

APPROACHES = ('baseline', 'approach_a', 'approach_b')
# A train.l2_pattern on nets.mlp.Autoencoder's encoder kernels only
# (encoder/Dense_0, encoder/Dense_1; the decoder's are Dense_0, Dense_1).
ENCODER_L2_PATTERN = r'^encoder/.*kernel$'


def _stage(model, **train):
  """{model, train} of one training stage; train fields override the base."""
  stage = ml_collections.ConfigDict()
  stage.model = ml_collections.ConfigDict(model)
  stage.opt = base.get_opt()
  stage.train = base.get_train(**train)
  return stage


def get_config(arg=None):
  arg = base.parse_arg(arg, variants=(*APPROACHES, 'smoke', 'loso',
                                      'encoder_l2', 'mean_latents', 'ours'))
  config = base.get_base_config()
  config.experiment = 'mfcc'
  config.seed = 0
  # Every run here takes under a minute on a 2-core CPU: 5 seeds per cell, the
  # project's rule for short runs (3 for longer ones).
  config.seeds = 5
  # Each stage's data.split; 'loso' runs every fold of data.loso_fold.
  config.splits = ('random', 'speaker')

  d = config.data
  d.name = 'fsdd_mfcc_mean'  # each approach picks its view of the features
  d.cache_dir = ''  # '': data.cache.DEFAULT_CACHE_DIR
  d.sample_rate = 8000
  d.on_other_rate = 'resample'  # or 'error'
  d.on_bad_file = 'error'  # or 'skip': skipped files are counted and logged
  d.n_mfcc = 13
  d.frame_ms = 15.0
  d.hop_ms = 7.5
  d.n_mels = 40  # 61 FFT bins at n_fft=120 leave librosa's 128 mels empty
  d.max_index = 0  # >0: only recordings with index < max_index (smoke runs)
  d.split_seed = 42
  d.fractions = (0.7, 0.15, 0.15)
  d.test_speaker = 'theo'
  # The 'loso' fold: held-out speaker k in name order; -1: every fold.
  d.loso_fold = -1

  # Baseline, and the classifier of Approach A's codes.
  config.baseline = _stage(
      {'name': 'mlp', 'features': (256, 128, 64, 32), 'dropout': 0.3},
      epochs=100, batch_size=32, patience=10, restore_best=True)

  config.approach_a = ml_collections.ConfigDict()
  config.approach_a.dims = (50, 100, 150, 200, 250, 300, 350, 400)
  config.approach_a.curves_dim = 300  # Figure 3
  config.approach_a.ae = _stage(
      {'name': 'autoencoder', 'hidden': 256},
      loss='mse', l2=1e-3, epochs=100, batch_size=32, patience=15,
      restore_best=True)

  config.approach_b = ml_collections.ConfigDict()
  # The utterance embedding: 'merger' (the study's section 1.3.1: the merger
  # scanned over the frames, its last latent) or 'mean_latents' (the mean of
  # the pair latents, no merger; not the study's method).
  config.approach_b.embedding = 'merger'
  schedule = dict(loss='mse', epochs=50, batch_size=64, patience=5,
                  restore_best=True)
  config.approach_b.frame_ae = _stage({'name': 'frame_autoencoder'}, **schedule)
  config.approach_b.merger = _stage({'name': 'merger'}, **schedule)
  config.approach_b.mlp = _stage(
      {'name': 'mlp', 'features': (512, 256, 128, 64), 'batch_norm': True,
       'dropout': 0.2},
      epochs=50, batch_size=16, patience=10, restore_best=True,
      plateau_factor=0.5, plateau_patience=3)

  config.eval.batch_size = 1000

  chosen = tuple(a for a in APPROACHES if arg[a])
  config.approaches = chosen or APPROACHES
  if arg.loso:
    config.splits = ('loso',)
  if arg.encoder_l2:
    config.approach_a.ae.train.l2_pattern = ENCODER_L2_PATTERN
  if arg.mean_latents:
    config.approach_b.embedding = 'mean_latents'
  if arg.ours:
    # The val MSE creeps down by ~1e-4/epoch for 100 epochs; this stopped
    # once it gained < 1e-3 for `patience` epochs (8 AEs per split on 2 CPU
    # cores).
    config.approach_a.ae.train.min_delta = 1e-3
  if arg.smoke:
    config.seeds = 1
    d.max_index = 2
    config.approach_a.dims = (20, 40)
    config.approach_a.curves_dim = 40
    for stage in (config.baseline, config.approach_a.ae,
                  config.approach_b.frame_ae, config.approach_b.merger,
                  config.approach_b.mlp):
      stage.train.epochs = 3
  return config
