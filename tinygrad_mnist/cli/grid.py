"""``tinygrad-mnist grid``: every combination of the settings given several values, in parallel,
on this machine or a Dask cluster; ``grid --resume DIR`` continues one.

The command gathers the base settings, axes and overrides from the file and the options; the
library's planner (:func:`~tinygrad_mnist.train.plan_grid`) checks them and plans the runs, once,
and :func:`~tinygrad_mnist.experiments.run_grid` runs them.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

from ..checks import AT_LEAST_ONE
from ..errors import ConfigError
from ..experiments import parse_cluster, resume_grid, run_grid
from ..experiments.dask_cluster import INSTALL_HINT, require_dask
from ..experiments.executors import cores
from ..experiments.folder import GRID_FILE, read_grid_record, replan
from ..experiments.rundirs import inspect_run_dir
from ..train import fixed_on_resume, plan_grid
from ..train.config import SETTINGS_BY_NAME, TrainConfig
from ..train.grid_plan import describe_run
from ..train.status import RunStatus
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
    whole_number,
)
from .train import CONFIG_HELP

NAME = "grid"
HELP = "train every combination of several settings, in parallel"
DESCRIPTION = (
    "Train the Cartesian product of the settings given several values, on the command\n"
    "line or in the [grid] table of a config file. Each run gets its own run directory\n"
    "under --out, next to results.md (the final accuracies; a table of activations by\n"
    "losses when both vary) and curves.png (every run's curves in one figure).\n"
    "\n"
    "An interrupted grid is continued by the same command, or by --resume DIR: finished\n"
    "runs are kept, interrupted ones resume from their checkpoints, the others start.\n"
    "A run whose worker dies is retried once, from its last checkpoint."
)
EPILOG = f"""\
examples:
  {PROG} grid --activation sigmoid relu gelu --loss euclidean ce hinge --lr 0.1 0.01
  {PROG} grid --config examples/experiments/a_one_hidden.toml --jobs 4
  {PROG} grid --config examples/experiments/a_one_hidden.toml --epochs 5   (a shorter try)
  {PROG} grid --resume runs/grid-a_one_hidden                          (continue it)
  {PROG} grid --config examples/experiments/quick.toml --cluster local:2  (on Dask)
  {PROG} grid --config examples/experiments/a_one_hidden.toml --cluster tcp://host:8786

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
                        help=f"runs trained at the same time; >= 1 (default: the number of cores, {cores()} here; "
                        "with --cluster ADDRESS: as many as the cluster's worker threads)")
    parser.add_argument("--out", type=out_dir, metavar="DIR", help="directory for the runs, results.md and "
                        "curves.png (default: runs/grid-<config name>, or runs/grid without --config); the folder "
                        "of the same grid is continued")
    parser.add_argument("--resume", type=existing("directory"), metavar="DIR",
                        help=f"continue the grid in DIR as it was planned (DIR/{GRID_FILE}): keep its finished runs, "
                        "resume the interrupted ones, start the others; with it go only --jobs, --cluster and the "
                        "settings a resumed run may change (--data-dir, --disp-freq, --progress) (default: "
                        "plan the grid from the options, continuing it when --out holds the same grid)")
    parser.add_argument("--cluster", type=_cluster, metavar="ADDRESS",
                        help="run on a Dask cluster: its scheduler's address (tcp://host:8786), or local[:N] for a "
                        "cluster of N worker processes on this machine (default N: --jobs, else the number of "
                        f"cores); workers find MNIST themselves. Needs Dask: {INSTALL_HINT} (default: local worker "
                        "processes, see --jobs)")
    add_dry_run(parser, "the base settings and every run's changes")
    add_settings(parser, many=True)


