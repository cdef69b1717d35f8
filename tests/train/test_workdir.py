"""train/workdir.py: config.json of runs made before a field was added."""

import json

import ml_collections
import pytest

import errors
from train import workdir as workdir_lib


def _old_run(tmp_path, data):
  """A workdir with a checkpoint and a config.json from before loso_fold."""
  (tmp_path / 'checkpoints' / '1').mkdir(parents=True)
  (tmp_path / 'config.json').write_text(json.dumps({'data': data, 'seed': 0}))
  return str(tmp_path)


def test_added_field_reads_as_its_old_behaviour(tmp_path):
  workdir = _old_run(tmp_path, {'split': 'speaker', 'test_speaker': 'theo'})
  assert workdir_lib.load_config(workdir).data.loso_fold == -1
  config = ml_collections.ConfigDict(
      {'data': {'split': 'speaker', 'test_speaker': 'theo', 'loso_fold': -1},
       'seed': 0, 'defaults': 'flax'})
  workdir_lib.check_config(config, workdir)  # resumes
  config.data.loso_fold = 2
  with pytest.raises(errors.ConfigError, match=r'data.loso_fold: -1 -> 2'):
    workdir_lib.check_config(config, workdir)


def test_added_field_is_not_invented_where_it_does_not_belong(tmp_path):
  workdir = _old_run(tmp_path, {'train_per_class': 300})  # MNIST: no speakers
  assert 'loso_fold' not in workdir_lib.load_config(workdir).data
