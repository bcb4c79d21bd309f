"""The entry point: parse, run the command, and turn every mistake of the user into one line."""
from __future__ import annotations

import contextlib
import os
import sys
import warnings
from typing import Iterator, Optional, Sequence

from ..errors import UserError
from .options import PROG, ParserExit
from .parser import parse

# The errors a user can fix; OSError covers unreadable, unwritable and missing paths they gave.
_USER_ERRORS = (UserError, OSError)


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def _error(message: str) -> None:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr, flush=True)


def _describe_error(e: BaseException) -> str:
    if isinstance(e, OSError) and not isinstance(e, UserError) and e.filename is not None:
        return f"{e.strerror or e}: {e.filename}"
    return str(e) or type(e).__name__


@contextlib.contextmanager
def _warnings_as_one_line() -> Iterator[None]:
    """Show warnings as ``tinygrad-mnist: warning: ...`` lines instead of file:line dumps."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{PROG}: warning: {_one_line(str(message))}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status: 0 ok, 1 some grid runs failed, 2 bad input,
    130 interrupted (resumable), 141 output pipe closed.

    Example:
        >>> main(["graph", "--activation", "gleu", "--dry-run"])
        2
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    with _warnings_as_one_line():
        try:
            args = parse(argv)
            return args.run(args)
        except ParserExit as e:
            return e.status
        except BrokenPipeError:
            # The reader went away (`tinygrad-mnist train --help | head`): not an error to report.
            # Point stdout at devnull so the interpreter's final flush cannot fail again.
            if sys.stdout is sys.__stdout__:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            return 141  # what a shell reports for a process ended by SIGPIPE
        except _USER_ERRORS as e:
            _error(_describe_error(e))
            return 2
        except KeyboardInterrupt:
            _error("interrupted; a train run can be continued with 'train --resume RUN_DIR'")
            return 130
