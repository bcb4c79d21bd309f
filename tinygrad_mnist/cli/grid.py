"""``tinygrad-mnist grid``: every combination of the settings given several values, in parallel.

The command gathers the base settings, axes and overrides from the file and the options; the
library's planner (:func:`~tinygrad_mnist.train.plan_grid`) checks them and plans the runs, once.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

from ..checks import AT_LEAST_ONE
from ..train import plan_grid, run_grid
from ..train.config import SETTINGS_BY_NAME, TrainConfig
from ..train.grid_plan import describe_run
from ..train.status import RunStatus
from .config_file import read_config
from .options import (
    PROG,
    Parser,
    add_dry_run,
    add_settings,
    default_jobs,
    existing,
    given_settings,
    log,
    out_dir,
    whole_number,
)
from .train import CONFIG_HELP

NAME = "grid"
HELP = "train every combination of several settings, in parallel"
DESCRIPTION = (
    "Train the Cartesian product of the settings given several values, on the command\n"
    "line or in the [grid] table of a config file. Each run gets its own run directory\n"
    "under --out, next to results.md (the final accuracies; a table of activations by\n"
    "losses when both vary) and curves.png (every run's curves in one figure)."
)
EPILOG = f"""\
examples:
  {PROG} grid --activation sigmoid relu gelu --loss euclidean ce hinge --lr 0.1 0.01
  {PROG} grid --config examples/experiments/a_one_hidden.toml --jobs 4
  {PROG} grid --config examples/experiments/a_one_hidden.toml --epochs 5   (a shorter try)

A setting given once on the command line is fixed for every run (replacing an axis of the
file); given several values it is an axis. A config file names its axes in a [grid] table, and
[[grid.override]] entries change the runs whose axis values equal every value in 'match' (an
override may not set an axis itself):
  lr = 0.1
  [grid]
  activation = ["sigmoid", "relu", "gelu"]
  loss = ["euclidean", "ce", "hinge"]
  [[grid.override]]
  match = {{ loss = "hinge" }}
  set = {{ lr = 1e-4 }}
"""
# results.md tables the first two varying axes as rows by columns: activations by losses.
_FIRST_AXES = ("activation", "loss")


def add_arguments(parser: Parser) -> None:
    """The options of ``grid``: every setting (axis kinds take several values), plus the file,
    the output folder and the number of parallel jobs."""
    parser.add_argument("--config", type=existing("file"), metavar="FILE.toml",
                        help=CONFIG_HELP + "; a [grid] table lists the values of each axis")
    parser.add_argument("--jobs", type=whole_number("jobs", AT_LEAST_ONE), default=None, metavar="N",
                        help=f"runs trained at the same time; >= 1 (default: the number of cores, {default_jobs()} here)")
    parser.add_argument("--out", type=out_dir, metavar="DIR", help="directory for the runs, results.md and "
                        "curves.png (default: runs/grid-<config name>, or runs/grid without --config)")
    add_dry_run(parser, "the base settings and every run's changes")
    add_settings(parser, many=True)


@dataclass
class GridRequest:
    """What the file and the options ask for: base settings, axes and overrides (not yet planned).

    Example:
        >>> request = GridRequest(TrainConfig(epochs=1), {"loss": ["ce", "hinge"]}, [])
        >>> [run["name"] for run in request.runs()]
        ['ce', 'hinge']
    """

    base: TrainConfig
    axes: Dict[str, List[Any]]
    overrides: List[Dict[str, Dict[str, Any]]]

    def runs(self) -> List[Dict[str, Any]]:
        """The runs as the library's planner makes them (see :func:`~tinygrad_mnist.train.plan_grid`)."""
        return plan_grid(self.base, self.axes, self.overrides)


def resolve_grid(args: argparse.Namespace) -> GridRequest:
    """The base settings, axes and overrides of a parsed ``grid`` command.

    A setting typed once on the command line is fixed for all runs (it replaces an axis of the
    file); typed with several values it is an axis (replacing the file's axis).

    Example:
        >>> from tinygrad_mnist.cli import build_parser
        >>> request = resolve_grid(build_parser().parse_args(["grid", "--loss", "ce", "hinge", "--epochs", "2"]))
        >>> request.axes, request.base.epochs
        ({'loss': ['ce', 'hinge']}, 2)
    """
    settings: Dict[str, Any] = {}
    axes: Dict[str, List[Any]] = {}
    overrides: List[Dict[str, Dict[str, Any]]] = []
    if args.config:
        settings, grid = read_config(args.config)
        if grid is not None:
            axes, overrides = dict(grid["axes"]), grid["overrides"]
    for name, value in given_settings(args).items():
        values = value if SETTINGS_BY_NAME[name].kind.axis else [value]
        if len(values) == 1:
            settings[name] = values[0]
            axes.pop(name, None)
        else:
            axes[name] = values
            settings.pop(name, None)
    axes = {k: axes[k] for k in sorted(axes, key=lambda k: _FIRST_AXES.index(k) if k in _FIRST_AXES else 2)}
    return GridRequest(TrainConfig.from_dict(settings), axes, overrides)


def run(args: argparse.Namespace) -> int:
    """Plan (and with ``--dry-run`` only list) the runs, train them, show results.md; the exit
    status: 0, 1 when some runs failed, 130 when the grid was interrupted."""
    request = resolve_grid(args)
    out = args.out or str(Path("runs", f"grid-{Path(args.config).stem}" if args.config else "grid"))
    jobs = args.jobs or default_jobs()
    if args.dry_run:
        runs = request.runs()
        log(f"{len(runs)} runs into {out} with {jobs} jobs; base settings:")
        log(json.dumps(request.base.to_dict(), indent=2))
        for i, planned in enumerate(runs, start=1):
            log(f"run {i} ({out}/{planned['name']}): {describe_run({**planned['params'], **planned['overrides']})}")
        return 0
    entries = run_grid(request.base, request.axes, out, jobs=jobs, log=log, overrides=request.overrides)
    results = Path(out, "results.md")
    if results.is_file():
        log(results.read_text(encoding="utf-8").rstrip())
    log(f"results: {results}; curves: {Path(out, 'curves.png')}")
    if any(e.get("stopped") in (RunStatus.INTERRUPTED, RunStatus.NOT_STARTED) for e in entries):
        return 130
    failed = [e["name"] for e in entries if e.get("stopped") == RunStatus.ERROR]
    if failed:
        # Not a usage error: the runs themselves broke, and results.md says how.
        print(f"{PROG}: {len(failed)} of {len(entries)} runs failed ({', '.join(failed)}); see {results}",
              file=sys.stderr, flush=True)
        return 1
    return 0
