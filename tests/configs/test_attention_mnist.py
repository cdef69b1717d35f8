"""configs/attention_mnist.py: the study's blocks by default, `ours` the earlier."""

import pytest

from configs import attention_mnist
from configs import base


def test_defaults_are_the_studys_blocks_and_ours_the_earlier():
  config = attention_mnist.get_config()
  assert (config.model.attention_residual, config.model.channel_pool) == (
      False, 'avg')
  ours = attention_mnist.get_config('sweep,ours')
  assert (ours.model.attention_residual, ours.model.channel_pool) == (
      True, 'avg_max')
  assert ours.experiment == 'attention_sweep'


def test_table10_sweep_trains_five_seeds():
  assert attention_mnist.get_config('sweep').seeds == 5
  assert attention_mnist.get_config().seeds == 1


def test_unknown_arg_lists_the_variants():
  with pytest.raises(base.UnknownArgError) as e:
    attention_mnist.get_config('residual')
  assert e.value.choices == ['sweep', 'ours']
