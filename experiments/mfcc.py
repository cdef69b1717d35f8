"""Problem 1: FSDD digits from MFCCs; baseline, Approach A and Approach B.

Every training stage is one `trainer.fit` in its own workdir
`<workdir>/<split>/seed<k>/<approach>/<stage>` (`<workdir>/loso/<held-out
speaker>/...` for each fold of the 'loso' split), so a killed run resumes
stage by stage and finished stages are not retrained. The run writes Table 1
(every approach and split), the LOSO table (each fold, mean ± 95% CI), the
accuracy-vs-d table, and the figures.
"""

import functools
import json
import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from configs import base
from configs import mfcc_fsdd
import data
from data import fsdd
from data import mfcc as mfcc_features
from data import splits as splits_lib
import errors
from eval import report
from experiments import supervised
from experiments import sweep
import nets
from nets import mlp
from train import console
from train import metrics
from train import trainer
from train import workdir as workdir_lib


class SplitRun(NamedTuple):
  """One split the stages train on: data.split, and for 'loso' the fold and
  its held-out speaker (for 'speaker', data.test_speaker)."""
  name: str
  fold: int = fsdd.ALL_FOLDS
  held_out: str = ''

  @property
  def folder(self):
    """Where its stages live below the workdir: the split, or loso/<speaker>."""
    return os.path.join('loso', self.held_out) if self.name == 'loso' else (
        self.name)

  @property
  def label(self):
    """How progress lines name it: 'random split', 'loso split, theo held out'."""
    held_out = f', {self.held_out} held out' if self.name == 'loso' else ''
    return f'{self.name} split{held_out}'


def split_runs(config):
  """The SplitRun of every split in config.splits; 'loso' gives every fold
  (or the one data.loso_fold names)."""
  bad = set(config.splits) - set(fsdd.SPLITS)
  if bad:
    raise errors.ConfigError(
        f'splits={tuple(config.splits)}: unknown {sorted(bad)}; choices: '
        f'{fsdd.SPLITS}')
  runs = []
  for split in config.splits:
    if split == 'loso':
      runs += [SplitRun(split, k, s) for k, s in fsdd.loso_folds(config.data)]
    else:
      runs.append(SplitRun(split, held_out=config.data.test_speaker
                           if split == 'speaker' else ''))
  return runs


def _stage_config(config, stage, split, seed, data_name, **model_overrides):
  """The config one `fit` runs with: only the fields that shape that stage."""
  return base.derive(
      config, keep=('experiment', 'defaults', 'force', 'data', 'eval'),
      seed=seed,
      model=stage.model, opt=stage.opt, train=stage.train,
      # Every fold its own data.loso_fold, so that a stage folder resumes only
      # the fold it holds (workdir's config check); -1 for the other splits.
      **{'data.split': split.name, 'data.loso_fold': split.fold,
         'data.name': data_name, 'train.progress': config.train.progress},
      **{f'model.{k}': v for k, v in model_overrides.items()})


def _fit(cfg, workdir, splits):
  """Trains cfg.model on splits in workdir: (model, state, run)."""
  model = nets.get_model(cfg.model, cfg.defaults)
  state, run = trainer.fit(cfg, workdir, model, splits)
  return model, state, run


def _targets(x_train, x_val, x_test, info):
  """Splits whose targets are the inputs (autoencoders); `info` holds the
  source data's signature."""
  return splits_lib.Splits(x_train, x_train, x_val, x_val, x_test, x_test,
                           info=info)


def _classify(config, split, seed, workdir, splits, stage):
  """Fits a classifier stage; a Table 1 row and its history."""
  cfg = _stage_config(config, stage, split, seed, config.data.name,
                      num_classes=splits.num_classes)
  _, state, run = _fit(cfg, workdir, splits)
  test = supervised.test_metrics(cfg, state, splits)
  row = {'split': split.name, 'fold': split.fold, 'held_out': split.held_out,
         'seed': seed, 'feature_dim': splits.x_train.shape[-1],
         'test_accuracy': test['test_accuracy'], 'test_loss': test['test_loss'],
         'test_accuracy_per_speaker': test['test_accuracy_per_speaker'],
         'epochs': run['epochs_run'], 'train_time_s': run['train_time_s']}
  return row, run['history']


