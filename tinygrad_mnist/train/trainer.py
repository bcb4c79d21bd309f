"""The training loop: mini-batch SGD epochs with evaluation, checkpoints, early stopping, and
clean handling of interrupts and non-finite numbers.

The inner loop does only what a hand-written NumPy loop would: forward, loss, zero_grad,
backward, step, plus two scalar additions for the running metrics and one finiteness check of the
gradients. Everything else (evaluation, files, progress lines) happens between batches or epochs.
With ``config.jit`` the step (``Trainer.train_step``) is replayed by ``tinygrad_mnist.jit``: the
same NumPy calls, bit for bit the same results, without building a graph each batch.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
from pathlib import Path
from time import perf_counter
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from ..autograd.nonfinite import describe_nonfinite
from ..capture import jit
from ..data import DataLoader, Splits, TensorDataset
from ..errors import ConfigError, NonFiniteError, RunDirectoryError
from ..tensor import Tensor
from .checkpoint import CHECKPOINT_NAME, save_checkpoint
from .config import TrainConfig
from .evaluation import evaluate_arrays
from .interrupt import InterruptGuard
from .metrics import metric_columns, write_metrics_csv
from .rngstate import capture_rng_states
from .run_files import METRICS_NAME, build_summary, draw_curves, early_stop_message, resume_command, write_final_files
from .state import TrainingState
from .status import RunStatus

# Non-finite batches skipped with on_nonfinite="skip" are reported one by one up to this many.
_SKIP_REPORTS = 5

Log = Callable[[str], None]


def anomaly_mode(enabled: bool):
    """``tinygrad_mnist.autograd.detect_anomaly()`` when enabled, else a no-op context.

    >>> with anomaly_mode(False):
    ...     pass
    """
    if not enabled:
        return contextlib.nullcontext()
    try:
        from ..autograd import detect_anomaly
    except ImportError:
        raise ConfigError(
            "detect_anomaly=true needs tinygrad_mnist.autograd.detect_anomaly, which this installation "
            "lacks; update tinygrad_mnist or set detect_anomaly to false"
        ) from None
    return detect_anomaly()


def format_loss(value: float) -> str:
    """Four decimals as in the lab reports; scientific notation once a loss has blown up.

    >>> format_loss(0.123456), format_loss(3.2e12)
    ('0.1235', '3.2000e+12')
    """
    return f"{value:.4f}" if abs(value) < 1e6 or not math.isfinite(value) else f"{value:.4e}"


def _above_bar(log: Log) -> Log:
    """Wrap ``log`` so its lines print above the progress bars instead of through them."""
    from tqdm import tqdm

    def write(line: str) -> None:
        with tqdm.external_write_mode():
            log(line)

    return write


class FiniteGradients:
    """Callable telling whether every parameter's gradient is finite, without allocating.

    Each gradient is dotted with a zero vector made once: IEEE arithmetic makes 0 * x = 0 for every
    finite x (however large) and NaN for inf or NaN, and a NaN survives the sum, so the dot is 0
    exactly when all elements are finite. That is one BLAS call per parameter and no mask array.
    The dots are added as arrays and compared once: in a jitted step that comparison is the one
    Python decision a replay checks (converting each dot to a float would end the replaying).

    >>> from tinygrad_mnist.nn import Parameter
    >>> from tinygrad_mnist import Tensor
    >>> w = Parameter(np.zeros(3, dtype=np.float32)); check = FiniteGradients([w])
    >>> w.grad = Tensor(np.array([1e38, -2.0, 0.5], dtype=np.float32)); check()
    True
    >>> w.grad = Tensor(np.array([1.0, np.inf, 0.5], dtype=np.float32)); check()
    False
    """

    def __init__(self, params) -> None:
        self.pairs = [(p, np.zeros(p.size, dtype=p.dtype)) for p in params]

    def __call__(self) -> bool:
        total = None
        with np.errstate(invalid="ignore"):  # the NaN is the answer, not a problem to warn about
            for p, zeros in self.pairs:
                grad = p.grad
                if grad is not None:
                    dot = grad.data.reshape(-1) @ zeros
                    total = dot if total is None else total + dot
            return total is None or bool(total == 0.0)


class Trainer:
    """Runs (or continues) the epochs of one run and writes its files; see :func:`train.fit`.

    >>> from tinygrad_mnist.train import TrainConfig, fit
    >>> fit(TrainConfig(epochs=1), out_dir="runs/demo")["stopped"]  # doctest: +SKIP
    'completed'
    """

    def __init__(
        self,
        config: TrainConfig,
        splits: Splits,
        run_dir: Path,
        model,
        loss_fn,
        optimizer,
        schedule,
        state: TrainingState,
        model_meta: Dict[str, Any],
        data_fingerprint: Dict[str, Any],
        log: Log = print,
    ) -> None:
        self.config = config
        self.splits = splits
        self.run_dir = Path(run_dir)
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.schedule = schedule
        self.state = state
        self.model_meta = model_meta
        self.data_fingerprint = data_fingerprint
        self.log = log
        # Epoch e's order depends only on (seed, e), so a resumed run gets the same batches.
        self.batches = DataLoader(TensorDataset(splits.x_train, splits.y_train), config.batch_size, shuffle=True,
                                  seed=config.seed)
        self.params = list(model.parameters())
        self.gradients_finite = FiniteGradients(self.params)
        # Anomaly mode checks every op as it runs, which a replay does not: then every step is eager.
        self.step = jit(self.train_step) if config.jit and not config.detect_anomaly else self.train_step
        self.has_val = splits.x_val is not None
        self.columns = metric_columns(self.has_val)
        self.monitor = "val_loss" if self.has_val else "test_loss"
        self.checkpoint_path = self.run_dir / CHECKPOINT_NAME
        self.checkpoint_epoch = state.epoch  # completed epochs in the checkpoint on disk
        self._skip_reports = 0

    # ---- files ------------------------------------------------------------------------------------
    def save_checkpoint(self, status: RunStatus) -> Optional[str]:
        """Write the full resumable state atomically (a crash leaves the previous checkpoint).

        Returns None, or why nothing was written: a parameter or optimizer buffer is not finite
        (the previous checkpoint stays the last good one). A failed write (a full disk) raises
        RunDirectoryError naming the file and saying how to go on.
        """
        meta = {
            "config": self.config.to_dict(),
            "model": self.model_meta,
            "rng": capture_rng_states(self.model),
            "training": {
                "status": status.value,
                "state": self.state.to_json(),
                "data": self.data_fingerprint,
                "monitor": self.monitor,
            },
        }
        schedule_state = None if self.schedule is None else self.schedule.state_dict()
        had_one = self.checkpoint_path.exists()
        try:
            save_checkpoint(self.checkpoint_path, self.model, self.optimizer, meta=meta, states={"schedule": schedule_state})
        except NonFiniteError as error:
            return f"{error.array} became {error.kind}"
        except OSError as error:
            if not had_one:
                raise RunDirectoryError(
                    f"cannot write {self.checkpoint_path}: {error.strerror or error}; nothing was trained yet: "
                    "free some space (or fix the folder) and start the run again"
                ) from None
            raise RunDirectoryError(
                f"cannot write {self.checkpoint_path}: {error.strerror or error}; the previous checkpoint "
                f"({self._kept_checkpoint()}) is unchanged: free some space and continue with "
                f"{resume_command(self.run_dir)}"
            ) from None
        self.checkpoint_epoch = self.state.epoch
        return None

    def _kept_checkpoint(self) -> str:
        if self.checkpoint_epoch == 0:
            return "the starting weights"
        return f"after epoch {self.checkpoint_epoch}"

    def write_metrics(self) -> None:
        """Rewrite metrics.csv from the rows so far (atomically)."""
        write_metrics_csv(self.run_dir / METRICS_NAME, self.state.rows, self.columns)

    # ---- the run ----------------------------------------------------------------------------------
    def run(self) -> Dict[str, Any]:
        """Train until done, early-stopped, interrupted or non-finite; write the files; return the
        summary. A non-finite stop raises NonFiniteError after writing everything.

        The final checkpoint and files are written inside the interrupt guard: a Ctrl-C that
        arrives while they are written is noted and they are completed first, so a finished run
        never ends up without its summary and curves.
        """
        session_start = perf_counter()
        seconds_before = self.state.seconds
        # NumPy's overflow/invalid warnings are replaced by the trainer's own report of the first
        # non-finite loss or gradient, which says where it happened and what to do.
        with InterruptGuard() as guard, anomaly_mode(self.config.detect_anomaly), np.errstate(
            over="ignore", invalid="ignore", divide="ignore"
        ):
            stopped, message = self._epochs(guard, session_start, seconds_before)
            self.state.seconds = seconds_before + (perf_counter() - session_start)
            if stopped is not RunStatus.NONFINITE:
                refused = self.save_checkpoint(stopped)
                if refused is not None:
                    stopped, message = RunStatus.NONFINITE, self._nonfinite_weights_message(refused)
            summary = self._finish(stopped, message, plot=stopped is not RunStatus.INTERRUPTED)
        if guard.requested and stopped is not RunStatus.INTERRUPTED:
            # The signal came after the last batch: the run was finished, only its files were left.
            self.log(f"{guard.signal_name} received while the final files were written; they were completed first")
        if stopped is RunStatus.NONFINITE:
            # The message travels in the error (and the summary); logging it too would show it twice.
            error = NonFiniteError(message)
            error.summary = summary
            raise error
        return summary

    def _finish(self, stopped: RunStatus, message: Optional[str], plot: bool) -> Dict[str, Any]:
        summary = self._summary(stopped, message)
        write_final_files(self.run_dir, self.state.rows, self.columns, summary, self._plot if plot else None)
        if message and stopped is not RunStatus.NONFINITE:
            self.log(message)
        return summary

    def _summary(self, stopped: RunStatus, message: Optional[str]) -> Dict[str, Any]:
        return build_summary(self.run_dir, self.config, self.state, stopped, message, self.monitor,
                             self.checkpoint_path, self.checkpoint_epoch)

    def _plot(self) -> None:
        draw_curves(self.run_dir, self.log)

    # ---- epochs -----------------------------------------------------------------------------------
    def _epochs(self, guard: InterruptGuard, session_start: float, seconds_before: float) -> Tuple[RunStatus, Optional[str]]:
        config, state = self.config, self.state
        while state.epoch < config.epochs:
            outcome = self._train_epoch(guard)
            if outcome is not None:
                if outcome[0] is RunStatus.INTERRUPTED:
                    state.seconds = seconds_before + (perf_counter() - session_start)
                return outcome
            if self._end_epoch():
                return RunStatus.EARLY_STOP, early_stop_message(config, state, self.monitor)
            every = config.checkpoint_every
            if every and state.epoch % every == 0 and state.epoch < config.epochs:
                state.seconds = seconds_before + (perf_counter() - session_start)
                refused = self.save_checkpoint(RunStatus.RUNNING)
                if refused is not None:
                    return RunStatus.NONFINITE, self._nonfinite_weights_message(refused)
        return RunStatus.COMPLETED, None

    def _progress_bar(self, epoch: int, total: int, initial: int):
        # Only for a person at a terminal: CI systems that fake a TTY set $CI, and a bar's
        # carriage returns would fill their logs.
        if not (self.config.progress and sys.stderr.isatty()) or os.environ.get("CI"):
            return None
        try:
            from tqdm import tqdm
        except ImportError:
            return None
        return tqdm(
            total=total,
            initial=initial,
            desc=f"epoch {epoch + 1}/{self.config.epochs}",
            unit="batch",
            leave=False,
            dynamic_ncols=True,
            file=sys.stderr,
        )

    def train_step(self, xb, yb):
        """One batch: forward, and unless the loss is not finite, backward, and unless a gradient is
        not finite, the optimizer's update. Returns the loss, the logits and what was not finite
        ("loss", "gradient" or None).

        Every decision here is made on tensor values, so a jitted replay checks each one again
        (a guard) and runs a batch that goes the other way eagerly.
        """
        logits = self.model(xb)
        loss = self.loss_fn(logits, yb)
        if not np.isfinite(loss.data):
            return loss, logits, "loss"
        self.optimizer.zero_grad()
        loss.backward()
        if not self.gradients_finite():
            return loss, logits, "gradient"
        self.optimizer.step()
        return loss, logits, None

    def _train_epoch(self, guard: InterruptGuard) -> Optional[Tuple[RunStatus, str]]:
        """Run the remaining batches of the current epoch; return (stop reason, message) to stop."""
        config, state = self.config, self.state
        model, step = self.model, self.step
        epoch, n_batches = state.epoch, len(self.batches)
        sums, window = state.epoch_sums, state.window
        disp_freq = config.disp_freq
        skip = config.on_nonfinite == "skip"
        bar = self._progress_bar(epoch, n_batches, state.batch)
        log = self.log if bar is None else _above_bar(self.log)
        epoch_start = perf_counter() - state.epoch_seconds
        model.train()
        try:
            for xb, labels in self.batches.epoch(epoch, start_batch=state.batch):
                if guard.requested:
                    state.epoch_seconds = perf_counter() - epoch_start
                    return RunStatus.INTERRUPTED, self._interrupt_message(guard.signal_name)
                yb = labels.data
                loss, logits, bad = step(xb, yb)
                loss_value = float(loss.data)
                if bad is None:
                    correct = int(np.count_nonzero(logits.data.argmax(axis=1) == yb))
                    sums.add(loss_value, correct, len(yb))
                    window.add(loss_value, correct, len(yb))
                del logits, loss
                if bad is not None:
                    if not skip:
                        return RunStatus.NONFINITE, self._nonfinite_message(bad, loss_value)
                    self._report_skip(bad, loss_value, log)
                state.batch += 1
                if bar is not None:
                    bar.update(1)
                if disp_freq and state.batch % disp_freq == 0 and window.count:
                    log(
                        f"Epoch [{epoch + 1}][{config.epochs}] Batch [{state.batch}][{n_batches}] "
                        f"Training Loss {format_loss(window.loss)} Accuracy {window.accuracy:.4f}"
                    )
                    window.reset()
        except FloatingPointError as error:
            # detect_anomaly's AnomalyError (or NumPy with np.seterr(all="raise")).
            # The anomaly report spans lines (op, where it was created, hints); the summary and the
            # CLI show one line.
            report = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
            return RunStatus.NONFINITE, (
                f"a NaN/Inf appeared at epoch {epoch + 1} batch {state.batch + 1} (of {n_batches}): {report}; "
                f"the last good checkpoint is {self.checkpoint_path} ({self._kept_checkpoint()})"
            )
        finally:
            if bar is not None:
                bar.close()
        state.epoch_seconds = perf_counter() - epoch_start
        if sums.count == 0:
            return RunStatus.NONFINITE, (
                f"every batch of epoch {epoch + 1} was non-finite and skipped; the learning rate "
                f"{self.optimizer.param_groups[0]['lr']!r} is probably too high: try {self._suggested_lr():g}"
            )
        return None

    def _end_epoch(self) -> bool:
        """Evaluate, record the epoch's row, step the schedule; return True to stop early."""
        config, state = self.config, self.state
        epoch_start = perf_counter() - state.epoch_seconds
        lr = self.optimizer.param_groups[0]["lr"]
        test = evaluate_arrays(self.model, self.loss_fn, self.splits.x_test, self.splits.y_test)
        row: Dict[str, Any] = {
            "epoch": state.epoch + 1,
            "lr": lr,
            "train_loss": state.epoch_sums.loss,
            "train_accuracy": state.epoch_sums.accuracy,
            "test_loss": test.loss,
            "test_accuracy": test.accuracy,
        }
        if self.has_val:
            val = evaluate_arrays(self.model, self.loss_fn, self.splits.x_val, self.splits.y_val)
            row["val_loss"], row["val_accuracy"] = val.loss, val.accuracy
        row["seconds"] = perf_counter() - epoch_start
        state.rows.append(row)

        monitored = row[self.monitor]
        if monitored < state.best_loss - config.early_stop_min_delta:
            state.best_loss, state.best_epoch, state.bad_epochs = monitored, state.epoch + 1, 0
        else:
            state.bad_epochs += 1
        if self.schedule is not None:
            self.schedule.step()
        state.epoch += 1
        state.batch = 0
        state.epoch_sums.reset()
        state.window.reset()
        state.epoch_seconds = 0.0
        self.write_metrics()
        self.log(self._epoch_line(row))
        return bool(config.early_stop) and state.bad_epochs >= config.early_stop

    def _epoch_line(self, row: Dict[str, Any]) -> str:
        parts = [
            f"Epoch [{row['epoch']}][{self.config.epochs}]",
            f"train loss {format_loss(row['train_loss'])} acc {row['train_accuracy']:.4f}",
        ]
        if self.has_val:
            parts.append(f"val loss {format_loss(row['val_loss'])} acc {row['val_accuracy']:.4f}")
        parts.append(f"test loss {format_loss(row['test_loss'])} acc {row['test_accuracy']:.4f}")
        parts.append(f"lr {row['lr']:g}")
        parts.append(f"{row['seconds']:.2f} s/epoch")
        line = " | ".join(parts)
        if self.state.skipped:
            line += f" | {self.state.skipped} non-finite batches skipped so far"
        return line

    # ---- messages ---------------------------------------------------------------------------------
    def _interrupt_message(self, signal_name: Optional[str]) -> str:
        state = self.state
        return (
            f"{signal_name or 'interrupt'} received: stopped at epoch {state.epoch + 1} batch {state.batch + 1} "
            f"(of {len(self.batches)}) and saved a resumable checkpoint in {self.run_dir}; "
            f"resume with: {resume_command(self.run_dir)}"
        )

    def _suggested_lr(self) -> float:
        lr = self.optimizer.param_groups[0]["lr"]
        return 0.1 if lr > 0.1 else lr / 10

    def _nonfinite_what(self, what: str, loss_value: float) -> str:
        if what == "loss":
            return f"loss became {describe_nonfinite(loss_value)}"
        kinds = [describe_nonfinite(p.grad.data) for p in self.params if p.grad is not None and not np.isfinite(p.grad.data).all()]
        names = [name for name, p in self.model.named_parameters() if p.grad is not None and not np.isfinite(p.grad.data).all()]
        return f"the gradient of {names[0] if names else 'a parameter'} became {kinds[0] if kinds else 'non-finite'} (the loss was finite)"

    def _nonfinite_message(self, what: str, loss_value: float) -> str:
        state = self.state
        lr = self.optimizer.param_groups[0]["lr"]
        where = f"at epoch {state.epoch + 1} batch {state.batch + 1}"
        if state.epoch == 0 and state.batch == 0:
            cause = (
                "it happened on the very first batch, before any update, so check the inputs for NaN/Inf, "
                f"the loss, or a too large init_std ({self.config.init_std:g})"
            )
        else:
            cause = f"the learning rate {lr!r} is probably too high: try {self._suggested_lr():g}"
        return (
            f"{self._nonfinite_what(what, loss_value)} {where}; {cause}. The last good checkpoint is "
            f"{self.checkpoint_path} ({self._kept_checkpoint()}); rerun with detect_anomaly=true "
            "(--detect-anomaly) to find the op that produced it"
        )

    def _nonfinite_weights_message(self, refused: str) -> str:
        lr = self.optimizer.param_groups[0]["lr"]
        state = self.state
        when = f"during epoch {state.epoch + 1}" if state.batch else f"by the end of epoch {state.epoch}"
        return (
            f"{refused} {when}: an update overflowed although "
            f"every loss and gradient was finite, so it was not saved; the learning rate {lr!r} (or the init_std "
            f"{self.config.init_std:g}) is probably too high: try {self._suggested_lr():g}. The last good "
            f"checkpoint is {self.checkpoint_path} ({self._kept_checkpoint()})"
        )

    def _report_skip(self, what: str, loss_value: float, log: Log) -> None:
        self.state.skipped += 1
        if self._skip_reports < _SKIP_REPORTS:
            self._skip_reports += 1
            last = " (further skips are only counted)" if self._skip_reports == _SKIP_REPORTS else ""
            log(
                f"skipping batch {self.state.batch + 1} of epoch {self.state.epoch + 1}: "
                f"{self._nonfinite_what(what, loss_value)}; the update was not applied{last}"
            )
