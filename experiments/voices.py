"""The voices recipe (issue 16, docs/voices.md): the full recipe and the
variants of ablation.variants, over every LOSO fold (or one split) x seeds.

Run <workdir>/<variant>/[loso_<speaker>/]seed<k> is a supervised run of the
variant's config (ablation.changes[variant] over the full recipe) whose train
step applies config.augment's on-device augmentations (data/specaugment.py).
Runs go seed by seed, fold by fold, variant by variant, so a table stopped
early already compares every variant. A run whose results.json holds the
epochs its config asks for is read back, not trained again (its config.json
must match), so a killed ablation resumes where it stopped and a larger one
reuses the runs it shares with a smaller one. Writes voices.{md,csv} (per
variant: mean ± 95% CI over folds x seeds, the paired difference to the full
recipe, each speaker's mean, and with several seeds the accuracy of their
ensemble: the seeds' class probabilities averaged, per fold, eval.ensemble;
on the loso split also every run and ensemble adapted to the held-out voice,
its BatchNorm statistics re-estimated on config.adapt_bn of its unlabelled
recordings, eval.adapt), for the loso split loso.{md,csv} (every fold), and
results.json.
"""

import collections
import json
import math
import os

from absl import logging
import ml_collections

from configs import base
from data import cache
from data import fetch
from data import fsdd
from data import logmel
from data import specaugment
import errors
from eval import adapt as adapt_lib
from eval import common as eval_common
from eval import ensemble as ensemble_lib
from eval import report
from experiments import supervised
from experiments import sweep
from train import console
from train import metrics
from train import workdir as workdir_lib

FULL = 'full'
# The driver's own fields: a run's config.json leaves them out, so that
# adding a variant keeps every finished run.
DRIVER_FIELDS = ('ablation', 'estimate_min_per_1k_rows', 'adapt_bn')
# In each finished run, <name>-<hash of adapt_bn>.npz: its test outputs,
# read back by later tables.
OUTPUTS_NAME = 'test_outputs'


def changes(config, name):
  """The dotted-path overrides of variant `name` ({} for 'full'), each
  naming a field the config has."""
  if name == FULL:
    return {}
  if name not in config.ablation.changes:
    raise errors.ConfigError(
        f'ablation.variants: {name!r} unknown; choices: '
        f'{", ".join([FULL, *sorted(config.ablation.changes)])}')
  paths = workdir_lib.flat(config.ablation.changes[name].to_dict())
  for path in paths:
    node = config
    for part in path.split('.'):
      if not isinstance(node, ml_collections.ConfigDict) or part not in node:
        raise errors.ConfigError(
            f'ablation.changes.{name}.{path}: the config has no such field')
      node = node[part]
  return paths


def copies(cfg):
  """The versions of each training recording: original plus perturbed."""
  return len(logmel.versions(cfg.data))


def variant_config(config, name):
  """Variant `name`'s config without the driver's fields; with
  ablation.equal_steps, its epochs scaled to the full recipe's steps."""
  cfg = base.derive(config, keep=[k for k in config.keys()
                                  if k not in DRIVER_FIELDS],
                    **changes(config, name))
  if config.ablation.equal_steps:
    cfg.train.epochs = max(1, round(
        config.train.epochs * copies(config) / copies(cfg)))
  return cfg


def check(config):
  """{variant: its config}, or a ConfigError before anything is written."""
  variants = tuple(config.ablation.variants)
  if not variants or len(set(variants)) != len(variants):
    raise errors.ConfigError(
        f'ablation.variants={variants}: need distinct names')
  if config.data.name != 'fsdd_logmel':
    raise errors.ConfigError(
        f'data.name={config.data.name!r}: the voices driver trains on '
        'fsdd_logmel (its augmentations take [B, frames, mels, 1])')
  if config.seeds < 1 or config.replicas != 1:
    raise errors.ConfigError(
        f'seeds={config.seeds}, replicas={config.replicas}: need seeds >= 1 '
        'and replicas 1 (the driver trains seeds one after another)')
  if config.adapt_bn < -1:
    raise errors.ConfigError(
        f'adapt_bn={config.adapt_bn}: need -1 (all), 0 (off) or a number of '
        'recordings')
  configs = {name: variant_config(config, name) for name in variants}
  for cfg in configs.values():
    logmel.check_config(cfg.data)
    specaugment.check_config(cfg.augment)
  return configs


