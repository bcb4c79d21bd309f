"""Grids of experiments: every combination of some settings, each a run, in parallel, on this
machine or a Dask cluster, summarised in ``results.md`` / ``results.json`` and one ``curves.png``.

Per-combination overrides serve experiments such as the lab's activations x losses table, where
the hinge loss needs a much smaller learning rate than the others::

    run_grid(base, {"activation": ["sigmoid", "relu", "gelu"], "loss": ["euclidean", "ce", "hinge"]},
             "runs/act-loss", jobs=2, overrides=[({"loss": "hinge"}, {"lr": 1e-4})])

A grid can always be continued: running it again into its folder (or :func:`resume_grid`)
keeps the runs that finished, resumes interrupted ones from their checkpoints and starts the
others; no run is trained twice. Planning is :func:`~tinygrad_mnist.train.plan_grid`'s; the
folder, the executors, the loop that drives them and the report are this package's other modules.
"""
from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from ..data import Splits
from ..errors import ConfigError
from ..train import TrainConfig
from ..train.grid_plan import Override, plan
from .dask_cluster import ClusterSpec, DaskCluster, parse_cluster
from .executors import GridExecutor, InThreadExecutor, blas_threads
from .folder import GridFolder, grid_record, read_grid_record, replan, split_runs
from .local_pool import LocalPool
from .report import Log, write_report
from .runner import GridRunner
from .rundirs import inspect_run_dir

Cluster = Union[None, str, ClusterSpec]


def open_executor(jobs: Optional[int], cluster: Cluster = None, runs: Optional[int] = None) -> GridExecutor:
    """The executor a grid uses: a thread of this process (``jobs`` 1 or None, no cluster), a
    pool of ``jobs`` local worker processes (never more than ``runs``, each with the BLAS threads
    of one of ``jobs``, so a run computes alike however many runs are left), or a Dask cluster
    (``cluster`` as ``--cluster`` spells it, or a ClusterSpec; ``jobs`` then caps the runs
    executing at once).

    >>> with open_executor(1) as executor:
    ...     executor.describe()
    'in this process'
    """
    if cluster is not None:
        spec = parse_cluster(cluster) if isinstance(cluster, str) else cluster
        return DaskCluster(spec, jobs)
    jobs = jobs or 1
    if jobs == 1:
        return InThreadExecutor()
    return LocalPool(min(jobs, max(1, runs or jobs)), threads=blas_threads(jobs))


def _checked(base: Any, jobs: Any, cluster: Cluster, data: Optional[Splits]) -> TrainConfig:
    if isinstance(base, dict):
        base = TrainConfig.from_dict(base)
    elif isinstance(base, TrainConfig):
        base = TrainConfig.from_dict(base.to_dict())
    else:
        raise ConfigError(f"base must be a TrainConfig or a dict of options, got {type(base).__name__}")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ConfigError(f"jobs must be a positive integer (number of parallel runs), got {jobs!r}")
    if isinstance(cluster, str):
        parse_cluster(cluster)
    elif cluster is not None and not isinstance(cluster, ClusterSpec):
        raise ConfigError(f"cluster must be an address such as tcp://host:8786 or local:N, got {type(cluster).__name__}")
    if cluster is not None and data is not None:
        raise ConfigError("data cannot be given to a grid on a cluster: each worker loads MNIST itself (set data_dir "
                          "to a folder the workers have, or let them download it)")
    return base


