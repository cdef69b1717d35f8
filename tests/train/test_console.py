"""The terminal lines: epoch lines, run k/N with an ETA, durations."""

from absl import logging
import pytest

from train import console


@pytest.fixture
def lines(monkeypatch):
  logged = []
  monkeypatch.setattr(logging, 'info', lambda fmt, *a: logged.append(fmt % a))
  return logged


def test_epoch_line_is_short_and_names_the_metrics():
  row = {'epoch': 3, 'train_loss': 0.12345, 'train_accuracy': 0.9, 'lr': 1e-3,
         'val_loss': 0.2, 'val_accuracy': 0.85, 'val_accuracy_per_seed': [0.8],
         'epoch_time_s': 1.44}
  assert console.epoch_line(3, 10, row, ('loss', 'accuracy')) == (
      'epoch 3/10: train_loss 0.1235 train_acc 0.9000 val_loss 0.2000 '
      'val_acc 0.8500 (1.4 s)')


def test_run_counter_estimates_the_time_left(lines, monkeypatch):
  clock = iter([0.0, 100.0, 100.0, 200.0, 200.0, 300.0])
  monkeypatch.setattr(console.time, 'perf_counter', lambda: next(clock))
  runs = console.RunCounter(4)
  for k in range(3):
    runs.start(f'model {k}')
    runs.finish(f'model {k}: done')
  assert lines == [
      'run 1/4: model 0', 'model 0: done (1/4 done, 1.7 min)',
      'run 2/4: model 1, ETA 5.0 min', 'model 1: done (2/4 done, 3.3 min)',
      'run 3/4: model 2, ETA 3.3 min', 'model 2: done (3/4 done, 5.0 min)']


@pytest.mark.parametrize('seconds,text', [
    (42, '42 s'), (150, '2.5 min'), (7200, '2.0 h')])
def test_duration(seconds, text):
  assert console.duration(seconds) == text


def test_steps_yield_every_batch_with_or_without_a_bar():
  assert console.steps([1, 2], 2, 'x', enabled=False) == [1, 2]
  assert list(console.steps(iter([1, 2, 3]), 3, 'x', enabled=True)) == [1, 2, 3]
