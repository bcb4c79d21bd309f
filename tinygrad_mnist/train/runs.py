"""Starting a run (``fit``) and continuing an interrupted one (``resume``)."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

from ..atomic import atomic_write_text, remove_stale_temporaries
from ..data import Splits
from ..errors import CheckpointError, ConfigError, NonFiniteError, RunDirectoryError
from .builders import build_loss, build_model, build_optimizer, build_schedule
from .checkpoint import CHECKPOINT_NAME, load_into_optimizer
from .config import SETTINGS, SETTINGS_BY_NAME, TrainConfig, check_names
from .memory import check_fits_in_memory, training_memory
from .metrics import metric_columns
from .rngstate import restore_rng_states
from .run_files import (
    CONFIG_NAME,
    METRICS_NAME,
    RUN_FILES,
    SUMMARY_NAME,
    build_summary,
    draw_curves,
    early_stop_message,
    final_files_complete,
    write_final_files,
)
from .rundir import RunLock, claim_run_dir
from .saved_run import SavedRun, build_saved_model, load_local_data, open_saved_run
from .splits import fingerprint, load_splits
from .state import TrainingState
from .status import RunStatus
from .summary import read_json_file
from .trainer import Trainer

Log = Callable[[str], None]


def _as_config(config: Union[TrainConfig, Dict[str, Any]]) -> TrainConfig:
    if isinstance(config, TrainConfig):
        return TrainConfig.from_dict(config.to_dict())  # a validated copy: the caller's object stays as given
    if isinstance(config, dict):
        return TrainConfig.from_dict(config)
    raise ConfigError(f"config must be a TrainConfig or a dict of options, got {type(config).__name__}")


def fit(
    config: Union[TrainConfig, Dict[str, Any]],
    out_dir: Optional[Union[str, os.PathLike]] = None,
    data: Optional[Splits] = None,
    log: Log = print,
) -> Dict[str, Any]:
    """Train a model as ``config`` describes and return the run's summary.

    The run folder (``out_dir``, or a fresh ``runs/<activation>-<loss>-<hidden>-s<seed>[-N]``; an
    existing non-empty folder is refused) receives config.json, metrics.csv (after every epoch),
    checkpoint.npz (at the start, every ``checkpoint_every`` epochs and at the end), summary.json and
    curves.png. ``data`` (a prepared ``Splits``) replaces loading MNIST. Ctrl-C / SIGTERM stop at
    the next batch with a resumable checkpoint (summary "stopped": "interrupted"); a NaN/Inf loss
    or gradient raises NonFiniteError (with on_nonfinite="stop") after writing the summary.

    A model too large for the memory available is refused before anything is created, and the
    folder is claimed by exactly one process (see :class:`~tinygrad_mnist.train.rundir.RunLock`).

    >>> summary = fit(TrainConfig(hidden=[64], epochs=1, train_size=2000))  # doctest: +SKIP
    >>> summary["stopped"], summary["test_accuracy"] > 0.8  # doctest: +SKIP
    ('completed', True)
    """
    config = _as_config(config)
    in_features = data.x_train.shape[1] if isinstance(data, Splits) and getattr(data.x_train, "ndim", 0) == 2 else 784
    check_fits_in_memory(training_memory(config, in_features), "training this model")
    # The run folder is claimed before the data is loaded, so a folder that would be overwritten is
    # refused at once (not after a download); until the first checkpoint is written everything in
    # it is this call's, and a failure (or Ctrl-C) removes it all again.
    with claim_run_dir(config, out_dir) as lock:
        run_dir = lock.path
        try:
            trainer = _start(config, run_dir, data, log)
        except BaseException:
            for name in (CONFIG_NAME, METRICS_NAME, CHECKPOINT_NAME):
                with contextlib.suppress(OSError):
                    (run_dir / name).unlink()
            lock.abandon()
            raise
        log(f"Run directory {run_dir}: {_describe(config, trainer.splits)}")
        return trainer.run()


def _start(config: TrainConfig, run_dir: Path, data: Optional[Splits], log: Log) -> Trainer:
    """Load the data, build everything and write the starting files of a new run."""
    splits = load_splits(config, data)
    model_meta = {"in_features": int(splits.x_train.shape[1]), "num_classes": 10}
    model = build_model(config, **model_meta)
    optimizer = build_optimizer(config, model)
    trainer = Trainer(
        config,
        splits,
        run_dir,
        model,
        build_loss(config),
        optimizer,
        build_schedule(config, optimizer),
        TrainingState(),
        model_meta,
        fingerprint(splits),
        log,
    )
    atomic_write_text(run_dir / CONFIG_NAME, json.dumps(config.to_dict(), indent=2) + "\n")
    trainer.write_metrics()
    refused = trainer.save_checkpoint(RunStatus.RUNNING)  # the starting weights: the first "last good" checkpoint
    if refused is not None:
        raise NonFiniteError(
            f"the starting weights are not finite ({refused}): init_std {config.init_std:g} is too large for "
            f"{config.dtype}; use a smaller init_std (0.01 is the default)"
        )
    return trainer


def _describe(config: TrainConfig, splits: Splits) -> str:
    if config.model == "lenet5":
        network = f"LeNet-5 ({config.activation})"
    else:
        hidden = "-".join(str(h) for h in config.hidden) or "no hidden layer"
        network = f"{splits.x_train.shape[1]}-{hidden}-10 {config.activation} MLP"
    extras = [name for name, on in (("batch norm", config.batch_norm), (f"dropout {config.dropout:g}", config.dropout)) if on]
    network += "".join(f" + {extra}" for extra in extras)
    val = f", {len(splits.x_val)} validation" if splits.x_val is not None else ""
    return (
        f"{network}, {config.optimizer}, {config.loss} loss, "
        f"{len(splits.x_train)} training{val} and {len(splits.x_test)} test examples, {config.epochs} epochs"
    )


def fixed_on_resume(names) -> List[str]:
    """The settings among ``names`` that a resumed run cannot change: all but the display-only
    ones (those that change what is shown, never the results) and the local ones (where the data
    are on this machine, which the checksums verify).

    >>> fixed_on_resume(["progress", "lr", "disp_freq", "data_dir"])
    ['lr']
    """
    check_names(names)
    return [name for name in names if not (SETTINGS_BY_NAME[name].display_only or SETTINGS_BY_NAME[name].local)]


def resume(
    run_dir: Union[str, os.PathLike],
    log: Log = print,
    data: Optional[Splits] = None,
    changes: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """Continue an interrupted (or crashed) run from its checkpoint; return the final summary.

    The result is bit-for-bit what the uninterrupted run would have produced: weights, optimizer
    buffers, schedule, RNG states, batch position, running sums and early-stopping state are all
    restored. ``data`` must be the same data the run started with when it was given to ``fit``
    (it is checked against a checksum stored in the checkpoint). Bit-exactness assumes the same
    NumPy/BLAS build and thread settings (``OPENBLAS_NUM_THREADS``): a BLAS that splits a matrix
    product differently between threads rounds differently.

    ``changes`` may change the display-only settings (``progress``, ``disp_freq``) for the rest
    of the run, and give the data folder (``data_dir``); any other setting is the run's own and
    raises ConfigError. The data folder saved with the run is never used: it is ``data_dir``
    if given, else ``$TINYGRAD_MNIST_DATA``, else the download cache, and the data found there
    must match the run's checksums.

    A run stopped after its final checkpoint but before its summary was written (a second
    Ctrl-C, a kill) gets its metrics.csv, curves.png and summary.json written now. Leftover
    temporary files of writes that were killed are removed first.

    >>> resume("runs/relu-ce-128-s0", changes={"progress": False})  # doctest: +SKIP
    {'run_dir': 'runs/relu-ce-128-s0', 'stopped': 'completed', ...}
    """
    changes = dict(changes or {})
    fixed = fixed_on_resume(changes)
    if fixed:
        changeable = [s.name for s in SETTINGS if s.display_only or s.local]
        raise ConfigError(f"a resumed run keeps its settings, so {', '.join(fixed)} cannot change "
                          f"(only {', '.join(changeable)} can)")
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirectoryError(f"cannot resume {run_dir}: no such run folder")
    if not (run_dir / CHECKPOINT_NAME).is_file():
        raise RunDirectoryError(f"cannot resume {run_dir}: it has no {CHECKPOINT_NAME} (not a run folder, or the run never started)")
    with RunLock.acquire(run_dir):
        removed = [path for name in (CHECKPOINT_NAME, *RUN_FILES) for path in remove_stale_temporaries(run_dir / name)]
        if removed:
            log(f"removed {len(removed)} temporary file(s) left in {run_dir} by a write that was killed")
        _refuse_nonfinite(run_dir)
        saved = open_saved_run(run_dir / CHECKPOINT_NAME)
        status, state, training = _saved_training(saved)
        if not status.resumable:
            if status in (RunStatus.COMPLETED, RunStatus.EARLY_STOP) and not final_files_complete(run_dir, status, len(state.rows)):
                return _write_missing_final_files(run_dir, saved, status, state, training, log)
            raise RunDirectoryError(
                f"{run_dir} already finished ({status.value}); nothing to resume. Start a new run, e.g. with more epochs"
            )
        display = {name: value for name, value in changes.items() if SETTINGS_BY_NAME[name].display_only}
        return _continue(run_dir, saved, state, training, saved.config.replace(**display), changes, data, log)


def _saved_training(saved: SavedRun):
    """The status, state and the rest of the training entry of a checkpoint's metadata."""
    path = saved.checkpoint.path
    training = saved.checkpoint.meta.get("training")
    if not isinstance(training, dict) or not isinstance(saved.checkpoint.meta.get("rng"), list):
        raise CheckpointError(f"{path}: the metadata lacks what resuming needs (a 'training' and an 'rng' entry)")
    try:
        status = RunStatus(training.get("status"))
    except (ValueError, TypeError):
        raise CheckpointError(f"{path}: the metadata holds an unknown run status {training.get('status')!r}") from None
    state = TrainingState.from_json(training.get("state"))
    return status, state, training


