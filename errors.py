"""Errors that main.py reports as one line and a non-zero exit."""

DATA_ENV = 'DIGITS_DATA_DIR'


class UserError(Exception):
  """A bad input the user can fix: the message names the file or field."""


class DataError(UserError):
  """Missing, truncated or corrupt data files."""


class ConfigError(UserError):
  """An unknown or out-of-range config value."""


class CheckpointError(UserError):
  """A checkpoint that does not match the configured model."""


class NonFiniteLossError(UserError):
  """Training produced NaN or Inf."""
