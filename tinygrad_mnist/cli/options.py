"""What the commands share: the parser class, options generated from the setting declarations,
value converters for paths, and the one-line log.

The options of the training settings are derived from their declarations
(:data:`~tinygrad_mnist.train.config.SETTINGS`): flag, ``--help`` text, allowed values, default,
how many values. Converting text is all that happens here; every rule is the declaration's
``check``, so an option and the same key in a TOML file accept exactly the same values.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from ..checks import Bounds
from ..errors import ConfigError, UserError
from ..train.config import SETTINGS
from ..train.settings import PARTS, Integer, Setting

PROG = "tinygrad-mnist"


class UsageError(UserError):
    """A mistake on the command line; the message is one line."""


class ParserExit(Exception):
    """argparse finished on its own (``--help``, ``--version``) with this status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors that point at ``--help``, keeping the names of its options
    (for did-you-mean hints) and its subcommands' parsers.

    Example:
        >>> parser = Parser(prog="demo")
        >>> _ = parser.add_argument("--lr", help="learning rate (default: 0.1)")
        >>> parser.option_names, parser.option_help["--lr"]
        (['-h', '--help', '--lr'], 'learning rate (default: 0.1)')
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.option_names: List[str] = []
        self.option_help: Dict[str, Optional[str]] = {}  # options that take a value -> their help
        self.commands: Dict[str, "Parser"] = {}
        super().__init__(*args, **kwargs)

    def add_argument(self, *names: str, **kwargs: Any):  # type: ignore[override]
        self.record(names, kwargs)
        return super().add_argument(*names, **kwargs)

    def record(self, names: Sequence[str], kwargs: Dict[str, Any]) -> None:
        """Remember an option added here or to one of this parser's argument groups."""
        flags = [name for name in names if name.startswith("-")]
        self.option_names.extend(flags)
        takes_value = kwargs.get("action") not in ("store_true", "help", "version", argparse.BooleanOptionalAction)
        if flags and takes_value:
            self.option_help[flags[0]] = kwargs.get("help")

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def exit(self, status: int = 0, message: Optional[str] = None):  # type: ignore[override]
        if message:
            sys.stderr.write(message)
        raise ParserExit(status)


