"""Lazy registries: names map to 'module:attribute', imported on first use."""

import importlib

import errors


def resolve(table, field, name):
  """table[name] imported; an unknown name is a ConfigError listing choices."""
  if name not in table:
    raise errors.ConfigError(
        f'{field}={name!r}: unknown; choices: {sorted(table)}')
  module, attribute = table[name].split(':')
  return getattr(importlib.import_module(module), attribute)
