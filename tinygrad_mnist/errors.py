"""Errors caused by user input (arguments, configs, files), as opposed to bugs.

The CLI prints any ``UserError`` as one line on stderr and exits with status 2; everything else is a
bug and keeps its traceback.
"""


class UserError(Exception):
    """Base class of errors the user can fix; the message says how."""


class ConfigError(UserError, ValueError):
    """An invalid training option or configuration value."""


class CheckpointError(UserError, ValueError):
    """A checkpoint file that cannot be loaded into this model (corrupt, crafted or mismatched)."""


class RunDirectoryError(UserError):
    """A run directory that would be overwritten, or that cannot be resumed."""


class NonFiniteError(UserError, ArithmeticError):
    """Training produced a NaN or Inf loss or gradient."""
