"""The command line both twin scripts share.

`bench/keras_twins.py` runs in its own venv as a script, so this module
imports nothing of the project (only absl).

  python bench/keras_twins.py --workload=NAME --steps=N --repeats=R
  python -m bench.jax_twins --workload=NAME --steps=N --repeats=R
print one JSON line: workload, images/s, parameter counts, versions.
"""

import json

from absl import app
from absl import flags

flags.DEFINE_string('workload', None, 'Workload name (WORKLOADS).')
flags.DEFINE_integer('steps', 10, 'Train steps per measurement (epochs for '
                     'the fit workloads).')
flags.DEFINE_integer('repeats', 1, 'Measurements; the best is kept.')
FLAGS = flags.FLAGS


def run(workloads, versions):
  """app.run of a twin: WORKLOADS[--workload](steps, repeats) ->
  (images/s, (params, state)), printed with `versions`."""

  def main(argv):
    if len(argv) > 1:
      raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
    if FLAGS.workload not in workloads:
      raise app.UsageError(f'--workload={FLAGS.workload!r}: choices: '
                           f'{", ".join(workloads)}')
    images_per_s, (params, state) = workloads[FLAGS.workload](
        FLAGS.steps, FLAGS.repeats)
    print(json.dumps({'workload': FLAGS.workload, 'images_per_s': images_per_s,
                      'params': params, 'state': state, **versions}))
  app.run(main)