def _continue(run_dir, saved: SavedRun, state: TrainingState, training, config: TrainConfig, changes, data, log) -> Dict[str, Any]:
    checkpoint = saved.checkpoint
    model = build_saved_model(saved, training_memory, "resuming")
    splits = load_local_data(config, changes, data)
    if fingerprint(splits) != training.get("data"):
        raise RunDirectoryError(
            f"cannot resume {run_dir}: the data differ from the data the run started with (checksums do not match); "
            "resume with the same data (the same MNIST files, with --data-dir or TINYGRAD_MNIST_DATA pointing at them, "
            "or the same `data` passed to fit)"
        )
    optimizer = build_optimizer(config, model)
    load_into_optimizer(checkpoint, optimizer)
    schedule = build_schedule(config, optimizer)
    schedule_state = checkpoint.state("schedule")
    if schedule_state is not None:
        schedule.load_state_dict(schedule_state)
    elif config.lr_schedule != "none":  # checkpoints of constant-rate runs once held no schedule state
        raise CheckpointError(f"{checkpoint.path} has no learning-rate schedule state but the config uses {config.lr_schedule!r}")
    restore_rng_states(model, checkpoint.meta["rng"])
    trainer = Trainer(
        config, splits, run_dir, model, build_loss(config), optimizer, schedule, state, saved.model_meta,
        training["data"], log
    )
    state.check_fits(config.epochs, len(trainer.batches), trainer.columns)
    trainer.write_metrics()
    log(f"Resuming {run_dir} at epoch {state.epoch + 1} batch {state.batch + 1} (of {len(trainer.batches)})")
    return trainer.run()


