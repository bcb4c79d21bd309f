"""A grid's report: ``results.md`` (Markdown tables of the final metrics), ``results.json`` (every
run's summary) and ``curves.png`` (every run's learning curves in one figure).

The report is made from the runs' summaries alone, so a grid continued over several sessions (or
whose runs ran on several machines) gets the same report as one that ran at once.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence

from ..atomic import atomic_write_text
from ..train import RunStatus, TrainConfig
from ..train.summary import write_summary

Log = Callable[[str], None]
#: The metrics results.md shows, each with its heading.
METRICS = (
    ("test_accuracy", "Final test accuracy"),
    ("train_accuracy", "Final train accuracy"),
    ("test_loss", "Final test loss"),
    ("train_loss", "Final train loss"),
)


def _cell(entry: Dict[str, Any], metric: str) -> str:
    stopped = entry.get("stopped")
    if stopped == RunStatus.NONFINITE:
        # The last finished epoch's numbers are not results of a run that blew up.
        return "diverged"
    value = entry.get(metric)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return f"{value:.4f}"
    if stopped == RunStatus.ERROR:
        return "failed"
    if stopped in (RunStatus.INTERRUPTED, RunStatus.NOT_STARTED):
        return stopped.replace("_", " ")
    return "n/a"


def _shown(key: str, value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "-".join(str(v) for v in value) or "none"
    return str(value)


def results_markdown(axes: Dict[str, Sequence[Any]], entries: List[Dict[str, Any]], title: str = "Grid results") -> str:
    """The Markdown report of a grid (see :func:`run_grid` for the layout).

    >>> entries = [{"params": {"a": x, "l": y}, "test_accuracy": 0.5, "train_accuracy": 0.6, "test_loss": 1.0,
    ...             "train_loss": 0.9, "stopped": "completed"} for x in ("relu", "gelu") for y in ("ce", "hinge")]
    >>> print(results_markdown({"a": ["relu", "gelu"], "l": ["ce", "hinge"]}, entries).splitlines()[4])
    | a \\ l | ce | hinge |
    """
    varying = [k for k in axes if len(axes[k]) > 1]
    lines = [f"# {title}", ""]
    if len(varying) == 2:
        rows_key, cols_key = varying
        lookup = {}
        for entry in entries:
            key = (json.dumps(entry["params"][rows_key]), json.dumps(entry["params"][cols_key]))
            lookup.setdefault(key, []).append(entry)
        for metric, heading in METRICS:
            lines += [f"## {heading}", ""]
            lines.append(f"| {rows_key} \\ {cols_key} | " + " | ".join(_shown(cols_key, c) for c in axes[cols_key]) + " |")
            lines.append("|---" * (len(axes[cols_key]) + 1) + "|")
            for row_value in axes[rows_key]:
                cells = []
                for col_value in axes[cols_key]:
                    found = lookup.get((json.dumps(row_value), json.dumps(col_value)), [])
                    cells.append(" / ".join(_cell(e, metric) for e in found) or "n/a")
                lines.append(f"| {_shown(rows_key, row_value)} | " + " | ".join(cells) + " |")
            lines.append("")
    else:
        shown_axes = varying or list(axes)
        header = ["run"] + shown_axes + [heading.replace("Final ", "") for _, heading in METRICS] + ["epochs", "stopped"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|---" * len(header) + "|")
        for entry in entries:
            cells = [str(entry.get("name", ""))]
            cells += [_shown(k, entry["params"].get(k)) for k in shown_axes]
            cells += [_cell(entry, metric) for metric, _ in METRICS]
            cells += [str(entry.get("epochs_run", "")), str(entry.get("stopped", ""))]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    failed = [e for e in entries if e.get("error")]
    if failed:
        lines += ["## Problems", ""]
        lines += [f"- {e.get('name')}: {str(e['error']).splitlines()[0]}" for e in failed]
        lines.append("")
    return "\n".join(lines)


def write_report(out: Path, base: TrainConfig, axes, overrides, entries: List[Dict[str, Any]], log: Log) -> None:
    """Write results.md, results.json and (with matplotlib) curves.png into the grid folder ``out``.

    >>> write_report(Path("runs/grid"), TrainConfig(), {"loss": ["ce"]}, [], [], print)  # doctest: +SKIP
    """
    atomic_write_text(out / "results.md", results_markdown(axes, entries, title=f"Grid results: {out.name}"))
    write_summary(
        out / "results.json",
        {
            "base": base.to_dict(),
            "axes": {k: list(v) for k, v in axes.items()},
            "overrides": [[m, c] for m, c in overrides],
            "runs": [{k: v for k, v in e.items() if k != "traceback"} for e in entries],
        },
    )
    plotted = [Path(e["run_dir"]) for e in entries if e.get("epochs_run") and (Path(e["run_dir"]) / "metrics.csv").is_file()]
    if not plotted:
        return
    try:
        import matplotlib  # noqa: F401  (only to learn whether plotting is possible)
    except ImportError:
        log("grid: matplotlib is not installed, so no curves.png (pip install tinygrad_mnist[plot])")
        return
    from ..viz import plot_curves

    try:
        plot_curves(plotted, out / "curves.png", title=out.name)
    except (ValueError, OSError, RuntimeError) as error:
        log(f"grid: could not draw curves.png: {error}")