def finished(cfg, run_dir, signature):
  """The results of a run finished with this config and data, or None; a
  run of another config or other data is refused."""
  path = os.path.join(run_dir, 'results.json')
  if not os.path.exists(path):
    return None
  workdir_lib.check_config(cfg, run_dir, signature)
  with open(path) as f:
    result = json.load(f)
  return result if result.get('epochs_run') == cfg.train.epochs else None


def estimate_min(config, cfg, recordings):
  """Rough minutes one run of `cfg` takes (config.estimate_min_per_1k_rows)."""
  rows = (recordings * cfg.data.fractions[0] * cfg.data.train_fraction *
          copies(cfg))
  return cfg.train.epochs * rows / 1000 * config.estimate_min_per_1k_rows


def _stat(values):
  """(mean, 95% CI half-width) of a list; NaN for an empty one."""
  return report.mean_std_ci(values)[::2] if values else (math.nan, math.nan)


def run_outputs(run_dir, adapt_bn):
  """A finished run's test outputs: 'probabilities' [N, classes] and
  'labels' and, with adapt_bn, eval.adapt's result ('accuracy',
  'adapted_accuracy', 'adapted_probabilities', 'adapted_labels', ...).
  Cached in the run's folder (a finished run does not change), so rewriting
  the tables of a large ablation restores no run twice."""
  def compute():
    config, _, state, splits = eval_common.load_run(run_dir)
    out = {'labels': splits.y_test,
           'probabilities': ensemble_lib.probabilities(config, state,
                                                       splits)[0]}
    if adapt_bn:
      result = adapt_lib.adapted(config, state, splits, adapt_bn)
      out.update({f'adapted_{k}' if k in ('labels', 'probabilities') else k:
                  v for k, v in result.items()})
    return out
  arrays = cache.cached(run_dir, OUTPUTS_NAME, {'adapt_bn': adapt_bn},
                        compute)
  return {k: v.item() if v.ndim == 0 else v for k, v in arrays.items()}


def gather(workdir, results, seeds, adapt_bn):
  """({(variant, folder): the seeds' ensemble, eval.ensemble.score}, {key:
  adapted result}) of every finished run: under (variant, folder, seed) each
  run adapted to its held-out speaker, under (variant, folder) the ensemble
  of its seeds' adapted outputs ({'members', 'test_accuracy'}). Ensembles
  need every seed of the fold (2 or more); adapted results need adapt_bn."""
  outputs = {key: run_outputs(os.path.join(workdir, key[0], key[1],
                                           f'seed{key[2]}'), adapt_bn)
             for key in results}
  ensembles, adapted = {}, dict(outputs) if adapt_bn else {}
  for name, folder in dict.fromkeys(key[:2] for key in outputs):
    members = [outputs.get((name, folder, seed)) for seed in seeds]
    if len(seeds) < 2 or not all(members):
      continue
    ensembles[name, folder] = ensemble_lib.score(
        [m['probabilities'] for m in members], members[0]['labels'])
    if adapt_bn:
      adapted[name, folder] = ensemble_lib.score(
          [m['adapted_probabilities'] for m in members],
          members[0]['adapted_labels'])
  return ensembles, adapted


