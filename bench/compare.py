"""JAX vs Keras side by side: images/s of each workload, one invocation.

python -m bench.compare [--workloads=gan,cnn_table2] [--repeats=3] [--steps=N]
Every measurement is a fresh process: bench/jax_twins.py under this python
and bench/keras_twins.py under $KERAS_PYTHON (else .venv-keras/bin/python),
alternating, so that neither warms the other's caches and load changes hit
both alike. Prints the CPU, date and versions and a Markdown table of the
median of --repeats runs per side, for docs/benchmarks.md. Without the Keras
venv it says how to install it and fills the JAX column only:
  python -m venv .venv-keras && .venv-keras/bin/pip install -r bench/requirements-keras.txt
--steps overrides every workload's own step count (epochs for the fit rows);
--steps=1 --repeats=1 is a quick check that every twin runs.
"""

import collections
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys

from absl import app
from absl import flags

ROOT = pathlib.Path(__file__).resolve().parents[1]
INSTALL = ('python -m venv .venv-keras && '
           '.venv-keras/bin/pip install -r bench/requirements-keras.txt')

# label: the table's row; keras: the Keras twin's workload (rows that share
# one reuse its runs); steps: train steps per run, or epochs for fit rows.
Row = collections.namedtuple('Row', 'label keras steps')
# Keyed by the JAX twin's workload.
ROWS = {
    'gan': Row('GAN step: G + D + 0.1 CE of MobileNetV2 + its step (batch 128)',
               'gan', 5),
    'gan_gd': Row('GAN step: G + D alone (batch 128)', 'gan_gd', 5),
    'attention_base': Row('Table 10 base: fit, epochs + validation (batch 32)',
                          'attention_base', 10),
    'attention_se': Row('Table 10 se: fit, epochs + validation (batch 32)',
                        'attention_se', 10),
    'cnn_table2': Row('Table 2 CNN: train step (batch 32)', 'cnn_table2', 150),
    'lenet_cbam': Row('LeNet-CBAM, 128x128x3: train step (batch 16)',
                      'lenet_cbam', 40),
    'seeds5_vmap': Row('base x 5 seeds: JAX vmapped, Keras sequential',
                       'seeds5', 10),
    'seeds5': Row('base x 5 seeds: both sequential', 'seeds5', 10),
}

flags.DEFINE_list('workloads', list(ROWS), 'Rows to measure.')
flags.DEFINE_integer('repeats', 3, 'Runs per side and workload; medians shown.')
flags.DEFINE_integer('steps', None, 'Overrides every workload\'s steps.')
FLAGS = flags.FLAGS


def keras_python():
  """The Keras venv's python, or None when it is not installed."""
  path = os.environ.get('KERAS_PYTHON') or str(ROOT / '.venv-keras/bin/python')
  return path if os.access(path, os.X_OK) else None


def run_twin(cmd):
  """The JSON line a twin printed last; a failed run raises with its stderr."""
  proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                        check=False)
  lines = [l for l in proc.stdout.splitlines() if l.startswith('{')]
  if proc.returncode or not lines:
    tail = '\n'.join(proc.stderr.splitlines()[-20:])
    raise RuntimeError(f'{" ".join(cmd)} exited {proc.returncode}:\n{tail}')
  return json.loads(lines[-1])


def _args(workload, steps):
  return [f'--workload={workload}', f'--steps={steps}', '--repeats=1']


def measure(names, repeats, steps, keras_py, run=run_twin):
  """{name: (JAX results, Keras results)}, JAX and Keras runs alternating.

  A Keras workload shared by several rows runs once per round for all of
  them. keras_py None: no Keras runs.
  """
  results = {}
  groups = collections.defaultdict(list)
  for name in names:
    groups[ROWS[name].keras].append(name)
  for keras_workload, group in groups.items():
    n = steps or ROWS[group[0]].steps
    jax_runs = {name: [] for name in group}
    keras_runs = []
    for _ in range(repeats):
      for name in group:
        jax_runs[name].append(run(
            [sys.executable, '-m', 'bench.jax_twins', *_args(name, n)]))
        _log('JAX', jax_runs[name][-1])
      if keras_py:
        keras_runs.append(run([keras_py, 'bench/keras_twins.py',
                               *_args(keras_workload, n)]))
        _log('Keras', keras_runs[-1])
    results.update({name: (jax_runs[name], keras_runs) for name in group})
  return results


def _log(side, result):
  print(f'{side} {result["workload"]}: {result["images_per_s"]:.1f} images/s',
        file=sys.stderr, flush=True)


def cpu_model(lscpu_text=None):
  """lscpu's "Model name", else platform.processor()."""
  if lscpu_text is None:
    try:
      lscpu_text = subprocess.run(['lscpu'], capture_output=True, text=True,
                                  check=False).stdout
    except OSError:
      lscpu_text = ''
  for line in lscpu_text.splitlines():
    key, _, value = line.partition(':')
    if key.strip() == 'Model name':
      return value.strip()
  return platform.processor() or 'unknown CPU'


def _median(runs):
  return statistics.median(r['images_per_s'] for r in runs)


def _versions(results):
  first = lambda side: next((runs[side][0] for runs in results.values()
                             if runs[side]), {})
  jax_run, keras_run = first(0), first(1)
  jax = f'jax {jax_run.get("jax")}, flax {jax_run.get("flax")}'
  if not keras_run:
    return jax
  return f'{jax}; tensorflow {keras_run["tf"]}, keras {keras_run["keras"]}'


def table(results, repeats, cpu, date):
  """The report: a header line and a Markdown table, one row per workload."""
  lines = [f'{cpu}, {os.cpu_count()} cores visible; {date}; '
           f'{_versions(results)}; median of {repeats} alternating runs each',
           '',
           '| workload | JAX images/s | Keras images/s | JAX / Keras '
           '| params JAX / Keras |',
           '|---|---|---|---|---|']
  for name, (jax_runs, keras_runs) in results.items():
    ips = _median(jax_runs)
    params = f'{jax_runs[0]["params"]:,}'
    if keras_runs:
      keras_ips = _median(keras_runs)
      cells = f'{keras_ips:.1f} | {ips / keras_ips:.2f}x'
      params += f' / {keras_runs[0]["params"]:,}'
      # BatchNorm statistics ('state') must match too.
      if any(keras_runs[0][k] != jax_runs[0][k] for k in ('params', 'state')):
        params += ' (differ)'
    else:
      cells = '- | -'
    lines.append(f'| {ROWS[name].label} | {ips:.1f} | {cells} | {params} |')
  return '\n'.join(lines)


def compare(names, repeats, steps, keras_py, run=run_twin):
  """Measures `names` and prints the report (the Keras note first)."""
  if not keras_py:
    print('Keras side skipped: no .venv-keras/bin/python (nor $KERAS_PYTHON); '
          f'install it from the repository root with: {INSTALL}', flush=True)
  results = measure(names, repeats, steps, keras_py, run)
  date = datetime.datetime.now(datetime.timezone.utc).strftime(
      '%Y-%m-%d %H:%M UTC')
  print(table(results, repeats, cpu_model(), date))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  unknown = [w for w in FLAGS.workloads if w not in ROWS]
  if unknown:
    raise app.UsageError(f'--workloads: unknown {unknown}; choices: '
                         f'{", ".join(ROWS)}')
  compare(FLAGS.workloads, FLAGS.repeats, FLAGS.steps, keras_python())


if __name__ == '__main__':
  app.run(main)
