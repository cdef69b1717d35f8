"""bench.bench_gan's ceiling: the step's arithmetic as XLA counts it."""

import jax
import jax.numpy as jnp
import pytest

from bench import bench_gan


def test_cost_analysis_counts_only_the_transposed_convs_valid_taps():
  # The premise of step_gflop: the generator's 7x7x256 -> 14x14x128 layer
  # costs its valid multiply-adds, 32 taps per output axis (lax's SAME
  # transposed conv of 5 taps over 7 inputs), not the 14 * 5 of the
  # zero-dilated input nor the 7 * 5 with padding taps.
  x, w = jnp.ones((1, 7, 7, 256)), jnp.ones((5, 5, 256, 128))
  conv = jax.jit(lambda x, w: jax.lax.conv_transpose(
      x, w, (2, 2), 'SAME', dimension_numbers=('NHWC', 'HWIO', 'NHWC')))
  flops = conv.lower(x, w).cost_analysis()['flops']
  assert flops == 2 * 32 ** 2 * 256 * 128


def test_step_gflop_scales_with_the_batch_and_counts_the_classifier():
  gd_64 = bench_gan.step_gflop(64, 0.35, aux=False)
  gd_128 = bench_gan.step_gflop(128, 0.35, aux=False)
  full_128 = bench_gan.step_gflop(128, 0.35, aux=True)
  # Everything but the optimizer updates (a few MFLOP) is per image.
  assert gd_128 / gd_64 == pytest.approx(2.0, rel=0.01)
  assert full_128 > gd_128 * 1.01
  # G + D is tens of GFLOP at batch 128 (docs/benchmarks.md: 92.5).
  assert 50 < gd_128 < 150