def run_baseline(config, split, seed, workdir):
  """Mean normalised MFCC frame -> MLP 256-128-64-32."""
  cfg = _stage_config(config, config.baseline, split, seed, 'fsdd_mfcc_mean')
  splits = data.get_dataset(cfg.data)
  run_dir = os.path.join(workdir, 'mlp')
  row, hist = _classify(config, split, seed, run_dir, splits, config.baseline)
  with open(os.path.join(run_dir, mfcc_features.ZSCORE_FILE), 'w') as f:
    json.dump({k: splits.info[k].tolist() for k in ('mean', 'std')}, f)
  return [{'approach': 'baseline', **row}], {'baseline MLP': hist}


def approach_a_label(config, d):
  """Approach A's Table-1 row at bottleneck d: 'A (AE d=300)' with the
  study's L2 on every dense kernel, else naming where the L2 applies."""
  pattern = config.approach_a.ae.train.l2_pattern
  where = {base.get_train().l2_pattern: '',
           mfcc_fsdd.ENCODER_L2_PATTERN: ', L2 encoder only'}.get(
               pattern, f', L2 on {pattern}')
  return f'A (AE d={d}{where})'


def run_approach_a(config, split, seed, workdir):
  """Padded, flattened frames -> AE bottleneck d -> baseline MLP, per d."""
  a = config.approach_a
  cfg = _stage_config(config, a.ae, split, seed, 'fsdd_mfcc_flat')
  flat = data.get_dataset(cfg.data)
  rows, histories = [], {}
  for d in a.dims:
    ae_cfg = _stage_config(config, a.ae, split, seed, 'fsdd_mfcc_flat',
                           bottleneck=d)
    ae, ae_state, ae_run = _fit(
        ae_cfg, os.path.join(workdir, f'ae_d{d}'),
        _targets(flat.x_train, flat.x_val, flat.x_test, flat.info))
    encode = jax.jit(functools.partial(ae.encode, ae_state.params))
    codes = [np.asarray(encode(x)) for x in (flat.x_train, flat.x_val,
                                             flat.x_test)]
    splits = splits_lib.Splits(codes[0], flat.y_train, codes[1], flat.y_val,
                               codes[2], flat.y_test, info=flat.info)
    row, hist = _classify(config, split, seed,
                          os.path.join(workdir, f'mlp_d{d}'), splits,
                          config.baseline)
    rows.append({'approach': approach_a_label(config, d), 'd': d, **row})
    if d == a.curves_dim:
      histories = {f'autoencoder d={d}': ae_run['history'],
                   f'MLP on d={d} codes': hist}
  return rows, histories


def frame_pairs(frames_NxTxF, lengths):
  """Per utterance, its consecutive frame pairs [max(L-1, 1), 2F]; a single
  frame is paired with itself."""
  out = []
  for f, n in zip(frames_NxTxF, lengths):
    f = f[:n] if n >= 2 else np.concatenate([f[:1], f[:1]])
    out.append(np.concatenate([f[:-1], f[1:]], axis=-1))
  return out


def merger_examples(pairs, latents, frames_NxTxF):
  """([z_t ; frame t+2], z_{t+1}) for every utterance with >= 3 frames.

  The merger learns to move the latent of pair (t, t+1) to that of
  (t+1, t+2) given frame t+2, which is how the embedding applies it.
  """
  xs, ys = [], []
  for p, z, f in zip(pairs, latents, frames_NxTxF):
    if len(p) >= 2:
      xs.append(np.concatenate([z[:-1], f[2:len(p) + 1]], axis=-1))
      ys.append(z[1:])
  return np.concatenate(xs), np.concatenate(ys)


def mean_latents(latents):
  """[N, bottleneck]: each utterance's mean pair latent (the 'mean_latents'
  embedding), from its [pairs, bottleneck] latents."""
  return np.stack([z.mean(axis=0) for z in latents])


# approach_b.embedding -> (its Table-1 row, the improved MLP's stage folder).
# The mean has its own folder: its features differ from the merger's under
# the same MLP config, which a resume could not tell apart.
EMBEDDINGS = {
    'merger': ('B (2-frame AE + merger)', 'mlp'),
    'mean_latents': ("B (mean of pair latents, not the study's method)",
                     'mlp_mean_latents'),
}


