"""Experiments: grids of training runs, on this machine or a Dask cluster, and their reports.

>>> from tinygrad_mnist import experiments
>>> from tinygrad_mnist.train import TrainConfig
>>> entries = experiments.run_grid(TrainConfig(epochs=1), {"loss": ["ce", "hinge"]}, "runs/grid", jobs=2)  # doctest: +SKIP
>>> entries = experiments.resume_grid("runs/grid")  # doctest: +SKIP
"""
from .dask_cluster import ClusterError, ClusterSpec, DaskCluster, parse_cluster
from .executors import GridExecutor, InThreadExecutor, WorkerEnd
from .grid import open_executor, resume_grid, run_grid
from .local_pool import LocalPool, WorkerLost
from .report import METRICS, results_markdown, write_report
from .task import RunTask, run_task

__all__ = [
    "METRICS",
    "ClusterError",
    "ClusterSpec",
    "DaskCluster",
    "GridExecutor",
    "InThreadExecutor",
    "LocalPool",
    "RunTask",
    "WorkerEnd",
    "WorkerLost",
    "open_executor",
    "parse_cluster",
    "results_markdown",
    "resume_grid",
    "run_grid",
    "run_task",
    "write_report",
]
