"""The ``tinygrad-mnist`` command line (also ``python -m tinygrad_mnist``).

Subcommands: ``train`` (one run), ``eval`` (a checkpoint on the test set), ``grid`` (a Cartesian
product of runs, in parallel), ``plot`` (learning curves of run directories) and ``graph`` (the
computation graph of a model and its loss).

Settings come from three layers, later ones winning: the :class:`~tinygrad_mnist.train.TrainConfig`
defaults, a TOML file given with ``--config``, and the options actually typed on the command line.
That is why every training option has the argparse default ``SUPPRESS``: an option that was not
typed leaves no attribute behind, so it cannot silently override the file.

Every mistake in the input (a bad value, an unknown name, a missing or malformed file) ends as one
line on stderr, ``tinygrad-mnist: error: ...``, and exit status 2. Any other exception is a bug
and keeps its traceback.

Example:
    >>> main(["train", "--hidden", "--lr", "0.5", "--dry-run"])  # doctest: +ELLIPSIS
    {
      "hidden": [],
    ...
    0
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import itertools
import json
import math
import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from . import __version__
from .data import MNIST_FILES, NORMALIZATIONS, split_size
from .errors import ConfigError, UserError
from .nn import ACTIVATIONS, INITS, LOSSES
from .optim import SCHEDULES
from .train.config import DTYPES, MOMENTUM_FORMS, ON_NONFINITE

__all__ = ["main", "build_parser", "resolve_train", "resolve_grid", "read_config"]

PROG = "tinygrad-mnist"
COMMANDS = ("train", "eval", "grid", "plot", "graph")

N_CLASSES = 10
N_TRAIN = MNIST_FILES["train_images"].shape[0]
N_TEST = MNIST_FILES["test_images"].shape[0]
N_PIXELS = MNIST_FILES["train_images"].shape[1] * MNIST_FILES["train_images"].shape[2]
# A guard against typos such as --hidden 1280000 that would exhaust memory rather than train.
MAX_LAYER_WIDTH = 65536

# The errors a user can fix; OSError covers unreadable, unwritable and missing paths they gave.
_USER_ERRORS = (UserError, OSError)


# --------------------------------------------------------------------------------------------
# Values: one converter per kind of setting, shared by the command line and the TOML file, so
# both give the same message for the same mistake.
# --------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A value as the user wrote it: strings quoted, TOML numbers/lists/bools in JSON spelling."""
    if isinstance(value, str) or not _jsonable(value):
        return repr(value)
    return json.dumps(value)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def did_you_mean(word: str, names: Sequence[str]) -> str:
    """A ``"; did you mean 'x'?"`` suffix naming the closest of ``names``, or ``""``.

    Example:
        >>> did_you_mean("gleu", ["relu", "gelu", "sigmoid"])
        "; did you mean 'gelu'?"
    """
    close = difflib.get_close_matches(word, list(names), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _number(value: Any, integer: bool) -> int | float:
    """``value`` (text from the command line, or a TOML number) as an int or a finite float."""
    wanted = "an integer" if integer else "a number"
    if isinstance(value, str):
        try:
            number: int | float = int(value.strip()) if integer else float(value.strip())
        except ValueError:
            raise ValueError(f"expected {wanted}, got {value!r}") from None
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected {wanted}, got {_show(value)}")
    elif integer and isinstance(value, float):
        raise ValueError(f"expected an integer, got {value!r}")
    else:
        number = value if integer else float(value)
    if not integer and not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


@dataclass(frozen=True)
class _Range:
    """Bounds of a number; ``None`` means unbounded on that side."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def check(self, x: int | float) -> int | float:
        too_low = self.low is not None and (x <= self.low if self.low_open else x < self.low)
        too_high = self.high is not None and (x >= self.high if self.high_open else x > self.high)
        if too_low or too_high:
            raise ValueError(f"must be {self.describe()}, got {x!r}")
        return x

    def describe(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        return " and ".join(parts)


@dataclass(frozen=True)
class Setting:
    """One TrainConfig field as the command line and TOML files see it.

    ``kind`` is one of ``int``, ``float``, ``choice``, ``bool``, ``layers`` (list of widths),
    ``alpha`` (one number or one per class), ``size`` (int or None = all) and ``path``.

    Example:
        >>> Setting("lr", "float", "learning rate", _Range(0, low_open=True)).convert("0.5")
        0.5
    """

    name: str
    kind: str
    help: str
    bounds: _Range = _Range()
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    default_text: str | None = None  # says what the default means when its value cannot

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def convert(self, value: Any) -> Any:
        """Check ``value`` (command-line text or a TOML value) and return it as the field type."""
        if self.kind in ("int", "float"):
            return self.bounds.check(_number(value, integer=self.kind == "int"))
        if self.kind == "choice":
            if not isinstance(value, str):
                raise ValueError(f"expected a name, got {_show(value)}")
            name = value.strip().lower()
            if name not in self.choices:
                hint = did_you_mean(name, self.choices)
                raise ValueError(f"unknown {self.name} {value!r}{hint} (choose from {', '.join(self.choices)})")
            return name
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            raise ValueError(f"expected true or false, got {_show(value)}")
        if self.kind == "layers":
            return _layers(value)
        if self.kind == "alpha":
            return _alpha(value)
        if self.kind == "size":
            if isinstance(value, str) and value.strip().lower() == "all":
                return None
            return self.bounds.check(_number(value, integer=True))
        if self.kind == "path":
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"expected a path, got {_show(value)}")
            return value
        raise AssertionError(f"unhandled setting kind {self.kind!r}")


_WIDTH = _Range(1, MAX_LAYER_WIDTH)
_UNIT = _Range(0, 1)


def _layer_width(value: Any) -> int:
    return _WIDTH.check(_number(value, integer=True))


def _layers(value: Any) -> list[int]:
    """Hidden widths from a TOML list, or from text ``"256,128"`` (``""`` / ``"none"`` = no layer)."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "none"):
            return []
        return [_layer_width(part) for part in text.split(",")]
    if isinstance(value, list):
        return [_layer_width(part) for part in value]
    raise ValueError(f"expected a list of layer widths, got {_show(value)}")


def _alpha(value: Any) -> float | list[float]:
    """Focal alpha: one weight in [0, 1], or one per class (a list, or text ``"a,b,..."``)."""
    if isinstance(value, str) and "," in value:
        value = value.split(",")
    if isinstance(value, list):
        weights = [float(_UNIT.check(_number(v, integer=False))) for v in value]
        if len(weights) == 1:
            return weights[0]
        if len(weights) != N_CLASSES:
            raise ValueError(f"expected one weight or {N_CLASSES} (one per digit), got {len(weights)}")
        return weights
    return float(_UNIT.check(_number(value, integer=False)))


_POSITIVE = _Range(0, low_open=True)
_NONNEGATIVE = _Range(0)
_AT_LEAST_ONE = _Range(1)

#: Every TrainConfig field, in the order ``--help`` lists them. A test checks this covers the
#: dataclass exactly, so a new field cannot be forgotten here.
SETTINGS: tuple[Setting, ...] = (
    Setting("hidden", "layers", "hidden layer widths from input to output; give the option with no "
            "value for softmax regression (no hidden layer)", metavar="WIDTH"),
    Setting("activation", "choice", "activation after each hidden layer", choices=tuple(ACTIVATIONS)),
    Setting("loss", "choice", "training loss: euclidean (squared error between softmax and one-hot), "
            "ce (softmax cross-entropy), hinge (multi-class margin), kldiv (KL divergence to the "
            "one-hot target), focal (cross-entropy that down-weights easy examples)",
            choices=tuple(LOSSES)),
    Setting("margin", "float", "margin of --loss hinge", _POSITIVE),
    Setting("focal_gamma", "float", "focusing exponent of --loss focal (0 = plain cross-entropy)",
            _NONNEGATIVE),
    Setting("focal_alpha", "alpha", f"class weights of --loss focal: one weight in [0, 1] for every "
            f"class, or {N_CLASSES} weights, one per digit", metavar="ALPHA"),
    Setting("label_smoothing", "float", "label smoothing of --loss ce", _Range(0, 1, high_open=True)),
    Setting("lr", "float", "learning rate of SGD", _POSITIVE),
    Setting("momentum", "float", "SGD momentum (0 = plain SGD)", _Range(0, 1, high_open=True)),
    Setting("momentum_form", "choice", "momentum update: pytorch (buffer of gradients, scaled by lr "
            "at the step) or lab (buffer of lr-scaled steps, as in the lab reports); they differ "
            "only while the learning rate changes", choices=MOMENTUM_FORMS),
    Setting("weight_decay", "float", "L2 weight decay added to the gradient", _NONNEGATIVE),
    Setting("nesterov", "bool", "use Nesterov momentum"),
    Setting("batch_size", "int", "mini-batch size (at most the number of training samples)",
            _AT_LEAST_ONE),
    Setting("epochs", "int", "passes over the training data", _AT_LEAST_ONE),
    Setting("init", "choice", "weight initialisation: normal (N(0, init_std^2)), xavier (Glorot "
            "uniform), he (Kaiming normal)", choices=tuple(INITS)),
    Setting("init_std", "float", "standard deviation of --init normal", _POSITIVE),
    Setting("lr_schedule", "choice", "learning rate schedule, stepped once per epoch: none, step "
            "(times --lr-gamma every --lr-step-size epochs), exp (times --lr-gamma every epoch), "
            "cosine (cosine decay to 0 over --epochs)", choices=tuple(SCHEDULES)),
    Setting("lr_step_size", "int", "epochs between decays of --lr-schedule step", _AT_LEAST_ONE),
    Setting("lr_gamma", "float", "decay factor of --lr-schedule step and exp", _POSITIVE),
    Setting("early_stop", "int", "patience: stop after this many epochs without improvement of the "
            "validation loss (test loss without --val-size); 0 = never stop early", _NONNEGATIVE),
    Setting("early_stop_min_delta", "float", "smallest loss decrease that counts as an "
            "improvement for --early-stop", _NONNEGATIVE),
    Setting("seed", "int", "random seed of initialisation, shuffling and the validation split",
            _NONNEGATIVE),
    Setting("dtype", "choice", "floating-point type of data, parameters and gradients",
            choices=DTYPES),
    Setting("disp_freq", "int", "print a progress line every this many iterations (0 = only the "
            "end-of-epoch lines)", _NONNEGATIVE),
    Setting("normalize", "choice", "pixel preprocessing: scale (to [0, 1]), center (then subtract "
            "the training mean), standardize (then divide by the training std)",
            choices=NORMALIZATIONS),
    Setting("val_size", "float", "validation split held out of the training set: a fraction in "
            "[0, 1) or a count >= 1 (0 = no validation split)", _NONNEGATIVE),
    Setting("train_size", "size", f"use a subset of N training samples, for quick runs; 'all' = "
            f"all {N_TRAIN}", _Range(1, N_TRAIN), metavar="N"),
    Setting("test_size", "size", f"use a subset of N test samples; 'all' = all {N_TEST}",
            _Range(1, N_TEST), metavar="N"),
    Setting("data_dir", "path", "folder with the four MNIST files (.gz or not)", metavar="DIR",
            default_text="$TINYGRAD_MNIST_DATA, else the download cache (missing files are "
            "downloaded and verified)"),
    Setting("on_nonfinite", "choice", "when a loss or gradient becomes NaN or Inf: stop (fail with a "
            "message) or skip (drop that batch and go on)", choices=ON_NONFINITE),
    Setting("detect_anomaly", "bool", "check every op for NaN/Inf and name the op that made it "
            "(slow; for debugging)"),
    Setting("progress", "bool", "show progress bars (--no-progress for logs and CI)"),
    Setting("checkpoint_every", "int", "save checkpoint.npz every N epochs and after the last one "
            "(0 = only at the start and the end)", _NONNEGATIVE),
)
SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def _train_defaults() -> dict[str, Any]:
    from .train import TrainConfig

    return TrainConfig().to_dict()


def _describe_default(setting: Setting, default: Any) -> str:
    if setting.default_text is not None:
        return setting.default_text
    if setting.kind == "bool":
        return "on" if default else "off"
    if setting.kind == "layers":
        return " ".join(str(w) for w in default) if default else "none"
    if default is None:
        return "all" if setting.kind == "size" else "none"
    return str(default)


def _help_text(setting: Setting, default: Any, grid: bool) -> str:
    parts = [setting.help]
    if grid and setting.kind == "layers":
        parts = ["hidden layer widths of one architecture from input to output, commas between "
                 "layers, none for no hidden layer"]
    if setting.choices:
        parts.append(f"one of: {', '.join(setting.choices)}")
    elif setting.bounds.describe():
        parts.append(f"{setting.bounds.describe()}")
    parts.append(f"default: {_describe_default(setting, default)}")
    if grid and setting.kind == "layers":
        parts.append("several values make a grid axis, e.g. 128 256,128 none")
    elif grid and setting.kind == "alpha":
        parts.append("in a grid each value is one weight or 10 weights joined by commas")
    elif grid and setting.kind not in ("bool", "path"):
        parts.append("several values make a grid axis")
    return "; ".join(parts).replace("%", "%%")


# --------------------------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------------------------


class _UsageError(Exception):
    """A mistake on the command line; the message is one line."""


class _ParserExit(Exception):
    """argparse finished on its own (``--help``, ``--version``) with this status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse without the usage dump: errors become one line that points at ``--help``."""

    def error(self, message: str):  # type: ignore[override]
        raise _UsageError(f"{message} (see '{self.prog} --help')")

    def exit(self, status: int = 0, message: str | None = None):  # type: ignore[override]
        if message:
            sys.stderr.write(message)
        raise _ParserExit(status)


def _type(convert: Callable[[Any], Any]) -> Callable[[str], Any]:
    """An argparse ``type=`` from a converter, so argparse reports its message as one line."""

    def parse(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = getattr(convert, "__name__", "value")
    return parse


class _AlphaAction(argparse.Action):
    """``--focal-alpha A`` or ten values; any other count is an error naming the option."""

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            setattr(namespace, self.dest, _alpha(list(values)))
        except ValueError as e:
            raise argparse.ArgumentError(self, str(e)) from None


def _existing_file(text: str) -> str:
    path = Path(text)
    if not text:
        raise argparse.ArgumentTypeError("expected a file name, got ''")
    if not path.exists():
        raise argparse.ArgumentTypeError(f"file {text!r} does not exist")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a file")
    return text


def _existing_dir(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("expected a directory, got ''")
    if not Path(text).is_dir():
        what = "is not a directory" if Path(text).exists() else "does not exist"
        raise argparse.ArgumentTypeError(f"{text!r} {what}")
    return text


def _existing_path(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("expected a path, got ''")
    if not Path(text).exists():
        raise argparse.ArgumentTypeError(f"{text!r} does not exist")
    return text


def _out_dir(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a directory name, got ''")
    if Path(text).exists() and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a directory")
    return text


def _out_path(suffixes: Sequence[str]) -> Callable[[str], str]:
    def out_path(text: str) -> str:
        if not text:
            raise argparse.ArgumentTypeError("expected a file name, got ''")
        suffix = Path(text).suffix.lower()
        if suffix not in suffixes:
            raise argparse.ArgumentTypeError(
                f"cannot write {suffix or 'a file without extension'}; use one of {', '.join(suffixes)}"
            )
        if Path(text).is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is a directory")
        return text

    return out_path


def _jobs(text: str) -> int:
    try:
        return int(_AT_LEAST_ONE.check(_number(text, integer=True)))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _add_setting(parser: argparse.ArgumentParser, setting: Setting, default: Any, grid: bool) -> None:
    """Add one TrainConfig field; ``grid`` lets value options take several values (an axis)."""
    common: dict[str, Any] = {
        "dest": setting.name,
        "default": argparse.SUPPRESS,
        "help": _help_text(setting, default, grid),
    }
    if setting.kind == "bool":
        parser.add_argument(setting.flag, action=argparse.BooleanOptionalAction, **common)
        return
    metavar = setting.metavar or setting.name.upper()
    if setting.kind == "path":
        parser.add_argument(setting.flag, type=_type(setting.convert), metavar=metavar, **common)
    elif grid:
        parser.add_argument(setting.flag, nargs="+", type=_type(setting.convert), metavar=metavar, **common)
    elif setting.kind == "layers":
        parser.add_argument(setting.flag, nargs="*", type=_type(_layer_width), metavar=metavar, **common)
    elif setting.kind == "alpha":
        parser.add_argument(setting.flag, nargs="+", type=_type(setting.convert), action=_AlphaAction,
                            metavar=metavar, **common)
    else:
        parser.add_argument(setting.flag, type=_type(setting.convert), metavar=metavar, **common)


def _add_dry_run(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--dry-run", action="store_true",
                        help=f"check every argument and print {what}, without running anything")


_CONFIG_HELP = (
    "TOML file with settings: top-level keys are the option names with underscores "
    "(batch_size = 100); options given on the command line override the file (default: none)"
)


_TRAIN_EPILOG = f"""\
examples:
  {PROG} train --hidden 256 128 --activation gelu --lr 0.05
  {PROG} train --hidden --loss ce                 (softmax regression)
  {PROG} train --config my.toml --epochs 3        (the file, with 3 epochs)
  {PROG} train --resume runs/relu-ce-128-s0

A config file holds settings as top-level keys with underscores:
  hidden = [256, 128]
  activation = "gelu"
  batch_size = 100
"""

_GRID_EPILOG = f"""\
examples:
  {PROG} grid --activation sigmoid relu gelu --loss euclidean ce hinge --lr 0.1 0.01
  {PROG} grid --config examples/experiments/a_one_hidden.toml --jobs 4
  {PROG} grid --config examples/experiments/a_one_hidden.toml --epochs 5   (a shorter try)

A setting given once on the command line is fixed for every run (replacing an axis of the
file); given several values it is an axis. A config file names its axes in a [grid] table, and
[[grid.override]] entries change the runs whose settings equal every value in 'match':
  lr = 0.1
  [grid]
  activation = ["sigmoid", "relu", "gelu"]
  loss = ["euclidean", "ce", "hinge"]
  [[grid.override]]
  match = {{ loss = "hinge" }}
  set = {{ lr = 1e-4 }}
"""


def _add_command(commands, name: str, help: str, description: str, epilog: str | None = None):
    return commands.add_parser(name, help=help, description=description, epilog=epilog,
                               allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (all subcommands); ``main`` adds one-line errors around it.

    Example:
        >>> build_parser().parse_args(["train", "--lr", "0.5"]).lr
        0.5
    """
    defaults = _train_defaults()
    parser = _Parser(
        prog=PROG,
        description="Train, evaluate and inspect small MLPs on MNIST with the tinygrad_mnist "
        "autograd engine.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    train = _add_command(
        commands, "train", "train one model and save a run directory",
        "Train one MLP on MNIST, printing progress. The run directory gets config.json,\n"
        "metrics.csv (one row per epoch), summary.json, checkpoint.npz and curves.png.",
        _TRAIN_EPILOG,
    )
    train.add_argument("--config", type=_existing_file, metavar="FILE.toml", help=_CONFIG_HELP)
    for setting in SETTINGS:
        _add_setting(train, setting, defaults[setting.name], grid=False)
    train.add_argument("--out", type=_out_dir, metavar="DIR", help="run directory to create; it must be new or empty "
                       "(default: a fresh runs/<activation>-<loss>-<hidden>-s<seed>)")
    train.add_argument("--resume", type=_existing_dir, metavar="RUN_DIR",
                       help="continue an unfinished run from its last checkpoint with its saved "
                       "settings; takes no other training options (default: start a new run)")
    _add_dry_run(train, "the resolved settings as JSON")
    train.set_defaults(run=_cmd_train)

    evaluate = _add_command(
        commands, "eval", "test accuracy, loss and confusion matrix of a checkpoint",
        "Evaluate a saved model on the test set its run used (same preprocessing, same\n"
        "--test-size subset): accuracy, loss, and the 10x10 confusion matrix (rows: true\n"
        "digit, columns: predicted digit) with the recall of each digit.",
    )
    evaluate.add_argument("checkpoint", type=_existing_path, metavar="CHECKPOINT_OR_RUN_DIR",
                          help="a checkpoint.npz, or a run directory containing one")
    data_dir = SETTINGS_BY_NAME["data_dir"]
    evaluate.add_argument("--data-dir", type=_type(data_dir.convert), metavar="DIR",
                          help=_help_text(data_dir, None, grid=False))
    _add_dry_run(evaluate, "what would be evaluated")
    evaluate.set_defaults(run=_cmd_eval)

    grid = _add_command(
        commands, "grid", "train every combination of several settings, in parallel",
        "Train the Cartesian product of the settings given several values, on the command\n"
        "line or in the [grid] table of a config file. Each run gets its own run directory\n"
        "under --out, next to results.md (the final accuracies; a table of activations by\n"
        "losses when both vary) and curves.png (every run's curves in one figure).",
        _GRID_EPILOG,
    )
    grid.add_argument("--config", type=_existing_file, metavar="FILE.toml",
                      help=_CONFIG_HELP + "; a [grid] table lists the values of each axis")
    for setting in SETTINGS:
        _add_setting(grid, setting, defaults[setting.name], grid=True)
    grid.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                      help=f"runs trained at the same time; >= 1 (default: the number of cores, "
                      f"{_default_jobs()} here)")
    grid.add_argument("--out", type=_out_dir, metavar="DIR",
                      help="directory for the runs, results.md and curves.png (default: "
                      "runs/grid-<config name>, or runs/grid without --config)")
    _add_dry_run(grid, "the base settings and every run's changes")
    grid.set_defaults(run=_cmd_grid)

    plot = _add_command(
        commands, "plot", "draw the learning curves of run directories into one image",
        "Plot loss and accuracy per epoch (train solid, validation dotted, test dashed) of\n"
        "one or more runs into one image. A grid directory stands for all its runs.",
    )
    plot.add_argument("run_dirs", nargs="+", type=_existing_dir, metavar="RUN_DIR",
                      help="run directories (each with a metrics.csv) or grid directories")
    plot.add_argument("--out", type=_out_path((".png", ".svg", ".pdf")), default="curves.png",
                      metavar="FILE", help="image to write: .png, .svg or .pdf (default: curves.png)")
    plot.add_argument("--title", default=None, help="figure title (default: none)")
    _add_dry_run(plot, "the runs that would be plotted")
    plot.set_defaults(run=_cmd_plot)

    graph = _add_command(
        commands, "graph", "draw the computation graph of a model and its loss",
        "Build the model and its loss on a small seeded random batch shaped like MNIST and\n"
        "draw the graph of ops that backward() walks, with the parameters named.",
    )
    for name in ("hidden", "activation", "loss", "margin", "seed"):
        _add_setting(graph, SETTINGS_BY_NAME[name], defaults[name], grid=False)
    graph.add_argument("--batch-size", type=_type(_graph_batch), default=2, metavar="N",
                       help=f"rows of the random input batch; {_GRAPH_BATCH.describe()} (default: 2)")
    graph.add_argument("--show-values", action="store_true",
                       help="add min/mean/max of each tensor's values to its node")
    graph.add_argument("--show-grads", action="store_true",
                       help="run backward first and add min/mean/max of each gradient")
    graph.add_argument("--out", type=_out_path((".svg", ".png", ".pdf", ".dot", ".gv")), default="graph.svg",
                       metavar="FILE", help="file to write: .svg, .png or .pdf (these need the graphviz "
                       "'dot' program) or .dot/.gv (the graphviz source) (default: graph.svg)")
    _add_dry_run(graph, "the settings of the model to draw")
    graph.set_defaults(run=_cmd_graph)

    return parser


_GRAPH_BATCH = _Range(1, 64)


def _graph_batch(value: Any) -> int:
    return int(_GRAPH_BATCH.check(_number(value, integer=True)))


def _parse(argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``; every mistake raises ``_UsageError`` with one line."""
    # The top-level parser has only --help and --version, so a first word that is not an option
    # must be the command; checking it here allows a did-you-mean that argparse cannot give.
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        raise _UsageError(f"unknown command {argv[0]!r}{did_you_mean(argv[0], COMMANDS)} "
                          f"(choose from {', '.join(COMMANDS)}; see '{PROG} --help')")
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if args.command is None:
        raise _UsageError(f"missing command: choose from {', '.join(COMMANDS)} (see '{PROG} --help')")
    if extras:
        sub = _subparser(parser, args.command)
        raise _UsageError(_unrecognized(extras[0], sub))
    return args


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    for action in parser._actions:  # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[command]
    raise AssertionError("the parser has no subcommands")


def _unrecognized(token: str, parser: argparse.ArgumentParser) -> str:
    where = f"(see '{parser.prog} --help')"
    if token.startswith("-") and len(token) > 1:
        options = [o for action in parser._actions for o in action.option_strings]
        return f"unknown option {token!r}{did_you_mean(token.split('=', 1)[0], options)} {where}"
    return f"unexpected argument {token!r} {where}"


# --------------------------------------------------------------------------------------------
# Settings: TOML file + command line -> TrainConfig (and grid axes)
# --------------------------------------------------------------------------------------------


def read_config(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Read a TOML settings file: ``(settings, grid)``, every value checked.

    ``grid`` is ``None`` without a ``[grid]`` table, else ``{"axes": {name: [values]},
    "overrides": [{"match": {...}, "set": {...}}]}``. Raises ConfigError (one line) for a
    missing, unreadable or malformed file and for unknown keys or bad values.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        ...     _ = f.write('lr = 0.05\\n[grid]\\nloss = ["ce", "hinge"]\\n')
        >>> read_config(f.name)
        ({'lr': 0.05}, {'axes': {'loss': ['ce', 'hinge']}, 'overrides': []})
    """
    where = f"config file {os.fspath(path)}"
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{where} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{where} is a directory, not a TOML file") from None
    except OSError as e:
        raise ConfigError(f"{where} cannot be read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{where} is not UTF-8 text (bad byte at offset {e.start})") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where} is not valid TOML: {e}") from None

    grid_table = document.pop("grid", None)
    settings = _checked_settings(document, where)
    if grid_table is None:
        return settings, None
    if not isinstance(grid_table, dict):
        raise ConfigError(f"{where}: 'grid' must be a table ([grid]), got {_show(grid_table)}")
    return settings, _checked_grid(grid_table, where)


def _checked_value(name: str, value: Any, where: str) -> Any:
    setting = SETTINGS_BY_NAME.get(name)
    if setting is None:
        raise ConfigError(f"{where}: unknown setting {name!r}{did_you_mean(name, list(SETTINGS_BY_NAME))}")
    try:
        return setting.convert(value)
    except ValueError as e:
        raise ConfigError(f"{where}: {name}: {e}") from None


def _checked_settings(table: dict[str, Any], where: str) -> dict[str, Any]:
    out = {}
    for name, value in table.items():
        if isinstance(value, dict):
            hint = did_you_mean(name, ["grid"])
            raise ConfigError(f"{where}: unknown table [{name}]{hint} (settings go at the top level)")
        out[name] = _checked_value(name, value, where)
    return out


def _checked_grid(table: dict[str, Any], where: str) -> dict[str, Any]:
    overrides_raw = table.pop("override", [])
    axes: dict[str, list[Any]] = {}
    for name, values in table.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: [grid] {name} must be a non-empty list of values, got {_show(values)}")
        axes[name] = [_checked_value(name, v, f"{where}: [grid]") for v in values]
        if any(axes[name].count(v) > 1 for v in axes[name]):
            raise ConfigError(f"{where}: [grid] {name} lists a value twice")
    if not isinstance(overrides_raw, list):
        raise ConfigError(f"{where}: grid.override must be an array of tables ([[grid.override]])")
    overrides = []
    for i, entry in enumerate(overrides_raw, start=1):
        at = f"{where}: [[grid.override]] #{i}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{at} must be a table with 'match' and 'set'")
        unknown = sorted(set(entry) - {"match", "set"})
        if unknown:
            raise ConfigError(f"{at}: unknown key {unknown[0]!r}{did_you_mean(unknown[0], ['match', 'set'])} "
                              "(an override has only 'match' and 'set')")
        match, assign = entry.get("match"), entry.get("set")
        if not isinstance(match, dict) or not match or not isinstance(assign, dict) or not assign:
            raise ConfigError(f"{at} needs a non-empty 'match' table and a non-empty 'set' table")
        checked_match = {k: _checked_value(k, v, f"{at} match") for k, v in match.items()}
        for k, v in checked_match.items():
            if k not in axes:
                raise ConfigError(f"{at}: match on {k!r}, which is not a [grid] axis "
                                  f"(axes: {', '.join(axes) or 'none'})")
            if v not in axes[k]:
                raise ConfigError(f"{at}: match {k} = {_show(v)} is not one of the [grid] values {_show(axes[k])}")
        checked_set = {k: _checked_value(k, v, f"{at} set") for k, v in assign.items()}
        overrides.append({"match": checked_match, "set": checked_set})
    return {"axes": axes, "overrides": overrides}


def _given(args: argparse.Namespace) -> dict[str, Any]:
    """The training settings actually typed on the command line (the others are SUPPRESSed)."""
    return {s.name: getattr(args, s.name) for s in SETTINGS if hasattr(args, s.name)}


def _check_sizes(settings: dict[str, Any]) -> None:
    """Cross-field checks that need the data set size, done before loading any data."""
    n = settings.get("train_size") or N_TRAIN
    val = settings.get("val_size", 0.0)
    if val >= 1 and val != int(val):
        raise ConfigError(f"val_size must be a fraction below 1 or a whole count, got {val!r}")
    try:
        n_val = split_size(int(val) if val >= 1 else val, n)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    n_fit = n - n_val
    if n_fit < 1:
        raise ConfigError(f"val_size {val:g} leaves no training samples out of {n}")
    batch = settings.get("batch_size")
    if batch is not None and batch > n_fit:
        raise ConfigError(f"batch size {batch} is larger than the {n_fit} training samples; "
                          "use a smaller --batch-size or a larger --train-size")


def _make_config(settings: dict[str, Any]):
    """A validated TrainConfig from checked settings (defaults fill what is missing)."""
    from .train import TrainConfig

    merged = {**TrainConfig().to_dict(), **settings}
    _check_sizes(merged)
    config = TrainConfig.from_dict(merged)
    config.validate()
    return config


def resolve_train(args: argparse.Namespace):
    """The TrainConfig of a parsed ``train`` command: defaults < ``--config`` file < options.

    A grid file trains one of its runs when every axis is given on the command line; its
    ``[[grid.override]]`` entries that match those values apply, below the typed options.

    Example:
        >>> args = build_parser().parse_args(["train", "--lr", "0.5"])
        >>> resolve_train(args).lr
        0.5
    """
    settings: dict[str, Any] = {}
    given = _given(args)
    if getattr(args, "config", None):
        settings, grid = read_config(args.config)
        if grid is not None:
            # One run of a grid file: every axis must be pinned on the command line, and the
            # overrides that match it apply (typed options still win over them).
            loose = [name for name in grid["axes"] if name not in given]
            if loose:
                flags = " ".join(f"{SETTINGS_BY_NAME[n].flag} X" for n in loose)
                raise ConfigError(f"config file {args.config} is a grid over {', '.join(loose)}; run it "
                                  f"with '{PROG} grid --config {args.config}', or train one of its runs "
                                  f"by giving {flags}")
            pinned = {name: given[name] for name in grid["axes"]}
            settings.update(_apply_overrides(pinned, grid["overrides"]))
    settings.update(given)
    return _make_config(settings)


@dataclass
class GridPlan:
    """A resolved grid: base config, axes (name -> values), overrides, every run's settings
    (axis values plus matching overrides) and its directory name."""

    base: Any
    axes: dict[str, list[Any]]
    overrides: list[dict[str, dict[str, Any]]]
    runs: list[dict[str, Any]]
    names: list[str]


def _apply_overrides(combo: dict[str, Any], overrides: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    changes = dict(combo)
    for override in overrides:
        if all(combo.get(k) == v for k, v in override["match"].items()):
            changes.update(override["set"])
    return changes


def resolve_grid(args: argparse.Namespace) -> GridPlan:
    """Base settings, axes and overrides of a parsed ``grid`` command; every run is validated.

    A setting typed once on the command line is fixed for all runs (it replaces an axis of the
    file); typed with several values it is an axis (replacing the file's axis).

    Example:
        >>> args = build_parser().parse_args(["grid", "--loss", "ce", "hinge", "--epochs", "2"])
        >>> plan = resolve_grid(args)
        >>> plan.axes, plan.base.epochs, len(plan.runs)
        ({'loss': ['ce', 'hinge']}, 2, 2)
    """
    settings: dict[str, Any] = {}
    axes: dict[str, list[Any]] = {}
    overrides: list[dict[str, dict[str, Any]]] = []
    if getattr(args, "config", None):
        settings, grid = read_config(args.config)
        if grid is not None:
            axes, overrides = dict(grid["axes"]), grid["overrides"]
    for name, value in _given(args).items():
        setting = SETTINGS_BY_NAME[name]
        values = value if isinstance(value, list) and setting.kind not in ("bool", "path") else [value]
        unique = []
        for v in values:
            if v in unique:
                raise ConfigError(f"{setting.flag} lists {_show(v)} twice")
            unique.append(v)
        if len(unique) == 1:
            settings[name] = unique[0]
            axes.pop(name, None)
        else:
            axes[name] = unique
            settings.pop(name, None)
    for override in overrides:
        for k in override["match"]:
            if k not in axes:
                raise ConfigError(f"a [[grid.override]] matches on {k!r}, which the command line "
                                  "made a fixed setting; give it several values or drop the override")
    if not axes:
        raise ConfigError("a grid needs at least one setting with several values, e.g. "
                          "--loss ce hinge or a [grid] table in --config")
    # Rows activations, columns losses: results.md tables the first two varying axes that way.
    axes = {k: axes[k] for k in sorted(axes, key=lambda k: ("activation", "loss").index(k)
                                       if k in ("activation", "loss") else 2)}
    base = _make_config(settings)
    runs = []
    for combo in itertools.product(*axes.values()):
        changes = _apply_overrides(dict(zip(axes, combo)), overrides)
        try:
            _make_config({**settings, **changes})
        except ConfigError as e:
            raise ConfigError(f"run {_describe_changes(changes)}: {e}") from None
        runs.append(changes)
    from .train.grid import plan_grid

    names = [run["name"] for run in plan_grid(base, axes, [(o["match"], o["set"]) for o in overrides])]
    return GridPlan(base, axes, overrides, runs, names)


def _describe_changes(changes: dict[str, Any]) -> str:
    return " ".join(f"{k}={_show(v)}" for k, v in changes.items())


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def _log(line: str) -> None:
    # One write per line: print() writes the text and the newline separately, and with
    # PYTHONUNBUFFERED those reach the terminal separately, between the lines of grid workers.
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _cmd_train(args: argparse.Namespace) -> int:
    from . import train

    if args.resume is not None:
        given = sorted(_given(args)) + (["config"] if args.config else []) + (["out"] if args.out else [])
        if given:
            flag = SETTINGS_BY_NAME[given[0]].flag if given[0] in SETTINGS_BY_NAME else f"--{given[0]}"
            raise ConfigError(f"--resume continues a run with its saved settings; drop {flag}")
        config_file = Path(args.resume, "config.json")
        if not config_file.is_file():
            raise ConfigError(f"{args.resume} is not a run directory (no config.json)")
        if args.dry_run:
            _log(f"would resume {args.resume} with settings:")
            _log(config_file.read_text(encoding="utf-8").rstrip())
            return 0
        return _finish_run(train.resume(args.resume, log=_log))

    config = resolve_train(args)
    if args.dry_run:
        _log(json.dumps(config.to_dict(), indent=2))
        return 0
    return _finish_run(train.fit(config, out_dir=args.out, log=_log))


def _finish_run(summary: dict[str, Any]) -> int:
    """Say how the run ended and where it is; 130 (like Ctrl-C) when it was interrupted."""
    where = summary.get("run_dir")
    stopped = summary.get("stopped")
    if stopped == "interrupted":
        # The trainer already printed how to resume.
        return 130
    accuracy = summary.get("test_accuracy")
    result = f"test accuracy {100 * accuracy:.2f}%" if accuracy is not None else "no epoch finished"
    how = "stopped early" if stopped == "early" else "done"
    _log(f"{how} after {summary.get('epochs_run')} epochs: {result}; run directory {where}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from . import train

    if args.dry_run:
        _log(f"would evaluate {args.checkpoint} on the test set of its run")
        return 0
    result = train.evaluate(args.checkpoint, data_dir=args.data_dir)
    _log(format_evaluation(result))
    return 0


def format_evaluation(result: dict[str, Any]) -> str:
    """Accuracy, loss and the confusion matrix (rows true digit, columns predicted) as text.

    Example:
        >>> confusion = [[5 if i == j else 0 for j in range(10)] for i in range(10)]
        >>> print(format_evaluation({"accuracy": 1.0, "loss": 0.01, "confusion": confusion, "n": 50}))
        ... # doctest: +ELLIPSIS
        accuracy 100.00% (50 of 50 test images)
        loss     0.0100
        ...
    """
    confusion = [[int(c) for c in row] for row in result["confusion"]]
    n = int(result.get("n", sum(map(sum, confusion))))
    correct = sum(confusion[i][i] for i in range(len(confusion)))
    width = max(5, len(str(max(max(row) for row in confusion))) + 1)
    lines = [
        f"accuracy {100 * result['accuracy']:.2f}% ({correct} of {n} test images)",
        f"loss     {result['loss']:.4f}",
        "confusion matrix (rows: true digit, columns: predicted digit):",
        "true" + "".join(f"{j:>{width}}" for j in range(len(confusion))) + "   recall",
    ]
    for i, row in enumerate(confusion):
        total = sum(row)
        recall = f"{100 * row[i] / total:7.2f}%" if total else "      -"
        lines.append(f"{i:>4}" + "".join(f"{c:>{width}}" for c in row) + f"  {recall}")
    return "\n".join(lines)


def _cmd_grid(args: argparse.Namespace) -> int:
    from . import train

    plan = resolve_grid(args)
    out = args.out or str(Path("runs", f"grid-{Path(args.config).stem}" if args.config else "grid"))
    jobs = args.jobs or _default_jobs()
    if args.dry_run:
        _log(f"{len(plan.runs)} runs into {out} with {jobs} jobs; base settings:")
        _log(json.dumps(plan.base.to_dict(), indent=2))
        for i, (name, changes) in enumerate(zip(plan.names, plan.runs), start=1):
            _log(f"run {i} ({out}/{name}): {_describe_changes(changes)}")
        return 0
    overrides = [(o["match"], o["set"]) for o in plan.overrides]
    entries = train.run_grid(plan.base, plan.axes, out, jobs=jobs, log=_log, overrides=overrides)
    results = Path(out, "results.md")
    if results.is_file():
        _log(results.read_text(encoding="utf-8").rstrip())
    _log(f"results: {results}; curves: {Path(out, 'curves.png')}")
    if any(e.get("stopped") == "interrupted" or e.get("stopped") == "not_started" for e in entries):
        return 130
    failed = [e["name"] for e in entries if e.get("stopped") == "error"]
    if failed:
        # Not a usage error: the runs themselves broke, and results.md says how.
        print(f"{PROG}: {len(failed)} of {len(entries)} runs failed ({', '.join(failed)}); see {results}",
              file=sys.stderr, flush=True)
        return 1
    return 0


def _metrics_dirs(run_dirs: Sequence[str]) -> list[Path]:
    """Run directories with a metrics.csv; a grid directory stands for its runs."""
    found: list[Path] = []
    for text in run_dirs:
        path = Path(text)
        if (path / "metrics.csv").is_file():
            found.append(path)
            continue
        inner = sorted(p.parent for p in path.glob("*/metrics.csv"))
        if not inner:
            raise UserError(f"{text} has no metrics.csv (and no run directories with one); "
                            "give run directories written by 'train' or 'grid'")
        found.extend(inner)
    return found


def _cmd_plot(args: argparse.Namespace) -> int:
    dirs = _metrics_dirs(args.run_dirs)
    if args.dry_run:
        _log(f"would plot {len(dirs)} runs into {args.out}: " + ", ".join(str(d) for d in dirs))
        return 0
    from .viz import plot_curves

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    try:
        written = plot_curves(dirs, args.out, title=args.title)
    except (ImportError, ValueError) as e:
        # viz reports a missing matplotlib and a malformed metrics.csv with messages for the user.
        raise UserError(str(e)) from None
    _log(f"wrote {written}")
    return 0


def _cmd_graph(args: argparse.Namespace) -> int:
    settings = _given(args)
    settings["batch_size"] = args.batch_size
    config = _make_config(settings)
    suffix = Path(args.out).suffix.lower()
    if suffix in (".svg", ".png", ".pdf") and shutil.which("dot") is None:
        raise UserError(f"writing {suffix} needs the graphviz 'dot' program, which is not installed; "
                        "install graphviz, or write --out graph.dot")
    if args.dry_run:
        shown = {k: config.to_dict()[k] for k in ("hidden", "activation", "loss", "margin", "seed")}
        _log(f"would draw into {args.out}: {json.dumps(shown)}")
        return 0
    from .viz import DotNotFoundError, save_graph

    loss, names = graph_inputs(config, args.batch_size, backward=args.show_grads)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    try:
        written = save_graph(loss, args.out, names=names, show_values=args.show_values,
                             show_grads=args.show_grads)
    except DotNotFoundError as e:
        raise UserError(str(e)) from None
    _log(f"wrote {written}")
    return 0


def graph_inputs(config, batch_size: int = 2, backward: bool = False):
    """``(loss, names)``: ``loss(model(x), y)`` on a seeded random MNIST-shaped batch, and the
    parameter names to label its graph with (``names`` maps names to tensors).

    ``backward`` runs ``loss.backward(retain_graph=True)`` so the gradients can be drawn on the
    still-complete graph.

    Example:
        >>> from tinygrad_mnist.train import TrainConfig
        >>> loss, names = graph_inputs(TrainConfig(hidden=[4]))
        >>> loss.shape, sorted(names)[:2]
        ((), ['images', 'layers.0.bias'])
    """
    import numpy as np

    from . import Tensor
    from . import train

    rng = np.random.default_rng(config.seed)
    model = train.build_model(config)
    loss_fn = train.build_loss(config)
    images = Tensor(rng.random((batch_size, N_PIXELS)).astype(config.dtype), name="images")
    labels = rng.integers(0, N_CLASSES, size=batch_size)
    loss = loss_fn(model(images), labels)
    if backward:
        loss.backward(retain_graph=True)
    names = {"images": images, **dict(model.named_parameters())}
    return loss, names


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status: 0 ok, 1 some grid runs failed, 2 bad input,
    130 interrupted (resumable), 141 output pipe closed.

    Example:
        >>> main(["graph", "--activation", "gleu", "--dry-run"])
        2
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    with _warnings_as_one_line():
        try:
            args = _parse(argv)
            return args.run(args)
        except _ParserExit as e:
            return e.status
        except _UsageError as e:
            _error(str(e))
            return 2
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