def table_rows(config, configs, results, speakers, ensembles, adapted):
  """A row per variant: mean ± 95% CI over its runs, the mean and CI of its
  paired (same fold and seed) differences to 'full', each speaker's mean,
  the mean (± 95% CI over folds) of its seed ensembles and, given adapted
  results, the same for its adapted runs and their paired gain."""
  full = {key[1:]: r['test_accuracy'] for key, r in results.items()
          if key[0] == FULL}
  rows = []
  for name, cfg in configs.items():
    runs = {key[1:]: r for key, r in results.items() if key[0] == name}
    acc = [r['test_accuracy'] for r in runs.values()]
    delta, delta_ci = _stat([r['test_accuracy'] - full[k]
                             for k, r in runs.items() if k in full])
    vs_full = ''
    if name != FULL and not math.isnan(delta):
      vs_full = f'{delta:+.4f}' + (
          '' if math.isnan(delta_ci) else f' ± {delta_ci:.4f}')
    per_speaker = {
        speaker: _stat([r['test_accuracy_per_speaker'][speaker]
                        for r in runs.values()
                        if speaker in r['test_accuracy_per_speaker']])[0]
        for speaker in speakers}
    ensembled = [e['test_accuracy'] for key, e in ensembles.items()
                 if key[0] == name]
    ens_mean, ens_ci = _stat(ensembled)
    adapt = {}
    if adapted:
      runs_adapted = [a for key, a in adapted.items()
                      if key[0] == name and len(key) == 3]
      accs = [a['adapted_accuracy'] for a in runs_adapted]
      gains = [a['adapted_accuracy'] - a['accuracy'] for a in runs_adapted]
      ens_adapted = [a['test_accuracy'] for key, a in adapted.items()
                     if key[0] == name and len(key) == 2]
      adapt = {
          'BN adapted': report.fmt_mean_ci(accs),
          'adapt gain': report.fmt_mean_ci(gains),
          'adapted seed ensemble': (report.fmt_mean_ci(ens_adapted)
                                    if ens_adapted else ''),
          'adapted': _stat(accs)[0], 'adapted_ci95': _stat(accs)[1],
          'adapt_gain': _stat(gains)[0], 'adapt_gain_ci95': _stat(gains)[1],
          'adapted_ensemble': _stat(ens_adapted)[0],
          'adapted_ensemble_ci95': _stat(ens_adapted)[1]}
    rows.append({
        'variant': name,
        'changes': ', '.join(f'{k}={v}' for k, v in
                             changes(config, name).items()),
        'test accuracy': report.fmt_mean_ci(acc), **report.seed_stats(acc),
        'seed ensemble': report.fmt_mean_ci(ensembled) if ensembled else '',
        'ensemble': ens_mean, 'ensemble_ci95': ens_ci, **adapt,
        'vs full': vs_full, 'delta': delta, 'delta_ci95': delta_ci,
        **per_speaker, 'params': next(iter(runs.values()))['params'],
        'epochs': cfg.train.epochs,
        'train s/run': round(sum(r['train_time_s'] for r in runs.values())
                             / len(runs)),
    })
  return rows


def write_tables(config, workdir, configs, results, folds, speakers,
                 ensembles, adapted):
  """voices.{md,csv}, loso.{md,csv} for the loso split, results.json."""
  rows = table_rows(config, configs, results, speakers, ensembles, adapted)
  adapt_columns = (['BN adapted', 'adapt gain', 'adapted seed ensemble']
                   if adapted else [])
  adapt_csv = (['adapted', 'adapted_ci95', 'adapt_gain', 'adapt_gain_ci95',
                'adapted_ensemble', 'adapted_ensemble_ci95']
               if adapted else [])
  columns = ['variant', 'changes', 'test accuracy', 'vs full',
             'seed ensemble', *adapt_columns, *speakers, 'params', 'epochs',
             'train s/run']
  csv_columns = ['variant', 'changes', *report.STATS, 'delta', 'delta_ci95',
                 'ensemble', 'ensemble_ci95', *adapt_csv, *speakers, 'params',
                 'epochs', 'train s/run']
  adapt_note = (
      f' "BN adapted": the runs scored after re-estimating their BatchNorm '
      f'statistics on {config.adapt_bn if config.adapt_bn > 0 else "all"} '
      'unlabelled recordings of the held-out speaker (eval.adapt), on '
      + ('the fold\'s other recordings' if config.adapt_bn > 0 else 'all of '
         'them') + '; "adapt gain": the paired gain over the same runs '
      'unadapted on the same recordings; "adapted seed ensemble": the '
      'seeds\' adapted probabilities averaged, per fold.' if adapted else '')
  split = config.data.split
  over = (f'{len(folds)} LOSO folds x seeds' if folds else 'seeds')
  steps = (' With ablation.equal_steps a variant with fewer or more training '
           'copies trains more or fewer epochs ("epochs"), so every variant '
           'takes the same optimizer steps.' if config.ablation.equal_steps
           else '')
  table = report.write_table(
      rows, os.path.join(workdir, 'voices'), columns,
      title=f'Voices recipe on FSDD, {split} split: test accuracy'
      + (', ablation' if len(configs) > 1 else ''),
      notes=[
          f'{sweep.seeds_note(config).capitalize()} (split seed '
          f'{config.data.split_seed}). "test accuracy": mean ± 95% CI '
          f'(Student t) over {over}; "vs full": mean ± 95% CI of the '
          'difference to the full recipe on the same fold and seed (paired); '
          'a speaker\'s column: the mean accuracy on that speaker\'s test '
          'recordings (for LOSO, the fold holding them out); "seed '
          'ensemble": the accuracy of the seeds\' averaged class '
          'probabilities (eval.ensemble), for LOSO the mean ± 95% CI over '
          'the folds, each fold\'s own ensemble.' + adapt_note + steps,
          f'{metrics.machine_note()} Train time excludes compilation.'],
      csv_columns=csv_columns)
  loso = {}
  if folds:
    loso_note = ('An "ensemble of k seeds" row holds one value per fold (the '
                 'seeds\' averaged probabilities); its mean ± 95% CI is over '
                 'the folds.' if ensembles else '')
    if adapted:
      loso_note += (
          ' A "BatchNorm adapted" row scores the runs after re-estimating '
          'their BatchNorm statistics on '
          f'{config.adapt_bn if config.adapt_bn > 0 else "all"} unlabelled '
          'recordings of the held-out speaker (eval.adapt).')
    by_variant = {}
    for (name, folder, _), r in results.items():
      by_variant.setdefault(name, []).append({**r, 'fold': folder})
    for (name, folder), e in ensembles.items():
      by_variant.setdefault(f'{name}, ensemble of {e["members"]} seeds',
                            []).append({**e, 'fold': folder})
    for key, a in adapted.items():
      label = (f'{key[0]}, BatchNorm adapted' if len(key) == 3 else
               f'{key[0]}, ensemble of {a["members"]} seeds, adapted')
      by_variant.setdefault(label, []).append(
          {'test_accuracy': a['adapted_accuracy' if len(key) == 3 else
                              'test_accuracy'],
           'fold': key[1]})
    loso = {'loso': sweep.write_loso_table(
        config, workdir, by_variant, folds, 'the voices recipe',
        label='variant', note=loso_note)}
  metrics.write_results(workdir, {'table': report.select(rows, csv_columns),
                                  **loso})
  print(table)
  return rows


