"""Imports run one way: main -> experiments -> eval -> train -> nets/data.

Every import in a package's modules, lazy ones inside functions included,
must name the package itself or one below it.
"""

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Package -> the project packages it may import (besides itself).
ALLOWED = {
    'errors': set(),
    'registry': {'errors'},
    'nets': {'errors', 'registry'},
    'data': {'errors', 'registry'},
    'configs': {'errors', 'data'},
    'train': {'errors', 'registry', 'nets', 'data'},
    'eval': {'errors', 'registry', 'nets', 'data', 'configs', 'train'},
    'experiments': {'errors', 'registry', 'nets', 'data', 'configs', 'train',
                    'eval'},
    'bench': {'errors', 'registry', 'nets', 'data', 'configs', 'train', 'eval',
              'experiments'},
    'main': {'errors', 'experiments'},
}


def _project_imports(path):
  """Top-level project names imported anywhere in the file."""
  names = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      names.update(a.name.split('.')[0] for a in node.names)
    elif isinstance(node, ast.ImportFrom) and node.level == 0:
      names.add(node.module.split('.')[0])
  return names & (set(ALLOWED) | {'tests'})


def _files():
  for package in ALLOWED:
    folder = ROOT / package
    if folder.is_dir():
      yield from sorted(folder.rglob('*.py'))
    elif (ROOT / f'{package}.py').exists():
      yield ROOT / f'{package}.py'


@pytest.mark.parametrize('path', list(_files()),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path):
  package = path.relative_to(ROOT).parts[0].removesuffix('.py')
  upward = _project_imports(path) - ALLOWED[package] - {package}
  assert not upward, f'{path.relative_to(ROOT)} imports {sorted(upward)}'


def test_every_package_is_layered():
  packages = {p.name for p in ROOT.iterdir()
              if (p / '__init__.py').exists() and p.name != 'tests'}
  modules = {p.stem for p in ROOT.glob('*.py')}
  assert packages | modules <= set(ALLOWED), sorted(
      (packages | modules) - set(ALLOWED))


_MNIST_RUN = '''
import sys
sys.path.insert(0, '.')
import data, experiments
from experiments import supervised
from tests.conftest import tiny_attention_config
supervised.train_and_evaluate(tiny_attention_config(sys.argv[1], epochs=1),
                              sys.argv[2])
print(sorted(m for m in ('librosa', 'soundfile', 'tensorflow_datasets')
             if m in sys.modules))
'''


def test_mnist_run_imports_no_audio_stack(fake_mnist_dir, tmp_path):
  """Registries import on use: an MNIST run never loads librosa."""
  out = subprocess.run(
      [sys.executable, '-c', _MNIST_RUN, str(fake_mnist_dir),
       str(tmp_path / 'run')], cwd=ROOT, capture_output=True, text=True,
      check=True).stdout
  assert out.strip().splitlines()[-1] == '[]'