def _write_missing_final_files(run_dir: Path, saved: SavedRun, status: RunStatus, state: TrainingState,
                               training: Dict[str, Any], log: Log) -> Dict[str, Any]:
    """Finish the files of a run whose final checkpoint was written but whose summary was not."""
    has_val = training.get("monitor") == "val_loss" or bool(state.rows and "val_loss" in state.rows[0])
    monitor = "val_loss" if has_val else "test_loss"
    columns = metric_columns(has_val)
    state.check_fits(saved.config.epochs, 1, columns)  # a finished run is at batch 0
    message = early_stop_message(saved.config, state, monitor) if status is RunStatus.EARLY_STOP else None
    summary = build_summary(run_dir, saved.config, state, status, message, monitor, saved.checkpoint.path, state.epoch)
    write_final_files(run_dir, state.rows, columns, summary, lambda: draw_curves(run_dir, log))
    log(f"{run_dir} had finished ({status.value}) but was stopped before its final files were written; "
        "wrote its metrics.csv, curves.png and summary.json")
    return summary


def _refuse_nonfinite(run_dir: Path) -> None:
    summary_path = run_dir / SUMMARY_NAME
    if not summary_path.is_file():
        return
    try:
        summary = read_json_file(summary_path)
    except (OSError, ValueError):
        return  # unreadable or crafted: the checkpoint decides alone
    if isinstance(summary, dict) and summary.get("stopped") == RunStatus.NONFINITE:
        raise RunDirectoryError(
            f"{run_dir} stopped because the loss or a gradient became non-finite, and resuming would repeat "
            "that; start a new run with a smaller learning rate (see its summary.json for details)"
        )