def run_approach_b(config, split, seed, workdir):
  """Two-frame AE -> utterance embedding -> improved MLP. The embedding is
  the merger scanned over the frames (the study's), or with
  approach_b.embedding='mean_latents' the mean pair latent (no merger)."""
  b = config.approach_b
  cfg = _stage_config(config, b.frame_ae, split, seed, 'fsdd_mfcc_frames')
  frames = data.get_dataset(cfg.data)
  xs = (frames.x_train, frames.x_val, frames.x_test)
  lengths = [frames.info['lengths'][s] for s in ('train', 'val', 'test')]
  pairs = [frame_pairs(x, n) for x, n in zip(xs, lengths)]
  ae, ae_state, ae_run = _fit(
      cfg, os.path.join(workdir, 'frame_ae'),
      _targets(*[np.concatenate(p) for p in pairs], frames.info))

  encode = jax.jit(functools.partial(ae.encode, ae_state.params))
  latents = [np.split(np.asarray(encode(np.concatenate(p))),
                      np.cumsum([len(q) for q in p])[:-1]) for p in pairs]
  label, mlp_dir = EMBEDDINGS[b.embedding]
  histories = {'two-frame AE': ae_run['history']}
  if b.embedding == 'mean_latents':
    emb = [mean_latents(z) for z in latents]
  else:
    ex = [merger_examples(p, z, x) for p, z, x in zip(pairs, latents, xs)]
    merger_cfg = _stage_config(config, b.merger, split, seed,
                               'fsdd_mfcc_frames', num_classes=ae.bottleneck)
    merger, merger_state, merger_run = _fit(
        merger_cfg, os.path.join(workdir, 'merger'),
        splits_lib.Splits(ex[0][0], ex[0][1], ex[1][0], ex[1][1], ex[2][0],
                          ex[2][1], info=frames.info))
    histories['merger'] = merger_run['history']
    emb = [np.asarray(mlp.embed_utterances(ae, ae_state.params, merger,
                                           merger_state.params,
                                           jnp.asarray(x), jnp.asarray(n)))
           for x, n in zip(xs, lengths)]
  splits = splits_lib.Splits(emb[0], frames.y_train, emb[1], frames.y_val,
                             emb[2], frames.y_test, info=frames.info)
  row, histories['improved MLP'] = _classify(
      config, split, seed, os.path.join(workdir, mlp_dir), splits, b.mlp)
  return [{'approach': label, **row}], histories


APPROACHES = {
    'baseline': run_baseline,
    'approach_a': run_approach_a,
    'approach_b': run_approach_b,
}

# The study's Table 1 (one run each, its stratified 70/15/15 'random' split);
# Approach A's range gives d=50 and d=400.
STUDY_TABLE1 = {'baseline': .9311, 'A (AE d=50)': .7556, 'A (AE d=300)': .9156,
                'A (AE d=400)': .9178, 'B (2-frame AE + merger)': .7289}

FIGURES = {  # approach -> (file stem, the seed's figure)
    'baseline': ('fig1_baseline_curves', 'Figure 1: baseline MLP'),
    'approach_a': ('fig3_approach_a_curves', 'Figure 3: Approach A'),
    'approach_b': ('fig4_approach_b_curves', 'Figure 4: Approach B'),
}


def _summarise(rows, seeds):
  """One Table 1 row per (approach, split): accuracy over seeds."""
  groups = {}
  for r in rows:
    groups.setdefault((r['approach'], r['split']), []).append(r)
  out = []
  for (approach, split), rs in groups.items():
    accs = [r['test_accuracy'] for r in rs]
    out.append({
        'approach': approach, 'split': split,
        'test_accuracy': report.fmt_mean_std(accs), **report.seed_stats(accs),
        'feature_dim': rs[0]['feature_dim'], 'd': rs[0].get('d', ''),
        'seeds': ' '.join(str(s) for s in seeds),
        'epochs': ' '.join(str(r['epochs']) for r in rs),
        'train_time_s': round(sum(r['train_time_s'] for r in rs), 1),
        'study': STUDY_TABLE1.get(approach, '') if split == 'random' else ''})
  return out


def _loso_table(rows):
  """Each approach's LOSO folds and their mean ± 95% CI (report.loso_rows)."""
  table = []
  for approach in dict.fromkeys(r['approach'] for r in rows):
    runs = [r for r in rows if r['approach'] == approach and
            r['split'] == 'loso']
    if runs:
      table += report.loso_rows(runs, approach=approach)
  return table