def log(line: str) -> None:
    """Print one line in one write: print() writes the text and the newline separately, and with
    PYTHONUNBUFFERED those can reach the terminal between the lines of grid workers."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# ---- the training settings as options ----------------------------------------------------------


def help_text(setting: Setting, many: bool = False) -> str:
    """The ``--help`` text of a setting: what it is, how to type it, allowed values, default.

    ``many`` is for options whose every value is one run's (the axes of ``grid``).

    Example:
        >>> from tinygrad_mnist.train.config import SETTINGS_BY_NAME
        >>> help_text(SETTINGS_BY_NAME["momentum"])
        'momentum of sgd and rmsprop (0 = none); >= 0 and < 1; default: 0.9 for sgd, 0.0 for rmsprop (by --optimizer)'
    """
    kind = setting.kind
    parts = [setting.help, kind.spelling(many), kind.describe(), f"default: {setting.describe_default()}"]
    if many and kind.axis:
        parts.append("several values make a grid axis")
    return "; ".join(part for part in parts if part).replace("%", "%%")


def _converter(setting: Setting) -> Callable[[str], Any]:
    """An argparse ``type=`` for one token: the kind reads the text, the declaration checks it."""

    def convert(text: str) -> Any:
        try:
            return setting.check(setting.kind.from_text(text))
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = setting.name
    return convert


class _TokensToOneValue(argparse.Action):
    """An option whose tokens together make one value (``--hidden 256 128``)."""

    def __init__(self, *args: Any, setting: Setting, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setting = setting

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            value = self.setting.check(self.setting.kind.from_tokens(list(values)))
        except ConfigError as error:
            raise argparse.ArgumentError(self, str(error)) from None
        setattr(namespace, self.dest, value)


def add_settings(parser: Parser, settings: Iterable[Setting] = SETTINGS, many: bool = False) -> None:
    """Add an option per setting, grouped by part in ``--help``. Options that are not typed leave
    no attribute (argparse ``SUPPRESS``), so they never override a config file; with ``many``,
    options of axis kinds take several values (a list, even of one).
    """
    settings = list(settings)
    groups = {part: parser.add_argument_group(title) for part, title in PARTS
              if any(s.part == part for s in settings)}
    for setting in settings:
        options: Dict[str, Any] = {"dest": setting.name, "default": argparse.SUPPRESS,
                                   "help": help_text(setting, many)}
        kind = setting.kind
        if kind.is_flag:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["metavar"] = setting.metavar or setting.name.upper()
            if many and kind.axis:
                options.update(nargs="+", type=_converter(setting))
            elif kind.nargs is not None:
                options.update(nargs=kind.nargs, action=_TokensToOneValue, setting=setting)
            else:
                options["type"] = _converter(setting)
        parser.record([setting.flag], options)
        groups[setting.part].add_argument(setting.flag, **options)


def given_settings(args: argparse.Namespace, settings: Iterable[Setting] = SETTINGS) -> Dict[str, Any]:
    """The settings actually typed on the command line (the others left no attribute)."""
    return {s.name: getattr(args, s.name) for s in settings if hasattr(args, s.name)}


def typed_flag(setting: Setting, value: Any) -> str:
    """The option as it was typed: ``--no-progress`` for a flag turned off.

    Example:
        >>> from tinygrad_mnist.train.config import SETTINGS_BY_NAME
        >>> typed_flag(SETTINGS_BY_NAME["nesterov"], False), typed_flag(SETTINGS_BY_NAME["lr"], 0.1)
        ('--no-nesterov', '--lr')
    """
    if setting.kind.is_flag and value is False:
        return "--no-" + setting.flag[2:]
    return setting.flag


# ---- other values ---------------------------------------------------------------------------------


def add_dry_run(parser: Parser, what: str) -> None:
    """The ``--dry-run`` flag every command has."""
    parser.add_argument("--dry-run", action="store_true",
                        help=f"check every argument and print {what}, without running anything")


def _type_error(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """Turn a converter's ConfigError into the argparse error that names the option."""

    def wrapped(text: str) -> Any:
        try:
            return convert(text)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    wrapped.__name__ = convert.__name__
    return wrapped


def existing(what: str) -> Callable[[str], str]:
    """A path to something that exists: a ``"file"``, a ``"directory"`` or any ``"path"``."""
    must_be = {"file": Path.is_file, "directory": Path.is_dir, "path": Path.exists}[what]

    @_type_error
    def convert(text: str) -> str:
        if not text:
            raise ConfigError(f"expected a {what}, got ''")
        if not Path(text).exists():
            raise ConfigError(f"{what} {text!r} does not exist")
        if not must_be(Path(text)):
            raise ConfigError(f"{text!r} is not a {what}")
        return text

    convert.__name__ = f"existing_{what}"
    return convert


@_type_error
def out_dir(text: str) -> str:
    """A directory to create (or an existing one): not a file."""
    if not text.strip():
        raise ConfigError("expected a directory name, got ''")
    if Path(text).exists() and not Path(text).is_dir():
        raise ConfigError(f"{text!r} is a file, not a directory")
    return text


def out_file(suffixes: Sequence[str]) -> Callable[[str], str]:
    """A file to write, with one of ``suffixes``."""

    @_type_error
    def out_path(text: str) -> str:
        if not text:
            raise ConfigError("expected a file name, got ''")
        suffix = Path(text).suffix.lower()
        if suffix not in suffixes:
            raise ConfigError(f"cannot write {suffix or 'a file without extension'}; use one of {', '.join(suffixes)}")
        if Path(text).is_dir():
            raise ConfigError(f"{text!r} is a directory")
        return text

    return out_path


def whole_number(name: str, bounds: Bounds) -> Callable[[str], int]:
    """An int within bounds, for a command's own options (``--jobs``, ``graph --batch-size``)."""
    kind = Integer(bounds)

    @_type_error
    def convert(text: str) -> int:
        return kind.check(kind.from_text(text), name)

    convert.__name__ = name
    return convert
