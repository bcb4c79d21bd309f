"""Grids of experiments: every combination of some settings, each a run, in parallel processes,
summarised in ``results.md`` / ``results.json`` and one ``curves.png``.

Per-combination overrides serve experiments such as the lab's activations x losses table, where
the hinge loss needs a much smaller learning rate than the others::

    run_grid(base, {"activation": ["sigmoid", "relu", "gelu"], "loss": ["euclidean", "ce", "hinge"]},
             "runs/act-loss", jobs=2, overrides=[({"loss": "hinge"}, {"lr": 1e-4})])

Planning (the runs, their names, how overrides match) is in :mod:`.grid_plan`; this module runs
the plan and writes the report.
"""
from __future__ import annotations

import contextlib
import json
import math
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from concurrent.futures import FIRST_COMPLETED, CancelledError, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

from ..atomic import atomic_write_text
from ..data import Splits
from ..errors import ConfigError, NonFiniteError
from .config import TrainConfig
from .grid_plan import Override, normalise_overrides, plan, plan_grid
from .interrupt import InterruptGuard, stop_when
from .rundir import claim_dir
from .status import RunStatus, end_of_run_line
from .summary import write_summary

__all__ = ["METRICS", "normalise_overrides", "plan_grid", "results_markdown", "run_grid"]

Log = Callable[[str], None]
METRICS = (
    ("test_accuracy", "Final test accuracy"),
    ("train_accuracy", "Final train accuracy"),
    ("test_loss", "Final test loss"),
    ("train_loss", "Final train loss"),
)
_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


# ---- running ------------------------------------------------------------------------------------------


def _worker_init(stop_event) -> None:
    # Idle workers ignore Ctrl-C / SIGTERM (no tracebacks, no broken pool). The parent stops runs
    # through ``stop_event``, which every fit in this worker treats like a Ctrl-C; a Ctrl-C from the
    # terminal also reaches a running fit's own handler, to the same effect.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stop_when(stop_event)
    _worker_state["stop"] = stop_event


_worker_state: Dict[str, Any] = {"stop": None}
NOT_STARTED = {"stopped": RunStatus.NOT_STARTED.value, "error": "the grid was interrupted before this run started"}


def _write_line(line: str) -> None:
    """Write a whole line in one call: workers share stdout, and print() may write the text and the
    newline separately (unbuffered), which splices lines of two workers together."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _run_one(
    config_dict: Dict[str, Any], run_dir: str, name: str, data: Optional[Splits], parent_log: Optional[Log] = None
) -> Dict[str, Any]:
    """Run one combination; never raises, so every failure reaches the parent as a message.

    Lines go to ``parent_log`` in-process, or to stdout in a worker process (a log function of
    the parent cannot travel to another process).
    """
    from .runs import fit

    stop = _worker_state["stop"]
    if stop is not None and stop.is_set():
        return dict(NOT_STARTED)
    write = parent_log if parent_log is not None else _write_line

    def log(line: str) -> None:
        write(f"[{name}] {line}")

    try:
        return fit(TrainConfig.from_dict(config_dict), out_dir=run_dir, data=data, log=log)
    except NonFiniteError as error:
        summary = dict(getattr(error, "summary", {}) or {})
        summary.setdefault("stopped", RunStatus.NONFINITE.value)
        summary["error"] = str(error)
        return summary
    except Exception as error:  # noqa: BLE001 - any failure of one run must be reported, not hang the grid
        return {"stopped": RunStatus.ERROR.value, "error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}


@contextlib.contextmanager
def _signals_ignored_while_spawning() -> Iterator[None]:
    """Start workers with SIGINT/SIGTERM ignored from their first instruction.

    An ignored disposition survives fork and exec, so a Ctrl-C that lands while a worker is still
    importing cannot kill it (which would break the whole pool); a Ctrl-C in this short window is
    lost for the parent too, which is the price.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def _worker_environment(jobs: int) -> Iterator[None]:
    """Give each worker process an equal share of the cores for BLAS, unless the user chose."""
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    added = [v for v in _BLAS_THREAD_VARIABLES if v not in os.environ]
    for variable in added:
        os.environ[variable] = threads
    try:
        yield
    finally:
        for variable in added:
            os.environ.pop(variable, None)


def _summary_from_disk(run_dir: Path, why: str) -> Dict[str, Any]:
    path = run_dir / "summary.json"
    if path.is_file():
        with contextlib.suppress(OSError, ValueError):
            summary = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(summary, dict):
                return summary
    return {"stopped": RunStatus.ERROR.value, "error": why}


