"""Problem 1 timings: MFCC extraction of FSDD (first and cached) and the
Approach-B embedding of every utterance, after compilation.

python -m bench.bench_mfcc [--data_dir=../shared/data] [--repeats=5]
The first extraction uses an empty temporary cache; the cached one reads the
entry it wrote. The embedding uses untrained (random) AE and merger weights:
its cost does not depend on their values.
"""

import functools
import tempfile
import time

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

from configs import mfcc_fsdd
from data import mfcc
import nets
from nets import mlp

flags.DEFINE_string('data_dir', None, 'Data root (default: the config\'s).')
flags.DEFINE_integer('repeats', 5, 'Timed repeats; the best is kept.')
flags.DEFINE_integer('loop_utterances', 100,
                     'Utterances timed with the per-frame Python loop.')
FLAGS = flags.FLAGS


def _best(fn, repeats):
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - t0)
  return min(times)


def main(_):
  config = mfcc_fsdd.get_config()
  cfg = config.data
  if FLAGS.data_dir:
    cfg.dir = FLAGS.data_dir
  print(f'device: {jax.devices()[0].device_kind}, jax {jax.__version__}')
  recordings = mfcc.select_recordings(cfg)
  # librosa imports its submodules lazily on the first call: time it apart.
  t0 = time.perf_counter()
  mfcc.mfcc(np.zeros(cfg.sample_rate, np.float32), cfg)
  print(f'librosa first call (lazy imports): {time.perf_counter() - t0:.2f}s')
  with tempfile.TemporaryDirectory() as tmp:
    cfg.cache_dir = tmp
    t0 = time.perf_counter()
    feats, _, _ = mfcc.extract(cfg, recordings)
    first = time.perf_counter() - t0
    cached = _best(lambda: mfcc.extract(cfg, recordings)[0], FLAGS.repeats)
  print(f'MFCC extraction, {len(feats)} files: first run {first:.2f}s '
        f'(read + MFCC + cache write), cached {cached:.3f}s (best of '
        f'{FLAGS.repeats})')

  mean, std = mfcc.zscore_stats(feats)
  frames, lengths = mfcc.pad_frames(mfcc.normalise(feats, mean, std),
                                    max(len(f) for f in feats))
  b = config.approach_b
  ae = nets.get_model(b.frame_ae.model, config.defaults)
  merger = nets.get_model(b.merger.model, config.defaults)
  rng = jax.random.PRNGKey(0)
  ae_p = ae.init(rng, jnp.zeros((1, 2 * cfg.n_mfcc)))['params']
  m_p = merger.init(rng, jnp.zeros((1, ae.bottleneck + cfg.n_mfcc)))['params']
  frames, lengths = jnp.asarray(frames), jnp.asarray(lengths)
  embed = lambda: mlp.embed_utterances(ae, ae_p, merger, m_p, frames, lengths)
  t0 = time.perf_counter()
  jax.block_until_ready(embed())
  compile_s = time.perf_counter() - t0
  run_s = _best(embed, FLAGS.repeats)
  print(f'Approach-B embedding, {frames.shape[0]} utterances padded to '
        f'{frames.shape[1]} frames: {run_s:.3f}s after compile (best of '
        f'{FLAGS.repeats}; first call with compile {compile_s:.2f}s)')

  # Reference: the same embedding as a Python loop of jitted per-frame calls.
  encode = jax.jit(functools.partial(ae.encode, ae_p))
  merge = jax.jit(lambda h, f: merger.apply({'params': m_p},
                                            jnp.concatenate([h, f])))
  host_frames, host_lengths = np.asarray(frames), np.asarray(lengths)

  def loop(n):
    for f, t in zip(host_frames[:n], host_lengths[:n]):
      h = encode(np.concatenate([f[0], f[min(1, t - 1)]]))
      for i in range(2, t):
        h = merge(h, f[i])
    return h
  loop(2)
  n = FLAGS.loop_utterances
  loop_s = _best(lambda: loop(n), 1)
  print(f'Per-frame Python loop: {loop_s:.2f}s for {n} utterances '
        f'(~{loop_s * len(host_frames) / n:.0f}s for all {len(host_frames)})')


if __name__ == '__main__':
  app.run(main)