def run(config, workdir):
  """Trains every variant x fold x seed not yet finished; writes the tables."""
  configs = check(config)
  recordings = fsdd.list_recordings(
      fetch.ensure_fsdd(config.data.dir, config.data.allow_download))
  signature = fsdd.signature(recordings, logmel.FEATURES)
  if config.data.split == 'loso':
    per_speaker = collections.Counter(r.speaker for r in recordings)
    if config.adapt_bn >= min(per_speaker.values()):
      raise errors.ConfigError(
          f'adapt_bn={config.adapt_bn}: a held-out speaker has only '
          f'{min(per_speaker.values())} recordings; adapt on fewer, or -1 '
          'for all')
  workdir_lib.record_config(config, workdir, signature)
  folds = sweep.fold_folders(fsdd.loso_folds(config.data)) if (
      config.data.split == 'loso') else {}
  fold_fields = {folder: {'data.loso_fold': fold}
                 for folder, (fold, _) in folds.items()} or {'': {}}
  results, todo = {}, []
  for seed in sweep.seed_range(config):
    for folder, fields in fold_fields.items():
      for name, variant_cfg in configs.items():
        cfg = base.derive(variant_cfg, experiment='supervised', seed=seed,
                          seeds=1, **fields)
        run_dir = os.path.join(workdir, name, folder, f'seed{seed}')
        result = finished(cfg, run_dir, signature)
        if result is None:
          todo.append(((name, folder, seed), cfg, run_dir))
        else:
          results[name, folder, seed] = result
  minutes = sum(estimate_min(config, cfg, len(recordings))
                for _, cfg, _ in todo)
  logging.info(
      'voices: %d variants x %d folds x %d seeds, %d finished, %d to run; '
      'estimated time %s (rough, the 2-core CPU: estimate_min_per_1k_rows=%g)',
      len(configs), len(fold_fields), config.seeds, len(results), len(todo),
      console.duration(60 * minutes), config.estimate_min_per_1k_rows)
  runs = console.RunCounter(len(todo))
  for key, cfg, run_dir in todo:
    label = ' '.join(filter(None, (key[0], key[1], f'seed {key[2]}')))
    runs.start(label)
    results[key] = supervised.train_and_evaluate(
        cfg, run_dir, specaugment.make(cfg.augment, logmel.NUM_CLASSES))
    runs.finish(f'{label}: test_accuracy {results[key]["test_accuracy"]:.4f}')
  speakers = fsdd.speakers(recordings)
  ensembles, adapted = gather(workdir, results,
                              list(sweep.seed_range(config)),
                              config.adapt_bn if folds else 0)
  return write_tables(config, workdir, configs, results, folds, speakers,
                      ensembles, adapted)
