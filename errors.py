"""Errors that main.py reports as one line and a non-zero exit."""

DATA_ENV = 'DIGITS_DATA_DIR'


class UserError(Exception):
  """A bad input the user can fix: the message names the file or field."""


class DataError(UserError):
  """Missing, truncated or corrupt data files."""


class ConfigError(UserError):
  """An unknown or out-of-range config value."""


class CheckpointError(UserError):
  """A checkpoint that does not match the configured model, or none readable."""


class WorkdirError(UserError):
  """A run directory that cannot be used: not a folder, read-only, in use."""


class NonFiniteLossError(UserError):
  """Training produced NaN or Inf."""


def describe(e):
  """The `error:` line's text: a UserError's message; for an OSError (disk
  full, no permission) the file and the reason, not a traceback."""
  if isinstance(e, OSError) and e.strerror:
    return f'{e.filename}: {e.strerror}' if e.filename else e.strerror
  return str(e)
