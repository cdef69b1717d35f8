"""configs/mfcc_fsdd.py: the study's Problem-1 protocol and labelled variants."""

import re

import jax
import jax.numpy as jnp

from configs import mfcc_fsdd
import nets


def test_defaults_follow_section_1():
  config = mfcc_fsdd.get_config()
  ae = config.approach_a.ae.train
  # "L2 regularization (weight decay of 0.001) is applied to the dense
  # layers"; early stopping with patience 15 and no min_delta.
  assert (ae.l2, ae.l2_pattern, ae.patience, ae.min_delta) == (
      1e-3, 'kernel', 15, 0.0)
  assert config.approach_b.embedding == 'merger'
  assert config.seeds == 5
  assert mfcc_fsdd.get_config('smoke').seeds == 1


def test_variants():
  config = mfcc_fsdd.get_config('approach_a,approach_b,encoder_l2,'
                                'mean_latents,ours')
  assert config.approaches == ('approach_a', 'approach_b')
  assert config.approach_a.ae.train.l2_pattern == mfcc_fsdd.ENCODER_L2_PATTERN
  assert config.approach_b.embedding == 'mean_latents'
  assert config.approach_a.ae.train.min_delta == 1e-3


def test_encoder_l2_pattern_hits_the_encoder_kernels_only():
  stage = mfcc_fsdd.get_config().approach_a.ae
  model = nets.get_model(stage.model, 'keras')
  params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 40)))['params']
  paths = sorted('/'.join(str(k.key) for k in p)
                 for p, _ in jax.tree_util.tree_flatten_with_path(params)[0])
  hits = lambda pattern: [p for p in paths if re.search(pattern, p)]
  assert hits(mfcc_fsdd.ENCODER_L2_PATTERN) == [
      'encoder/Dense_0/kernel', 'encoder/Dense_1/kernel']
  assert hits(stage.train.l2_pattern) == [
      'Dense_0/kernel', 'Dense_1/kernel', 'encoder/Dense_0/kernel',
      'encoder/Dense_1/kernel']