def write_report(config, workdir, rows, seeds):
  """results.json, Table 1, the LOSO table with a 'loso' split and, with
  Approach A, its table and Figure 2."""
  table = _summarise(rows, seeds)
  loso = _loso_table(rows)
  columns = ['approach', 'split', 'test_accuracy', 'feature_dim', 'seeds',
             'epochs', 'train_time_s', 'study']
  csv_columns = ['approach', 'split', *report.STATS, *columns[3:]]
  loso_columns = ['approach', 'fold', 'held out', 'test accuracy']
  loso_csv_columns = [*loso_columns[:3], *report.STATS]
  metrics.write_results(workdir, {
      'runs': rows, 'table': report.select(table, csv_columns),
      **({'loso': report.select(loso, loso_csv_columns)} if loso else {})})
  notes = (f'FSDD, seed(s) {seeds}; test accuracy (mean ± std over seeds). '
           'Splits: random = stratified 70/15/15 (split seed '
           f'{config.data.split_seed}), official = indices 0-4 test, speaker '
           f'= {config.data.test_speaker!r} held out for test, loso = each '
           'speaker held out in turn (mean ± std over folds x seeds; each '
           'fold and the 95% CI in loso.md). '
           f'{metrics.machine_note()} train_time_s excludes compilation. '
           'study: its Table 1 (one run, random split).',)
  report.write_table(table, os.path.join(workdir, 'table1'), columns,
                     'Table 1: FSDD test accuracy by approach', notes,
                     csv_columns)
  if loso:
    train, val = config.data.fractions[:2]
    report.write_table(
        loso, os.path.join(workdir, 'loso'), loso_columns,
        'Leave one speaker out: test accuracy on the held-out speaker',
        (f'Seed(s) {seeds}; a fold\'s cell is the mean ± std over its seeds, '
         'the last row of each approach the mean ± 95% CI (Student t) over '
         f'every fold x seed. Validation: a stratified {val:g}/{train + val:g} '
         f'of the other speakers\' recordings. {metrics.machine_note()}',),
        loso_csv_columns)
  if any(r['d'] != '' for r in table):
    report.write_table([r for r in table if r['d'] != ''],
                       os.path.join(workdir, 'approach_a_vs_d'),
                       ['d', 'split', 'test_accuracy', 'epochs'],
                       'Approach A: test accuracy vs bottleneck d', notes,
                       ['d', 'split', *report.STATS, 'epochs'])
    report.plot_accuracy_vs_d(table,
                              os.path.join(workdir, 'fig2_accuracy_vs_d.png'))
  return table


def run(config, workdir):
  """Runs config.approaches x config.splits (x folds for 'loso') x seeds;
  writes Table 1 and, for 'loso', the LOSO table.

  The tables are rewritten after every approach, so a killed run leaves
  those of the stages it finished.
  """
  unknown = set(config.approaches) - set(APPROACHES)
  if unknown:
    raise errors.ConfigError(
        f'approaches={tuple(config.approaches)}: unknown {sorted(unknown)}; '
        f'choices: {sorted(APPROACHES)}')
  if config.approach_b.embedding not in EMBEDDINGS:
    raise errors.ConfigError(
        f'approach_b.embedding={config.approach_b.embedding!r}: unknown; '
        f'choices: {", ".join(EMBEDDINGS)}')
  splits = split_runs(config)
  # Every split's features are read (and cached) before the workdir is
  # touched, so a data error leaves it as it was.
  signature = None
  for split in splits:
    cfg = _stage_config(config, config.baseline, split, config.seed,
                        'fsdd_mfcc_mean')
    signature = data.get_dataset(cfg.data).info['signature']
  workdir_lib.record_config(config, workdir, signature)
  seeds = list(sweep.seed_range(config))
  rows, table = [], []
  runs = console.RunCounter(len(splits) * len(seeds) * len(config.approaches))
  for split in splits:
    for seed in seeds:
      for approach in config.approaches:
        stage_dir = os.path.join(workdir, split.folder, f'seed{seed}',
                                 approach)
        runs.start(f'{approach}, {split.label}, seed {seed}')
        new_rows, histories = APPROACHES[approach](config, split, seed,
                                                   stage_dir)
        runs.finish(f'{approach}, {split.label}, seed {seed}: test_accuracy '
                    + ' '.join(f'{r["test_accuracy"]:.4f}' for r in new_rows))
        rows += new_rows
        if seed == seeds[0] and histories:
          stem, title = FIGURES[approach]
          tag = split.folder.replace(os.sep, '_')
          report.plot_curves(histories, os.path.join(
              workdir, f'{stem}_{tag}.png'), f'{title} ({split.label})')
        table = write_report(config, workdir, rows, seeds)
  return table