def run_grid(
    base: Union[TrainConfig, Dict[str, Any]],
    axes: Dict[str, Sequence[Any]],
    out_dir: Union[str, os.PathLike],
    jobs: int = 1,
    log: Log = print,
    overrides: Optional[Sequence[Override]] = None,
    data: Optional[Splits] = None,
) -> List[Dict[str, Any]]:
    """Train every combination of ``axes`` on top of ``base``; return one entry per run.

    Each run gets the folder ``out_dir/<name>`` (``out_dir`` must be new or empty). With
    ``jobs > 1`` runs go to that many worker processes (spawned; progress bars off, each worker's
    BLAS limited to its share of the cores); their progress lines go to stdout prefixed with the
    run's name. A run that fails is reported (``"stopped": "error"`` and ``"error"``) and the others
    go on. Ctrl-C stops the grid: running runs save resumable checkpoints, queued ones never start.
    ``data`` (a prepared Splits) replaces loading MNIST in every run. Writes ``results.md`` (when
    exactly two axes vary, one table per metric with the first axis as rows and the second as
    columns; otherwise one row per run), ``results.json`` and ``curves.png``.

    Workers are started with the "spawn" method, so a script that calls ``run_grid`` with
    ``jobs > 1`` must do so under ``if __name__ == "__main__":`` (as for any multiprocessing code).

    >>> entries = run_grid(TrainConfig(epochs=1), {"activation": ["relu", "gelu"]}, "runs/grid", jobs=2)  # doctest: +SKIP
    >>> [e["name"] for e in entries]  # doctest: +SKIP
    ['relu', 'gelu']
    """
    if isinstance(base, dict):
        base = TrainConfig.from_dict(base)
    elif isinstance(base, TrainConfig):
        base = TrainConfig.from_dict(base.to_dict())
    else:
        raise ConfigError(f"base must be a TrainConfig or a dict of options, got {type(base).__name__}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs must be a positive integer (number of parallel runs), got {jobs!r}")
    axes, overrides, runs = plan(base, axes, overrides)
    if jobs > 1:
        for run in runs:
            run["config"] = run["config"].replace(progress=False)
    out = claim_dir(Path(out_dir))
    for run in runs:
        run["run_dir"] = out / run["name"]
    log(f"grid: {len(runs)} runs into {out} with {min(jobs, len(runs))} parallel job(s)")

    if jobs == 1:
        results = _run_sequential(runs, data, log)
    else:
        results = _run_parallel(runs, data, jobs, log)

    entries = []
    for run, result in zip(runs, results):
        entry = {"name": run["name"], "params": run["params"], "overrides": run["overrides"], "run_dir": str(run["run_dir"])}
        entry.update({k: v for k, v in result.items() if k != "run_dir"})
        entries.append(entry)
        if entry.get("stopped") in (RunStatus.ERROR, RunStatus.NONFINITE):
            log(f"[{run['name']}] {end_of_run_line(entry)}")
    _write_results(out, base, axes, overrides, entries, log)
    return entries


def _run_sequential(runs: List[Dict[str, Any]], data: Optional[Splits], log: Log) -> List[Dict[str, Any]]:
    results: List[Dict[str, Any]] = []
    with InterruptGuard() as guard:
        for run in runs:
            if guard.requested or any(r.get("stopped") == RunStatus.INTERRUPTED for r in results):
                results.append(dict(NOT_STARTED))
                continue
            log(f"[{run['name']}] starting")
            results.append(_run_one(run["config"].to_dict(), str(run["run_dir"]), run["name"], data, log))
    return results


def _run_parallel(runs: List[Dict[str, Any]], data: Optional[Splits], jobs: int, log: Log) -> List[Dict[str, Any]]:
    results: List[Optional[Dict[str, Any]]] = [None] * len(runs)
    context = multiprocessing.get_context("spawn")
    stop_event = context.Event()
    with InterruptGuard() as guard:
        executor = ProcessPoolExecutor(
            max_workers=min(jobs, len(runs)), mp_context=context, initializer=_worker_init, initargs=(stop_event,)
        )
        try:
            # ProcessPoolExecutor spawns its workers inside submit(), so they all start in here.
            with _worker_environment(jobs), _signals_ignored_while_spawning():
                futures = {
                    executor.submit(_run_one, run["config"].to_dict(), str(run["run_dir"]), run["name"], data): index
                    for index, run in enumerate(runs)
                }
            pending = set(futures)
            stopping = False
            while pending:
                done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                for future in done:
                    index = futures[future]
                    results[index] = _collect(future, runs[index])
                if guard.requested and not stopping:
                    stopping = True
                    stop_event.set()
                    for future in pending:
                        future.cancel()
                    log(f"grid: {guard.signal_name} received; running runs save a resumable checkpoint, the others do not start")
        finally:
            stop_event.set()
            executor.shutdown(wait=True, cancel_futures=True)
    return [r if r is not None else dict(NOT_STARTED) for r in results]


def _collect(future, run: Dict[str, Any]) -> Dict[str, Any]:
    try:
        return future.result()
    except CancelledError:
        return dict(NOT_STARTED)
    except BrokenProcessPool as error:
        return _summary_from_disk(run["run_dir"], f"its worker process died ({error})")


# ---- results --------------------------------------------------------------------------------------------


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


def _write_results(out: Path, base: TrainConfig, axes, overrides, entries: List[Dict[str, Any]], log: Log) -> None:
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
