"""``tinygrad-mnist train``: one run, from the defaults, a TOML file and the options typed."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import ConfigError
from ..train import fit, fixed_on_resume, resume
from ..train.config import SETTINGS, SETTINGS_BY_NAME, TrainConfig
from ..train.grid_plan import normalise_overrides, override_changes
from ..train.memory import check_fits_in_memory, training_memory
from ..train.rundir import check_claimable
from ..train.saved_run import open_saved_run
from ..train.status import RunStatus, end_of_run_line
from .config_file import read_config
from .options import (
    PROG,
    Parser,
    UsageError,
    add_dry_run,
    add_settings,
    existing,
    given_settings,
    log,
    out_dir,
    typed_flag,
)

NAME = "train"
HELP = "train one model and save a run directory"
DESCRIPTION = (
    "Train one MLP on MNIST, printing progress. The run directory gets config.json,\n"
    "metrics.csv (one row per epoch), summary.json, checkpoint.npz and curves.png."
)
EPILOG = f"""\
examples:
  {PROG} train --hidden 256 128 --activation gelu --lr 0.05
  {PROG} train --hidden --loss ce                 (softmax regression)
  {PROG} train --config my.toml --epochs 3        (the file, with 3 epochs)
  {PROG} train --resume runs/relu-ce-128-s0
  {PROG} train --resume runs/relu-ce-128-s0 --no-progress

A config file holds settings as top-level keys with underscores:
  hidden = [256, 128]
  activation = "gelu"
  batch_size = 100
"""
CONFIG_HELP = (
    "TOML file with settings: top-level keys are the option names with underscores "
    "(batch_size = 100); options given on the command line override the file (default: none)"
)


def add_arguments(parser: Parser) -> None:
    """The options of ``train``: every setting, plus the file, the run directory and resuming."""
    parser.add_argument("--config", type=existing("file"), metavar="FILE.toml", help=CONFIG_HELP)
    parser.add_argument("--out", type=out_dir, metavar="DIR", help="run directory to create; it must be new or "
                        "empty (default: a fresh runs/<activation>-<loss>-<hidden>-s<seed>)")
    changeable = ", ".join(s.flag for s in SETTINGS if s.display_only or s.local)
    parser.add_argument("--resume", type=existing("directory"), metavar="RUN_DIR",
                        help="continue an unfinished run from its last checkpoint with its saved settings; "
                        f"only {changeable} may be given with it; the data are looked for as --data-dir "
                        "describes (never in a folder saved with the run) and must match the run's "
                        "checksums (default: start a new run)")
    add_dry_run(parser, "the resolved settings as JSON (after checking that the run could start: "
                "--out free, the model fitting in memory)")
    add_settings(parser)


def resolve_train(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of a parsed ``train`` command: defaults < ``--config`` file < options.

    A grid file trains one of its runs when every axis is given on the command line; its
    ``[[grid.override]]`` entries that match those values apply, below the typed options.

    Example:
        >>> from tinygrad_mnist.cli import build_parser
        >>> resolve_train(build_parser().parse_args(["train", "--lr", "0.5"])).lr
        0.5
    """
    typed = given_settings(args)
    settings = {}
    if args.config:
        settings, grid = read_config(args.config)
        if grid is not None:
            loose = [name for name in grid["axes"] if name not in typed]
            if loose:
                flags = " ".join(f"{SETTINGS_BY_NAME[name].flag} X" for name in loose)
                raise UsageError(f"config file {args.config} is a grid over {', '.join(loose)}; run it with "
                                 f"'{PROG} grid --config {args.config}', or train one of its runs by giving {flags}")
            overrides = normalise_overrides(grid["overrides"], grid["axes"])
            settings.update(override_changes(TrainConfig.from_dict({**settings, **typed}), overrides))
    return TrainConfig.from_dict({**settings, **typed})


def run(args: argparse.Namespace) -> int:
    """Train (or resume, or only check with ``--dry-run``); the exit status."""
    if args.resume is not None:
        return _resume(args)
    config = resolve_train(args)
    if args.dry_run:
        # A dry run refuses what the real run would refuse before it starts, creating nothing.
        check_fits_in_memory(training_memory(config), "training this model")
        if args.out is not None:
            check_claimable(args.out)
        log(json.dumps(config.to_dict(), indent=2))
        return 0
    return finish(fit(config, out_dir=args.out, log=log))


def _resume(args: argparse.Namespace) -> int:
    typed = given_settings(args)
    refused = [typed_flag(SETTINGS_BY_NAME[name], typed[name]) for name in fixed_on_resume(typed)]
    refused += [flag for flag, value in (("--config", args.config), ("--out", args.out)) if value]
    if refused:
        raise UsageError(f"--resume continues a run with its saved settings; drop {', '.join(refused)}")
    if not Path(args.resume, "config.json").is_file():
        raise ConfigError(f"{args.resume} is not a run directory (no config.json)")
    if args.dry_run:
        # The settings that count are the checkpoint's (config.json is for reading, not trusted).
        saved = open_saved_run(args.resume)
        log(f"would resume {args.resume} with settings:")
        log(json.dumps(saved.config.to_dict(), indent=2))
        return 0
    return finish(resume(args.resume, log=log, changes=typed))


def finish(summary: dict) -> int:
    """Say how the run ended; the exit status (130, like Ctrl-C, when it was interrupted)."""
    if summary["stopped"] == RunStatus.INTERRUPTED:
        return 130  # the trainer already said how to resume
    log(end_of_run_line(summary))
    return 0