def run_grid(
    base: Union[TrainConfig, Dict[str, Any]],
    axes: Dict[str, Sequence[Any]],
    out_dir: Union[str, os.PathLike],
    jobs: Optional[int] = None,
    log: Log = print,
    overrides: Optional[Sequence[Override]] = None,
    data: Optional[Splits] = None,
    cluster: Cluster = None,
) -> List[Dict[str, Any]]:
    """Train every combination of ``axes`` on top of ``base``; return one entry per run.

    Each run gets the folder ``out_dir/<name>``. ``out_dir`` must be new, empty, or the folder of
    this same grid (same runs with the same settings), which is then continued: finished runs
    are kept, interrupted or crashed ones resume from their checkpoints, the others start.

    Where runs execute: with ``jobs`` 1 (the default) in this process; with ``jobs > 1`` in that
    many local worker processes (spawned; progress bars off, each worker's BLAS limited to its
    share of the cores); with ``cluster`` (``"local:N"``, ``"tcp://host:8786"``) on Dask. Lines of
    the runs go to ``log`` prefixed with the run's name, with the grid's own lines (which worker
    runs what, a status line). A run that fails is reported (``"stopped": "error"`` and
    ``"error"``) and the others go on; a run whose worker dies is retried once from its last
    checkpoint. Ctrl-C stops the grid: running runs save resumable checkpoints, queued ones never
    start. ``data`` (a prepared Splits) replaces loading MNIST in every run (not on a cluster).
    Writes ``results.md`` (when exactly two axes vary, one table per metric with the first axis as
    rows and the second as columns; otherwise one row per run), ``results.json`` and
    ``curves.png``.

    Local workers are started with the "spawn" method, so a script that calls ``run_grid`` with
    ``jobs > 1`` or a local cluster must do so under ``if __name__ == "__main__":``.

    >>> entries = run_grid(TrainConfig(epochs=1), {"activation": ["relu", "gelu"]}, "runs/grid", jobs=2)  # doctest: +SKIP
    >>> [e["name"] for e in entries]  # doctest: +SKIP
    ['relu', 'gelu']
    """
    base = _checked(base, jobs, cluster, data)
    axes, overrides, runs = plan(base, axes, overrides)
    if (jobs or 1) > 1 or cluster is not None:
        for run in runs:
            run["config"] = run["config"].replace(progress=False)
    out = Path(out_dir)
    record = grid_record(base, axes, overrides, runs)
    to_do = [run for run in runs if inspect_run_dir(out / run["name"]).kind != "finished"] if out.is_dir() else runs
    results: Dict[str, Dict[str, Any]] = {}
    executor = open_executor(jobs, cluster, len(to_do)) if to_do else None
    try:
        with GridFolder.open(out, record) as folder:
            finished, to_do = split_runs(folder, runs)
            if to_do and executor is None:  # another process changed the folder since the first look
                executor = open_executor(jobs, cluster, len(to_do))
            _opening_line(log, out, runs, finished, to_do, folder, executor)
            if to_do:
                results = GridRunner(executor, folder, log, data).run(to_do)
            entries = []
            for run in runs:
                summary = results.get(run["name"]) or folder.state(run["name"]).summary or {}
                entry = {"name": run["name"], "params": run["params"], "overrides": run["overrides"],
                         "run_dir": str(folder.run_dir(run["name"]))}
                entry.update({k: v for k, v in summary.items() if k != "run_dir"})
                entries.append(entry)
            write_report(out, base, axes, overrides, entries, log)
    except BaseException:
        # A second Ctrl-C, or an error: the runs were asked to stop; do not wait for them.
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        raise
    if executor is not None:
        executor.shutdown(wait=True)
    return entries


def _opening_line(log: Log, out: Path, runs, finished, to_do, folder: GridFolder, executor) -> None:
    if not to_do:
        log(f"grid: all {len(runs)} runs in {out} had finished; results.md is written again")
        return
    resuming = sum(folder.state(run["name"]).kind == "resumable" for run in to_do)
    parts = []
    if finished:
        parts.append(f"{len(finished)} finished earlier and kept")
    if resuming:
        parts.append(f"{resuming} resume{'s' if resuming == 1 else ''} from {'its' if resuming == 1 else 'their'} checkpoint"
                     f"{'' if resuming == 1 else 's'}")
    starting = len(to_do) - resuming
    if parts and starting:
        parts.append(f"{starting} start{'s' if starting == 1 else ''}")
    detail = f" ({', '.join(parts)})" if parts else ""
    log(f"grid: {len(runs)} runs into {out}{detail}, {executor.describe()}")


def resume_grid(
    out_dir: Union[str, os.PathLike],
    jobs: Optional[int] = None,
    log: Log = print,
    data: Optional[Splits] = None,
    cluster: Cluster = None,
    changes: Optional[Dict[str, Any]] = None,
) -> List[Dict[str, Any]]:
    """Continue the grid in ``out_dir`` as it was planned (its grid.json): keep the finished runs,
    resume the interrupted ones, start the others; see :func:`run_grid` for the rest.

    ``changes`` may set what a resumed run may change (``data_dir``, ``progress``,
    ``disp_freq``); the data folder recorded in grid.json is not used (see
    :func:`~tinygrad_mnist.experiments.folder.replan`).

    >>> entries = resume_grid("runs/grid", jobs=2, changes={"data_dir": "/data/mnist"})  # doctest: +SKIP
    """
    out = Path(out_dir)
    record = read_grid_record(out)
    base, axes, overrides, _ = replan(record, changes)
    recorded = record["base"].get("data_dir")
    if recorded and base.data_dir is None and data is None:
        log(f"grid: the data folder this grid was started with ({recorded}) is not used when it is continued; "
            f"give --data-dir {shlex.quote(str(recorded))} to use it (now: $TINYGRAD_MNIST_DATA, else the download cache)")
    return run_grid(base, axes, out, jobs=jobs, log=log, overrides=overrides, data=data, cluster=cluster)
