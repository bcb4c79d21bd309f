"""The files a run leaves when it ends: metrics.csv, curves.png and summary.json, written in that
order so that summary.json, written last, marks a run whose files are all there.

A run stopped between its final checkpoint and its summary (a second Ctrl-C, a SIGKILL) has a
final checkpoint but no matching summary; ``train --resume`` then writes the missing files from
the checkpoint (:func:`final_files_complete` tells the two apart).
"""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from .config import TrainConfig
from .metrics import write_metrics_csv
from .state import TrainingState
from .status import RunStatus
from .summary import read_json_file, write_summary

Log = Callable[[str], None]
SUMMARY_NAME = "summary.json"
METRICS_NAME = "metrics.csv"
CURVES_NAME = "curves.png"
CONFIG_NAME = "config.json"
#: Every file a run writes besides its checkpoint (whose stale temporaries a resume removes).
RUN_FILES = (CONFIG_NAME, METRICS_NAME, SUMMARY_NAME, CURVES_NAME)


def resume_command(run_dir: Path) -> str:
    """The shell command that continues an interrupted run.

    >>> resume_command(Path("runs/my run"))
    "tinygrad-mnist train --resume 'runs/my run'"
    """
    return f"tinygrad-mnist train --resume {shlex.quote(str(run_dir))}"


def early_stop_message(config: TrainConfig, state: TrainingState, monitor: str) -> str:
    """The line saying why a run stopped early.

    >>> state = TrainingState(epoch=4, best_loss=0.25, best_epoch=2)
    >>> early_stop_message(TrainConfig(early_stop=2), state, "val_loss")
    'early stop after epoch 4: val_loss did not improve by more than 0 for 2 epochs (best 0.2500 at epoch 2)'
    """
    return (
        f"early stop after epoch {state.epoch}: {monitor} did not improve by more than "
        f"{config.early_stop_min_delta:g} for {config.early_stop} epochs "
        f"(best {state.best_loss:.4f} at epoch {state.best_epoch})"
    )


def build_summary(
    run_dir: Path,
    config: TrainConfig,
    state: TrainingState,
    stopped: RunStatus,
    message: Optional[str],
    monitor: str,
    checkpoint_path: Path,
    checkpoint_epoch: int,
) -> Dict[str, Any]:
    """The contents of summary.json: how the run ended, its final and best metrics, and where its
    checkpoint is.

    >>> summary = build_summary(Path("runs/a"), TrainConfig(epochs=3), TrainingState(), RunStatus.INTERRUPTED,
    ...                         "stopped", "test_loss", Path("runs/a/checkpoint.npz"), 0)
    >>> summary["stopped"], summary["epochs_run"], summary["resume_command"]
    ('interrupted', 0, 'tinygrad-mnist train --resume runs/a')
    """
    final = {k: v for k, v in state.rows[-1].items() if k != "epoch"} if state.rows else {}
    best: Dict[str, Any] = {"monitor": monitor, "epoch": state.best_epoch}
    if state.best_epoch is not None:
        best.update({k: v for k, v in state.rows[state.best_epoch - 1].items() if k != "epoch"})
    summary: Dict[str, Any] = {
        "run_dir": str(run_dir),
        "dataset": config.dataset,
        "stopped": stopped.value,
        "message": message,
        "epochs": config.epochs,
        "epochs_run": len(state.rows),
        "seconds": state.seconds,
        "seconds_per_epoch": state.seconds / len(state.rows) if state.rows else None,
    }
    for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "val_loss", "val_accuracy"):
        if key in final:
            summary[key] = final[key]
    summary.update(
        {
            "final": final,
            "best": best,
            "skipped_batches": state.skipped,
            "checkpoint": str(checkpoint_path),
            "checkpoint_epoch": checkpoint_epoch,
        }
    )
    if stopped is RunStatus.INTERRUPTED:
        summary["resume_command"] = resume_command(run_dir)
    return summary


def draw_curves(run_dir: Path, log: Log) -> None:
    """Draw curves.png from metrics.csv when matplotlib is installed; a failure is only a warning."""
    try:
        import matplotlib  # noqa: F401  (only to learn whether plotting is possible)
    except ImportError:
        return
    from ..viz import plot_curves

    try:
        plot_curves([run_dir], run_dir / CURVES_NAME, title=run_dir.name)
    except (ValueError, OSError, RuntimeError) as error:
        # The run's results are already on disk; a failed figure must not hide them.
        log(f"warning: could not draw {CURVES_NAME}: {error}")


def write_final_files(
    run_dir: Path,
    rows: List[Dict[str, float]],
    columns: List[str],
    summary: Dict[str, Any],
    plot: Optional[Callable[[], None]],
) -> None:
    """metrics.csv, then curves.png (``plot``, if given and there are rows), then summary.json."""
    write_metrics_csv(run_dir / METRICS_NAME, rows, columns)
    if plot is not None and rows:
        plot()
    write_summary(run_dir / SUMMARY_NAME, summary)


def final_files_complete(run_dir: Path, status: RunStatus, epochs_run: int) -> bool:
    """Whether the summary.json of a run whose final checkpoint says ``status`` after
    ``epochs_run`` epochs was written after that checkpoint (and so everything before it too).

    >>> import tempfile
    >>> final_files_complete(Path(tempfile.mkdtemp()), RunStatus.COMPLETED, 3)
    False
    """
    try:
        summary = read_json_file(run_dir / SUMMARY_NAME)
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and summary.get("stopped") == status.value and summary.get("epochs_run") == epochs_run
