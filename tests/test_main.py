"""main.py end to end: clear errors, kill-and-resume, a smoke run on real data."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

import data
from eval import common
import nets
from tests.conftest import tiny_attention_config
from train import trainer

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _main(*args, workdir, wait=True, platforms='cpu'):
  cmd = [sys.executable, 'main.py', '--config=configs/attention_mnist.py',
         f'--workdir={workdir}', '--config.train.progress=False', *args]
  env = dict(os.environ)
  if platforms:
    env['JAX_PLATFORMS'] = platforms
  if not wait:
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
  return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                        timeout=300)


def _tiny_flags(data_dir):
  return [f'--config.data.dir={data_dir}', '--config.data.allow_download=False',
          '--config.data.train_per_class=20', '--config.data.test_per_class=5']


@pytest.mark.parametrize('args,expected', [
    (['--config.train.epoch=3'],
     "error: --config: unknown field 'epoch'. Did you mean \"epochs\""),
    (['--config=configs/gan_300.py:nonsense'],
     "error: config argument 'nonsense': unknown; choices: smoke"),
    (['--config=configs/nope.py'],
     'error: configs/nope.py: cannot load the config file'),
])
def test_config_mistakes_are_one_line(tmp_path, args, expected):
  r = _main(*args, workdir=tmp_path / 'w')
  assert r.returncode == 1
  assert r.stderr.strip().splitlines()[-1].startswith(expected), r.stderr
  assert 'Traceback' not in r.stderr
  assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('config', ['configs/gan_full.py',
                                    'configs/gan_base.py:judge'])
def test_whole_split_counts_take_overrides(tmp_path, config):
  # None ("all 60k") fields are typed: an int override parses, and the run
  # gets as far as the (missing) data.
  r = subprocess.run(
      [sys.executable, 'main.py', f'--config={config}', f'--workdir={tmp_path}/w',
       *_tiny_flags(tmp_path / 'nowhere')], cwd=ROOT, capture_output=True,
      text=True, timeout=300, env={**os.environ, 'JAX_PLATFORMS': 'cpu'})
  assert r.returncode == 1
  assert r.stderr.strip().splitlines()[-1].startswith('error: '), r.stderr
  assert 'nowhere' in r.stderr and 'overriding' not in r.stderr


def test_unknown_model_is_one_line_error(fake_mnist_dir, tmp_path):
  r = _main('--config.model.name=vit', *_tiny_flags(fake_mnist_dir),
            workdir=tmp_path / 'w')
  assert r.returncode == 1
  assert "error: model.name='vit': unknown model; choices:" in r.stderr
  assert not (tmp_path / 'w').exists()


def test_unknown_defaults_is_one_line_error(tmp_path):
  r = _main('--config.defaults=tf', workdir=tmp_path / 'w')
  assert r.returncode == 1
  assert r.stderr.strip().splitlines()[-1] == (
      "error: defaults='tf': unknown; choices: keras, flax"), r.stderr
  assert not (tmp_path / 'w').exists()


def test_missing_data_dir_is_one_line_error(tmp_path):
  r = _main(*_tiny_flags(tmp_path / 'nowhere'), workdir=tmp_path / 'w')
  assert r.returncode == 1
  line = [l for l in r.stderr.splitlines() if l.startswith('error:')]
  assert len(line) == 1 and 'nowhere' in line[0] and 'DIGITS_DATA_DIR' in line[0]
  assert not (tmp_path / 'w').exists()


def test_killed_run_resumes_to_the_same_parameters(fake_mnist_dir, tmp_path):
  epochs = 12
  flags = [*_tiny_flags(fake_mnist_dir), f'--config.train.epochs={epochs}']
  proc = _main(*flags, workdir=tmp_path / 'killed', wait=False)
  ckpt_dir = tmp_path / 'killed' / 'checkpoints'
  deadline = time.time() + 240
  while not (ckpt_dir / '2').exists() and proc.poll() is None:
    assert time.time() < deadline, 'no checkpoint appeared'
    time.sleep(0.02)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert proc.returncode == -signal.SIGKILL, 'run ended before it was killed'
  resumed = _main(*flags, '--verbosity=0', workdir=tmp_path / 'killed')
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert 'Resumed from' in resumed.stderr

  config = tiny_attention_config(fake_mnist_dir, epochs=epochs)
  straight = trainer.fit(config, str(tmp_path / 'straight'),
                         nets.get_model(config.model, config.defaults),
                         data.get_dataset(config.data))[0]
  killed = common.restore_state(str(tmp_path / 'killed'), config,
                                nets.get_model(config.model, config.defaults),
                                np.zeros((1, 28, 28, 1), np.float32))
  assert int(killed.step) == int(straight.step)
  for p, q in zip(jax.tree.leaves(straight.params), jax.tree.leaves(killed.params)):
    np.testing.assert_allclose(np.asarray(p), np.asarray(q), rtol=0, atol=0)


def test_smoke_on_real_mnist(shared_data, tmp_path):
  r = _main(f'--config.data.dir={shared_data}', '--config.train.epochs=1',
            '--config.data.train_per_class=30', '--config.data.test_per_class=10',
            '--config.model.name=cbam', workdir=tmp_path)
  assert r.returncode == 0, r.stderr[-2000:]
  result = json.loads((tmp_path / 'results.json').read_text())
  assert result['params'] == 225_425 and result['test_accuracy'] > 0.3
  r = subprocess.run([sys.executable, '-m', 'eval.attention_maps',
                      f'--workdir={tmp_path}', f'--out={tmp_path}/maps.png'],
                     cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert r.returncode == 0, r.stderr[-2000:]
  assert (tmp_path / 'maps.png').stat().st_size > 1000


def test_help_lists_configs_variants_and_overrides(tmp_path):
  r = subprocess.run([sys.executable, 'main.py', '--help'], cwd=ROOT,
                     capture_output=True, text=True, timeout=300)
  lines = r.stdout.splitlines()
  assert any(l.split() == ['spectrogram_cnn.py', 'lenet,', 'lenet_cbam,',
                           'lenet_hybrid,', 'sweep,', 'smoke,', 'speaker,',
                           'loso,', 'bf16,', 'ours'] for l in lines), r.stdout
  assert any(l.split() == ['gan_base.py', 'judge'] for l in lines)
  assert any(l.split() == ['study.py', 'smoke,', 'gan_700,', 'gan_1000,',
                           'gan_pipeline,', 'gan_full'] for l in lines)
  assert '--config.train.epochs=5' in r.stdout and '--workdir' in r.stdout


def test_terminal_shows_header_epochs_and_results_line(fake_mnist_dir,
                                                       tmp_path):
  # Every platform JAX finds, so that its TPU probe would log if not hidden.
  r = _main(*_tiny_flags(fake_mnist_dir), '--config.train.epochs=2',
            workdir=tmp_path, platforms=None)
  assert r.returncode == 0, r.stderr[-2000:]
  log = r.stderr.splitlines()
  assert log[0] == (f'supervised base in {tmp_path}: 200 train / 50 val / '
                    f'50 test, 225,034 params, {jax.devices()[0].device_kind}')
  assert [l.split(':')[0] for l in log[1:3]] == ['epoch 1/2', 'epoch 2/2']
  assert 'val_acc' in log[1] and log[1].endswith(' s)')
  assert log[3].startswith('Trained 2 epochs') and len(log) == 4
  result = json.loads((tmp_path / 'results.json').read_text())
  assert r.stdout == (f'test_accuracy {result["test_accuracy"]:.4f}, test_loss '
                      f'{result["test_loss"]:.4f}; results: '
                      f'{tmp_path}/results.json\n')
  assert result['provenance']['git_commit'] in (None, subprocess.run(
      ['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True,
      text=True).stdout.strip())
  assert result['provenance']['versions']['optax']