def _cluster(text: str) -> str:
    """``--cluster``: checked here (without importing Dask), kept as typed."""
    try:
        parse_cluster(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


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


def _session_settings(args: argparse.Namespace) -> Dict[str, Any]:
    """The settings typed with ``--resume``: only those a resumed run may change (what is shown,
    where the data are), each given once."""
    typed = given_settings(args)
    refused = [typed_flag(SETTINGS_BY_NAME[name], typed[name]) for name in fixed_on_resume(typed)]
    refused += [flag for flag, value in (("--config", args.config), ("--out", args.out)) if value]
    if refused:
        raise UsageError(f"--resume continues the grid as it was planned, so {', '.join(refused)} cannot go with it; "
                         "to change settings, start a new grid with another --out")
    session = {}
    for name, value in typed.items():
        values = value if SETTINGS_BY_NAME[name].kind.axis else [value]
        if len(values) != 1:
            raise UsageError(f"{SETTINGS_BY_NAME[name].flag} takes one value with --resume (it is the same for every run)")
        session[name] = values[0]
    return session


def _dry_run(out: str, runs: List[Dict[str, Any]], base: TrainConfig, where: str) -> None:
    log(f"{len(runs)} runs into {out} {where}; base settings:")
    log(json.dumps(base.to_dict(), indent=2))
    # In the folder of a grid begun earlier, each run also says what a rerun would do with it.
    continuing = Path(out, GRID_FILE).is_file()
    states = {"finished": "finished: kept", "resumable": "resumes from its checkpoint", "fresh": "starts"}
    for i, planned in enumerate(runs, start=1):
        state = f" [{states[inspect_run_dir(Path(out, planned['name'])).kind]}]" if continuing else ""
        log(f"run {i} ({out}/{planned['name']}): {describe_run({**planned['params'], **planned['overrides']})}{state}")


def run(args: argparse.Namespace) -> int:
    """Plan (and with ``--dry-run`` only list) the runs, train them, show results.md; the exit
    status: 0, 1 when some runs failed, 130 when the grid was interrupted."""
    if args.cluster:
        require_dask()
    jobs = args.jobs or (None if args.cluster else cores())
    where = f"on {parse_cluster(args.cluster).describe()}" if args.cluster else f"with {jobs} jobs"
    if args.resume:
        session = _session_settings(args)
        out = args.resume
        base, axes, overrides, runs = replan(read_grid_record(Path(out)), session)
        if args.dry_run:
            _dry_run(out, runs, base, where)
            return 0
        start = lambda: resume_grid(out, jobs=jobs, log=log, cluster=args.cluster, changes=session)  # noqa: E731
    else:
        request = resolve_grid(args)
        out = args.out or str(Path("runs", f"grid-{Path(args.config).stem}" if args.config else "grid"))
        if args.dry_run:
            _dry_run(out, request.runs(), request.base, where)
            return 0
        start = lambda: run_grid(request.base, request.axes, out, jobs=jobs, log=log,  # noqa: E731
                                 overrides=request.overrides, cluster=args.cluster)
    continue_with = f"{PROG} grid --resume {shlex.quote(out)}"
    try:
        entries = start()
    except KeyboardInterrupt:
        print(f"{PROG}: error: grid interrupted; continue it with: {continue_with}", file=sys.stderr, flush=True)
        return 130
    results = Path(out, "results.md")
    if results.is_file():
        log(results.read_text(encoding="utf-8").rstrip())
    log(f"results: {results}; curves: {Path(out, 'curves.png')}")
    if any(e.get("stopped") in (RunStatus.INTERRUPTED, RunStatus.NOT_STARTED) for e in entries):
        log(f"the grid was interrupted; continue it with: {continue_with}")
        return 130
    failed = [e["name"] for e in entries if e.get("stopped") == RunStatus.ERROR]
    if failed:
        # Not a usage error: the runs themselves broke, and results.md says how.
        print(f"{PROG}: {len(failed)} of {len(entries)} runs failed ({', '.join(failed)}); see {results}; "
              f"rerun the grid to try them again: {continue_with}", file=sys.stderr, flush=True)
        return 1
    return 0
