"""``tinygrad-mnist plot``: the learning curves of run directories in one image."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError
from ..viz.curves import PANELS as METRICS, SPLITS, run_directories
from .options import Parser, add_dry_run, existing, log, out_file

NAME = "plot"
HELP = "draw the learning curves of run directories into one image"
DESCRIPTION = (
    "Plot loss and accuracy per epoch (train solid, validation dotted, test dashed) of\n"
    "one or more runs into one image. A grid directory stands for all its runs. Where\n"
    "runs are compared, each axis zooms on the range they differ in; runs trained with\n"
    "different losses get one loss panel each; with more than 4 runs each panel shows\n"
    "one split (training loss, test accuracy); the legend gives each final accuracy."
)
EPILOG = "example: tinygrad-mnist plot runs/a_one_hidden --metric accuracy --ylim accuracy 0.95 0.99"


def add_arguments(parser: Parser) -> None:
    """The runs to plot, what to show, the image and its title."""
    parser.add_argument("run_dirs", nargs="+", type=existing("directory"), metavar="RUN_DIR",
                        help="run directories (each with a metrics.csv) or grid directories")
    parser.add_argument("--out", type=out_file((".png", ".svg", ".pdf")), default="curves.png",
                        metavar="FILE", help="image to write: .png, .svg or .pdf (default: curves.png)")
    parser.add_argument("--title", default=None, help="figure title (default: none)")
    parser.add_argument("--metric", nargs="+", choices=METRICS, default=list(METRICS), metavar="METRIC",
                        help=f"the panels to draw: {', '.join(METRICS)} (default: both)")
    parser.add_argument("--split", nargs="+", choices=SPLITS, default=None, metavar="SPLIT",
                        help=f"the curves to draw: {', '.join(SPLITS)} (default: every split for up to 4 runs, "
                        "else training loss and test accuracy)")
    parser.add_argument("--ylim", nargs=3, action="append", default=None, metavar=("METRIC", "LOW", "HIGH"),
                        help="fix a panel's y axis, e.g. --ylim accuracy 0.95 0.99 (may be repeated; "
                        "default: zoom on the range the curves take after their first epochs)")
    parser.add_argument("--no-zoom", action="store_true",
                        help="show each axis whole instead of zooming on where the runs differ")
    add_dry_run(parser, "the runs that would be plotted")


def _limits(given) -> dict:
    """``--ylim`` triples as plot_curves' ``ylim``; bad ones are a usage error naming the option."""
    limits = {}
    for metric, low, high in given or ():
        if metric not in METRICS:
            raise UserError(f"--ylim: unknown metric {metric!r}; use one of {', '.join(METRICS)}")
        try:
            limits[metric] = (float(low), float(high))
        except ValueError:
            raise UserError(f"--ylim {metric}: LOW and HIGH must be numbers, got {low!r} {high!r}") from None
        if not limits[metric][0] < limits[metric][1]:
            raise UserError(f"--ylim {metric}: LOW must be below HIGH, got {low} {high}")
    return limits


def run(args: argparse.Namespace) -> int:
    """Plot (or list with ``--dry-run``); the exit status."""
    limits = _limits(args.ylim)
    try:
        dirs = run_directories(args.run_dirs)
    except FileNotFoundError as e:
        raise UserError(str(e)) from None
    if args.dry_run:
        log(f"would plot {len(dirs)} runs into {args.out}: " + ", ".join(str(d) for d in dirs))
        return 0
    from ..viz import plot_curves

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    try:
        written = plot_curves(dirs, args.out, title=args.title, metrics=args.metric, splits=args.split,
                              ylim=limits, zoom=not args.no_zoom)
    except (ImportError, ValueError) as e:
        # viz reports a missing matplotlib and a malformed metrics.csv with messages for the user.
        raise UserError(str(e)) from None
    log(f"wrote {written}")
    return 0
