"""python docs/results/voices/ablation_h200/make_tables.py RUNS_DIR

Joins the ablation's two H200 sessions into this folder's runs.csv and
ablation.md: runs_2026-11-26.csv (commit 19b0919; no adapted scores) and the
finished runs under RUNS_DIR (2026-11-27: <group>/<variant>/loso_<speaker>/
seed<k>/, each with results.json and the driver's cached test outputs). Where
both trained the same variant, fold and seed, the later run stands (it
belongs to a group of six folds trained by one process) and the pair is
listed as a reproducibility check.
"""

import csv
import glob
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.getcwd())
from eval import report  # pylint: disable=g-import-not-at-top

HERE = os.path.dirname(os.path.abspath(__file__))
SPEAKERS = ('george', 'jackson', 'lucas', 'nicolas', 'theo', 'yweweler')
VARIANTS = {  # in table order, with what each changes
    'full': '—',
    'no_utterance_norm': 'training-set z-score instead of per utterance',
    'no_speed': 'no 0.9/1.1 speed copies (60 epochs, same steps)',
    'no_shift': 'no time shift',
    'no_time_mask': 'no SpecAugment time masks',
    'no_freq_mask': 'no SpecAugment frequency masks',
    'no_noise': 'no additive noise',
    'no_mixup': 'no mixup',
    'no_residual': 'plain CNN, no skip connections',
    'plus_pitch': '± 2 semitone pitch copies (12 epochs, same steps)',
}
FIELDS = ('variant', 'fold', 'seed', 'test_accuracy', 'as_trained_490',
          'adapted_490', 'epochs', 'train_time_s', 'device', 'commit', 'date')


def old_runs():
  with open(os.path.join(HERE, 'runs_2026-11-26.csv')) as f:
    return [dict(r, as_trained_490='', adapted_490='', commit='19b0919',
                 date='2026-11-26') for r in csv.DictReader(f)]


def new_runs(root):
  rows = []
  for path in sorted(glob.glob(os.path.join(
      root, '*', '*', 'loso_*', 'seed*', 'results.json'))):
    run_dir = os.path.dirname(path)
    with open(path) as f:
      r = json.load(f)
    # The driver's cached outputs: as trained and adapted on the 490
    # recordings left after the 10 it adapted on (eval.adapt).
    outputs = np.load(glob.glob(os.path.join(run_dir, 'test_outputs-*.npz'))[0])
    parts = run_dir.split(os.sep)
    rows.append(dict(
        variant=parts[-3], fold=parts[-2][len('loso_'):], seed=r['seed'],
        test_accuracy=r['test_accuracy'],
        as_trained_490=round(float(outputs['accuracy']), 6),
        adapted_490=round(float(outputs['adapted_accuracy']), 6),
        epochs=r['epochs_run'], train_time_s=round(r['train_time_s'], 1),
        device=r['provenance']['device'],
        commit=r['provenance']['git_commit'][:7], date='2026-11-27'))
  return rows


def fmt(values, signed=False):
  """report.fmt_mean_ci, with a '+' on positive differences."""
  text = report.fmt_mean_ci(values)
  return '+' + text if signed and not text.startswith('-') else text


def main(root):
  old, new = old_runs(), new_runs(root)
  key = lambda r: (r['variant'], r['fold'], int(r['seed']))
  table = {key(r): r for r in old}
  repeats = [(table[key(r)], r) for r in new if key(r) in table]
  table.update({key(r): r for r in new})
  with open(os.path.join(HERE, 'runs.csv'), 'w', newline='') as f:
    w = csv.DictWriter(f, FIELDS)
    w.writeheader()
    w.writerows(old + new)

  acc = lambda k, field='test_accuracy': float(table[k][field])
  adapted_diff = lambda k: (acc(k, 'adapted_490') -
                            acc(('full', *k[1:]), 'adapted_490'))
  lines = [
      '### Voices recipe LOSO ablation, seeds 0-2, one NVIDIA H200',
      '',
      '| variant | what changes | runs | LOSO mean ± 95 % CI | seed 0 / 1 / 2 '
      '| vs full, paired | adapted (2026-11-27 runs) | adapted vs full, '
      'paired | ' + ' | '.join(SPEAKERS) + ' |',
      '|---|---|---|---|---|---|---|---|' + '---|' * len(SPEAKERS)]
  for name, what in VARIANTS.items():
    keys = sorted(k for k in table if k[0] == name)
    pairs = [k for k in keys if ('full', k[1], k[2]) in table]
    seeds = [[acc(k) for k in keys if k[2] == s] for s in range(3)]
    seed_means = ' / '.join(f'{np.mean(v):.4f}' if len(v) == 6 else
                            f'({len(v)} of 6)' for v in seeds)
    adapted = [k for k in keys if table[k]['adapted_490'] != '']
    adapted_pairs = [k for k in adapted
                     if table.get(('full', k[1], k[2]), {}).get('adapted_490')]
    speakers = [np.mean([acc(k) for k in keys if k[1] == s])
                for s in SPEAKERS]
    lines.append('| ' + ' | '.join([
        name, what, str(len(keys)), fmt([acc(k) for k in keys]), seed_means,
        '' if name == 'full' else
        f'{fmt([acc(k) - acc(("full", *k[1:])) for k in pairs], True)} '
        f'({len(pairs)})',
        f'{fmt([acc(k, "adapted_490") for k in adapted])} ({len(adapted)})'
        if adapted else '',
        '' if name == 'full' or not adapted_pairs else
        f'{fmt([adapted_diff(k) for k in adapted_pairs], True)} '
        f'({len(adapted_pairs)})',
        *(f'{m:.4f}' for m in speakers)]) + ' |')
  diffs = [float(b['test_accuracy']) - float(a['test_accuracy'])
           for a, b in repeats]
  lines += [
      '',
      'Test accuracy on the held-out speaker (500 recordings per fold): mean '
      '± 95 % CI (Student t) over every run of the variant (6 folds x seeds); '
      '"vs full": the same over the paired differences to the full recipe on '
      'the same fold and seed (pairs in brackets); "adapted": after '
      're-estimating BatchNorm statistics on 10 unlabelled recordings of the '
      'held-out speaker, scored on its other 490 (eval.adapt; only the '
      '2026-11-27 runs have it); a speaker\'s column: the mean over seeds of '
      'the fold that holds that speaker out. Runs: seed 0 of every variant '
      'and seed 1 of '
      'full, no_utterance_norm, no_mixup and five folds of no_speed from '
      '2026-11-26 (commit 19b0919); the rest of seeds 1-2 from 2026-11-27 '
      f'(commit {new[0]["commit"]}); plus_pitch stops at seed 0 and one run '
      'of seed 1.',
      '',
      f'The same variant, fold and seed trained in both sessions ({len(diffs)} '
      f'runs): later minus earlier {fmt(diffs, True)}, mean |difference| '
      f'{np.mean(np.abs(diffs)):.4f}, largest {max(diffs, key=abs):+.4f}; '
      'the later run stands in the table.',
      '',
      '| variant | fold | seed | 2026-11-26 | 2026-11-27 |',
      '|---|---|---|---|---|']
  lines += [f'| {a["variant"]} | {a["fold"]} | {a["seed"]} | '
            f'{float(a["test_accuracy"]):.3f} | '
            f'{float(b["test_accuracy"]):.3f} |' for a, b in repeats]
  with open(os.path.join(HERE, 'ablation.md'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
  print('\n'.join(lines))


if __name__ == '__main__':
  main(sys.argv[1])
