"""``tinygrad-mnist plot``: the learning curves of run directories in one image."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Sequence

from ..errors import UserError
from .options import Parser, add_dry_run, existing, log, out_file

NAME = "plot"
HELP = "draw the learning curves of run directories into one image"
DESCRIPTION = (
    "Plot loss and accuracy per epoch (train solid, validation dotted, test dashed) of\n"
    "one or more runs into one image. A grid directory stands for all its runs."
)
EPILOG = None


def add_arguments(parser: Parser) -> None:
    """The runs to plot, the image and its title."""
    parser.add_argument("run_dirs", nargs="+", type=existing("directory"), metavar="RUN_DIR",
                        help="run directories (each with a metrics.csv) or grid directories")
    parser.add_argument("--out", type=out_file((".png", ".svg", ".pdf")), default="curves.png",
                        metavar="FILE", help="image to write: .png, .svg or .pdf (default: curves.png)")
    parser.add_argument("--title", default=None, help="figure title (default: none)")
    add_dry_run(parser, "the runs that would be plotted")


def metrics_dirs(run_dirs: Sequence[str]) -> List[Path]:
    """Run directories with a metrics.csv; a grid directory stands for its runs."""
    found: List[Path] = []
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


def run(args: argparse.Namespace) -> int:
    """Plot (or list with ``--dry-run``); the exit status."""
    dirs = metrics_dirs(args.run_dirs)
    if args.dry_run:
        log(f"would plot {len(dirs)} runs into {args.out}: " + ", ".join(str(d) for d in dirs))
        return 0
    from ..viz import plot_curves

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    try:
        written = plot_curves(dirs, args.out, title=args.title)
    except (ImportError, ValueError) as e:
        # viz reports a missing matplotlib and a malformed metrics.csv with messages for the user.
        raise UserError(str(e)) from None
    log(f"wrote {written}")
    return 0
