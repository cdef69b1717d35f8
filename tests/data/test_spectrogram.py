"""Log-mel spectrogram images of FSDD: shape, range, content, caching."""

import os

import numpy as np
import pytest

from configs import spectrogram_cnn
import data
from data import spectrogram
import errors
from tests.data import fsdd_fakes

FEATURE = dict(sample_rate=8000, n_mels=32, n_fft=256, hop_length=64,
               frames=32, top_db=80.0)


def small_config(root, cache_dir, **fields):
  """The experiment's data config with 32x32 images, caching in cache_dir."""
  cfg = spectrogram_cnn.get_config().data
  cfg.update(dir=str(root), cache_dir=str(cache_dir), **FEATURE)
  cfg.update(fields)
  return cfg


def tone(freq, seconds, rate=8000):
  t = np.arange(int(rate * seconds)) / rate
  return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize('time_axis', ['pad', 'resize'])
def test_image_shape_range_and_peak(time_axis):
  for seconds in (0.2, 2.0):  # shorter and longer than the 0.496 s extent
    img = spectrogram.log_mel_image(tone(1000, seconds), time_axis=time_axis,
                                    **FEATURE)
    assert img.shape == (32, 32) and img.dtype == np.float32
    assert img.min() >= 0.0 and img.max() == pytest.approx(1.0)


def test_pad_mode_keeps_the_time_scale_and_pads_with_silence():
  img = spectrogram.log_mel_image(tone(1000, 0.2), time_axis='pad', **FEATURE)
  # 0.2 s = 25 hops: later frames are the silence floor.
  assert img[:, 28:].max() == 0.0
  assert img[:, :20].max() == pytest.approx(1.0)
  stretched = spectrogram.log_mel_image(tone(1000, 0.2), time_axis='resize',
                                        **FEATURE)
  assert stretched[:, 28:].max() > 0.5


def test_higher_pitch_is_higher_in_the_image():
  rows = [np.argmax(spectrogram.log_mel_image(
      tone(f, 0.3), time_axis='pad', **FEATURE)[:, 5]) for f in (300, 3000)]
  assert rows[1] < rows[0]  # row 0 is the top (highest band)


def test_render_colormap_and_one_channel():
  img = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
  rgb = spectrogram.render(img, 3, 'magma')
  gray = spectrogram.render(img, 1, 'magma')
  assert rgb.shape == (4, 4, 3) and rgb.dtype == np.uint8
  assert gray.shape == (4, 4, 1)
  np.testing.assert_array_equal(gray[..., 0], np.round(img * 255))
  assert tuple(rgb[0, 0]) != tuple(rgb[-1, -1])


def test_dataset_splits_shapes_range_and_labels(fake_fsdd, tmp_path):
  s = data.get_dataset(small_config(fake_fsdd, tmp_path / 'cache'))
  sizes = [len(s.x_train), len(s.x_val), len(s.x_test)]
  assert sizes == [140, 20, 20]  # 14/2/2 of each digit's 18 recordings
  assert s.x_train.shape[1:] == (32, 32, 3) and s.x_train.dtype == np.float32
  assert 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0
  np.testing.assert_array_equal(np.bincount(s.y_test), np.full(10, 2))
  assert len(s.info['test_files']) == 20
  names = [os.path.basename(p) for p in s.info['test_files']]
  assert all(int(n[0]) == y for n, y in zip(names, s.y_test))
  assert s.info['test_speakers'] == [n.split('_')[1] for n in names]


def test_loso_fold_holds_out_one_speaker(fake_fsdd, tmp_path):
  s = data.get_dataset(small_config(fake_fsdd, tmp_path, split='loso',
                                    loso_fold=1))
  assert set(s.info['test_speakers']) == {'bob'}
  assert [len(s.x_train), len(s.x_val), len(s.x_test)] == [110, 10, 60]


def test_cache_hit_skips_compute_and_params_change_the_key(
    fake_fsdd, tmp_path, monkeypatch):
  cache_dir = tmp_path / 'cache'
  first = data.get_dataset(small_config(fake_fsdd, cache_dir))
  assert len(os.listdir(cache_dir)) == 1

  def fail(*a, **k):
    raise AssertionError('recomputed although cached')
  monkeypatch.setattr(spectrogram, 'log_mel_image', fail)
  again = data.get_dataset(small_config(fake_fsdd, cache_dir))
  np.testing.assert_array_equal(first.x_train, again.x_train)
  with pytest.raises(AssertionError, match='recomputed'):
    data.get_dataset(small_config(fake_fsdd, cache_dir, cmap='viridis'))


def test_one_channel_and_train_fraction(fake_fsdd, tmp_path):
  s = data.get_dataset(small_config(fake_fsdd, tmp_path, channels=1,
                                    train_fraction=0.5))
  assert s.x_train.shape == (70, 32, 32, 1)
  np.testing.assert_array_equal(np.bincount(s.y_train), np.full(10, 7))


@pytest.mark.parametrize('field,value', [
    ('channels', 2), ('time_axis', 'stretch'), ('cmap', 'no_such_map'),
    ('hop_length', 0), ('train_fraction', 0.0)])
def test_bad_fields_are_config_errors_naming_the_field(
    fake_fsdd, tmp_path, field, value):
  with pytest.raises(errors.ConfigError, match=f'data.{field}'):
    data.get_dataset(small_config(fake_fsdd, tmp_path, **{field: value}))


def test_shared_fsdd_spectrograms(shared_fsdd, tmp_path):
  """The real files of two speakers, at the full 128x128 size."""
  fsdd_fakes.copy_two_speakers(shared_fsdd, tmp_path / 'data')
  cfg = spectrogram_cnn.get_config('speaker').data
  cfg.update(dir=str(tmp_path / 'data'), cache_dir=str(tmp_path / 'cache'))
  s = data.get_dataset(cfg)
  assert s.x_test.shape == (30, 128, 128, 3)
  assert len(s.x_train) + len(s.x_val) == 30
  assert 0.0 <= s.x_test.min() and s.x_test.max() <= 1.0
  assert s.x_test.std() > 0.1  # real content, not a blank image
