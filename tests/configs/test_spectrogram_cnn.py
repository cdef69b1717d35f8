"""configs/spectrogram_cnn.py: Tables 11 and 12 by default, `ours` the earlier."""

from configs import spectrogram_cnn


def test_defaults_follow_tables_11_and_12():
  config = spectrogram_cnn.get_config('sweep')
  assert config.model.noise_models == 'all'
  assert config.model.channel_pool == 'avg'
  assert config.train.l2_pattern == spectrogram_cnn.L2_PATTERN
  assert config.seeds == 3


def test_ours_restores_the_earlier_choices_only():
  default = spectrogram_cnn.get_config('lenet_hybrid').to_dict()
  ours = spectrogram_cnn.get_config('lenet_hybrid,ours').to_dict()
  assert ours['model'] == {**default['model'], 'channel_pool': 'avg_max',
                           'noise_models': 'hybrid'}
  assert ours['train'] == {**default['train'],
                           'l2_pattern': spectrogram_cnn.OURS_L2_PATTERN}
  assert {k: v for k, v in ours.items() if k not in ('model', 'train')} == {
      k: v for k, v in default.items() if k not in ('model', 'train')}


def test_smoke_is_one_seed():
  assert spectrogram_cnn.get_config('sweep,smoke').seeds == 1
