"""Training: configs, the training loop, metrics, checkpoints, resuming, and planning grids of runs
(running them is :mod:`tinygrad_mnist.experiments`).

>>> from tinygrad_mnist import train
>>> config = train.TrainConfig(hidden=[128], activation="relu", loss="ce", epochs=2)
>>> summary = train.fit(config, out_dir="runs/example")  # doctest: +SKIP
>>> train.evaluate("runs/example")["accuracy"]  # doctest: +SKIP
0.95...
"""
from .builders import build_loss, build_model, build_optimizer, build_schedule
from .checkpoint import CHECKPOINT_NAME, Checkpoint, load_checkpoint, open_checkpoint, read_checkpoint, save_checkpoint
from .config import SETTINGS, TrainConfig
from .evaluation import evaluate, evaluate_arrays
from .grid_plan import plan_grid
from .metrics import accuracy, confusion_matrix, read_metrics_csv
from .runs import fit, fixed_on_resume, resume
from .status import RunStatus, end_of_run_line

__all__ = [
    "CHECKPOINT_NAME",
    "Checkpoint",
    "RunStatus",
    "SETTINGS",
    "TrainConfig",
    "accuracy",
    "build_loss",
    "build_model",
    "build_optimizer",
    "build_schedule",
    "confusion_matrix",
    "end_of_run_line",
    "evaluate",
    "evaluate_arrays",
    "fit",
    "fixed_on_resume",
    "load_checkpoint",
    "open_checkpoint",
    "plan_grid",
    "read_checkpoint",
    "read_metrics_csv",
    "resume",
    "save_checkpoint",
]
