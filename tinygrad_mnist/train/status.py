"""How a run stands or ended: one name for each status, shared by the trainer, grids and the CLI."""
from __future__ import annotations

from enum import Enum
from typing import Any, Dict


class RunStatus(str, Enum):
    """The status of a run, as ``summary["stopped"]`` and a checkpoint's training status hold it.

    A member equals its text (``RunStatus.COMPLETED == "completed"``), so summaries read back from
    JSON compare with it directly; summaries store the plain text (``.value``).

    ``RUNNING`` is the status of a checkpoint written while the run goes on; the others say how a
    run ended: ``NOT_STARTED`` and ``ERROR`` occur only in grids (a run the grid never started, a
    run that raised).

    >>> RunStatus("early_stop") is RunStatus.EARLY_STOP, RunStatus.COMPLETED == "completed"
    (True, True)
    >>> RunStatus.INTERRUPTED.resumable, RunStatus.COMPLETED.resumable
    (True, False)
    """

    RUNNING = "running"
    COMPLETED = "completed"
    EARLY_STOP = "early_stop"
    NONFINITE = "nonfinite"
    INTERRUPTED = "interrupted"
    ERROR = "error"
    NOT_STARTED = "not_started"

    def __str__(self) -> str:
        return self.value

    @property
    def resumable(self) -> bool:
        """Whether ``train.resume`` continues a run whose checkpoint has this status."""
        return self in (RunStatus.RUNNING, RunStatus.INTERRUPTED)


def end_of_run_line(summary: Dict[str, Any]) -> str:
    """One line saying how a run ended, from its summary (as ``fit``, ``resume`` and grids give it).

    >>> end_of_run_line({"stopped": "early_stop", "epochs_run": 4, "test_accuracy": 0.9712, "run_dir": "runs/a"})
    'stopped early after 4 epochs: test accuracy 97.12%; run directory runs/a'
    >>> end_of_run_line({"stopped": "error", "error": "ValueError: bad"})
    'failed: ValueError: bad'
    """
    status = RunStatus(summary["stopped"])
    epochs = summary.get("epochs_run", 0)
    if status in (RunStatus.COMPLETED, RunStatus.EARLY_STOP):
        accuracy = summary.get("test_accuracy")
        result = f"test accuracy {100 * accuracy:.2f}%" if accuracy is not None else "no epoch finished"
        how = "done" if status is RunStatus.COMPLETED else "stopped early"
        return f"{how} after {epochs} epochs: {result}; run directory {summary.get('run_dir')}"
    reason = summary.get("error") or summary.get("message")
    lines = {
        RunStatus.RUNNING: f"still running after {epochs} epochs",
        RunStatus.NONFINITE: f"diverged: {reason}",
        RunStatus.INTERRUPTED: f"interrupted after {epochs} epochs; resume with: {summary.get('resume_command')}",
        RunStatus.ERROR: f"failed: {reason}",
        RunStatus.NOT_STARTED: f"not started: {reason}",
    }
    return lines[status]
