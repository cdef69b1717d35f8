"""train/workdir.py: config.json of runs made before a field was added."""

import json

import jax
import ml_collections
import numpy as np
import pytest

from configs import attention_mnist
from configs import fsdd_voices
from configs import mfcc_fsdd
from configs import spectrogram_cnn
from configs import study
import errors
import nets
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


def test_a_moved_data_or_cache_folder_resumes_other_fields_do_not(tmp_path):
  # A clone elsewhere (or another cache folder) must resume a run, say the
  # study's MFCC stage: its config.json once held the absolute cache path.
  workdir = _old_run(tmp_path, {'dir': '/old/data', 'cache_dir': '/old/cache',
                                'n_mfcc': 13})
  config = ml_collections.ConfigDict(
      {'data': {'dir': '/new/data', 'cache_dir': '', 'n_mfcc': 13},
       'seed': 0, 'defaults': 'flax'})
  workdir_lib.check_config(config, workdir)
  config.data.n_mfcc = 20
  with pytest.raises(errors.ConfigError, match=r'data.n_mfcc: 13 -> 20'):
    workdir_lib.check_config(config, workdir)


def test_mfcc_config_records_no_machine_path():
  assert mfcc_fsdd.get_config().data.cache_dir == ''


def test_added_field_is_not_invented_where_it_does_not_belong(tmp_path):
  workdir = _old_run(tmp_path, {'train_per_class': 300})  # MNIST: no speakers
  assert 'loso_fold' not in workdir_lib.load_config(workdir).data


# Issue 12's fields, and the config whose `ours` variant each run made before
# them holds: that variant less the fields is what such a run's config.json
# has (beside seeds, which sweeps write into each run as 1).
PROTOCOL_FIELDS = [
    (attention_mnist, 'ours', 'self_attention',
     ('model.attention_residual', 'model.channel_pool')),
    (spectrogram_cnn, 'lenet_cbam,ours', 'lenet_cbam',
     ('model.channel_pool', 'model.noise_models')),
    (mfcc_fsdd, 'ours', None, ('approach_b.embedding',)),
]


def _json(config):
  return json.loads(config.to_json_best_effort())


def _pop(tree, field):
  *groups, name = field.split('.')
  for g in groups:
    tree = tree[g]
  return tree.pop(name)


@pytest.mark.parametrize('module,arg,model,fields', PROTOCOL_FIELDS)
def test_runs_before_the_protocol_fields_read_as_ours(tmp_path, module, arg,
                                                      model, fields):
  ours = module.get_config(arg)
  old = _json(ours)
  for field in fields:
    assert _pop(old, field) == workdir_lib.ADDED_FIELDS[field][1]
  (tmp_path / 'checkpoints' / '1').mkdir(parents=True)
  (tmp_path / 'config.json').write_text(json.dumps(old))
  workdir = str(tmp_path)
  loaded = workdir_lib.load_config(workdir)
  assert _json(loaded) == _json(ours)
  workdir_lib.check_config(ours, workdir)  # resumes
  default = module.get_config(arg.replace('ours', '').strip(',') or None)
  with pytest.raises(errors.ConfigError, match='another config') as e:
    workdir_lib.check_config(default, workdir)
  for field in fields:
    was, now = workdir_lib.ADDED_FIELDS[field][1], _pop(_json(default), field)
    assert (f'{field}: {was!r} -> {now!r}' in str(e.value)) == (was != now)
  if model:
    # The loaded run builds the earlier net: the same params and training
    # outputs (dropout, noise) as the `ours` variant's.
    channels = 1 if module is attention_mnist else 3
    x = jax.random.uniform(jax.random.PRNGKey(0), (2, 28, 28, channels))
    rngs = {'dropout': jax.random.PRNGKey(1), 'noise': jax.random.PRNGKey(2)}
    outs = []
    for config in (loaded, ours):
      net = nets.get_model(config.model, config.defaults)
      variables = net.init(jax.random.PRNGKey(3), x)
      outs.append((variables, net.apply(variables, x, train=True, rngs=rngs,
                                        mutable=['batch_stats'])[0]))
    jax.tree.map(np.testing.assert_array_equal, *outs)


@pytest.mark.parametrize('config', [
    # The Table-2 classifier of the augmentation grids and the GAN's.
    {'model': {'name': 'base', 'dropout': 0.5}, 'seed': 0,
     'data': {'train_per_class': 300}},
    # A stage of the MFCC experiment (no approach_b group).
    {'model': {'name': 'autoencoder', 'hidden': 256}, 'seed': 0,
     'data': {'name': 'fsdd_mfcc_flat', 'test_speaker': 'theo'}},
    # configs/fsdd_voices.py: an FSDD CNN with model.dtype, no such fields.
    {'model': {'name': 'voice_resnet', 'dtype': 'float32'}, 'seed': 0,
     'data': {'name': 'fsdd_logmel', 'test_speaker': 'theo', 'loso_fold': -1}},
])
def test_protocol_fields_are_not_invented_elsewhere(tmp_path, config):
  (tmp_path / 'config.json').write_text(json.dumps(config))
  loaded = workdir_lib.load_config(str(tmp_path)).to_dict()
  assert loaded['model'] == config['model'] and 'approach_b' not in loaded


def test_voices_runs_before_freq_shift_resume_with_it_off(tmp_path):
  config = fsdd_voices.get_config('loso')
  old = _json(config)
  assert _pop(old, 'augment.freq_shift') == 0
  (tmp_path / 'checkpoints' / '1').mkdir(parents=True)
  (tmp_path / 'config.json').write_text(json.dumps(old))
  assert _json(workdir_lib.load_config(str(tmp_path))) == _json(config)
  workdir_lib.check_config(config, str(tmp_path))  # resumes
  config.augment.freq_shift = 2
  with pytest.raises(errors.ConfigError, match='augment.freq_shift: 0 -> 2'):
    workdir_lib.check_config(config, str(tmp_path))


@pytest.mark.parametrize('module,arg', [(fsdd_voices, 'loso'),
                                        (mfcc_fsdd, None),
                                        (study, None)])
def test_runs_before_lr_schedule_resume_with_a_constant_rate(tmp_path, module,
                                                             arg):
  # Every train group, however deep a config nests it, lacked the field.
  config = module.get_config(arg)
  old = _json(config)
  paths = [k for k in workdir_lib.flat(old) if k.endswith('.lr_schedule')
           or k == 'lr_schedule']
  assert len(paths) >= (12 if module is study else 1)
  for path in paths:
    assert _pop(old, path) == 'constant'
  (tmp_path / 'checkpoints' / '1').mkdir(parents=True)
  (tmp_path / 'config.json').write_text(json.dumps(old))
  assert _json(workdir_lib.load_config(str(tmp_path))) == _json(config)
  workdir_lib.check_config(config, str(tmp_path))  # resumes
  *groups, name = paths[0].split('.')
  group = config
  for g in groups:
    group = group[g]
  group[name] = 'cosine'
  with pytest.raises(errors.ConfigError,
                     match=f"{paths[0]}: 'constant' -> 'cosine'"):
    workdir_lib.check_config(config, str(tmp_path))
