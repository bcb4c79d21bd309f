"""Starting a run (``fit``) and continuing an interrupted one (``resume``)."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

from ..data import Splits
from ..errors import CheckpointError, ConfigError, RunDirectoryError
from ..atomic import atomic_write_text
from .builders import build_loss, build_model, build_optimizer, build_schedule
from .checkpoint import CHECKPOINT_NAME, load_into_model, load_into_optimizer, read_checkpoint
from .config import SETTINGS, SETTINGS_BY_NAME, TrainConfig, check_names
from .rngstate import restore_rng_states
from .splits import fingerprint, load_splits
from .rundir import create_run_dir
from .state import TrainingState
from .status import RunStatus
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

    >>> summary = fit(TrainConfig(hidden=[64], epochs=1, train_size=2000))  # doctest: +SKIP
    >>> summary["stopped"], summary["test_accuracy"] > 0.8  # doctest: +SKIP
    ('completed', True)
    """
    config = _as_config(config)
    # The run folder is claimed before the data is loaded, so a folder that would be overwritten is
    # refused at once (not after a download); it is removed again if loading fails.
    run_dir = create_run_dir(config, out_dir)
    try:
        splits = load_splits(config, data)
    except BaseException:
        with contextlib.suppress(OSError):
            run_dir.rmdir()  # only succeeds while it is still empty
        raise
    atomic_write_text(run_dir / "config.json", json.dumps(config.to_dict(), indent=2) + "\n")
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
    trainer.write_metrics()
    trainer.save_checkpoint(RunStatus.RUNNING)  # the starting weights are the first "last good" checkpoint
    log(f"Run directory {run_dir}: {_describe(config, splits)}")
    return trainer.run()


def _describe(config: TrainConfig, splits: Splits) -> str:
    hidden = "-".join(str(h) for h in config.hidden) or "no hidden layer"
    val = f", {len(splits.x_val)} validation" if splits.x_val is not None else ""
    return (
        f"{splits.x_train.shape[1]}-{hidden}-10 {config.activation} MLP, {config.loss} loss, "
        f"{len(splits.x_train)} training{val} and {len(splits.x_test)} test examples, {config.epochs} epochs"
    )


def fixed_on_resume(names) -> List[str]:
    """The settings among ``names`` that a resumed run cannot change: all but the display-only
    ones (those that change what is shown, never the results).

    >>> fixed_on_resume(["progress", "lr", "disp_freq"])
    ['lr']
    """
    check_names(names)
    return [name for name in names if not SETTINGS_BY_NAME[name].display_only]


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
    of the run; any other setting is the run's own and raises ConfigError.

    >>> resume("runs/relu-ce-128-s0", changes={"progress": False})  # doctest: +SKIP
    {'run_dir': 'runs/relu-ce-128-s0', 'stopped': 'completed', ...}
    """
    changes = dict(changes or {})
    fixed = fixed_on_resume(changes)
    if fixed:
        raise ConfigError(f"a resumed run keeps its settings, so {', '.join(fixed)} cannot change "
                          f"(only {', '.join(s.name for s in SETTINGS if s.display_only)} can)")
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirectoryError(f"cannot resume {run_dir}: no such run folder")
    if not (run_dir / CHECKPOINT_NAME).is_file():
        raise RunDirectoryError(f"cannot resume {run_dir}: it has no {CHECKPOINT_NAME} (not a run folder, or the run never started)")
    _refuse_nonfinite(run_dir)
    checkpoint = read_checkpoint(run_dir / CHECKPOINT_NAME)
    meta = checkpoint.meta
    try:
        training = meta["training"]
        status = training["status"]
        config_dict = meta["config"]
        model_meta = {"in_features": int(meta["model"]["in_features"]), "num_classes": int(meta["model"]["num_classes"])}
        rng_states = meta["rng"]
        saved_fingerprint = training["data"]
        state = TrainingState.from_json(training["state"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{checkpoint.path}: the metadata lacks what resuming needs ({type(error).__name__}: {error})") from None
    if status not in [s.value for s in RunStatus if s.resumable]:
        raise RunDirectoryError(
            f"{run_dir} already finished ({status}); nothing to resume. Start a new run, e.g. with more epochs"
        )
    config = TrainConfig.from_dict(config_dict)
    if changes:
        config = config.replace(**changes)
    splits = load_splits(config, data)
    if fingerprint(splits) != saved_fingerprint:
        raise RunDirectoryError(
            f"cannot resume {run_dir}: the data differ from the data the run started with (checksums do not match); "
            "resume with the same data (same data_dir files, or the same `data` passed to fit)"
        )
    model = build_model(config, **model_meta)
    load_into_model(checkpoint, model)
    optimizer = build_optimizer(config, model)
    load_into_optimizer(checkpoint, optimizer)
    schedule = build_schedule(config, optimizer)
    schedule_state = checkpoint.state("schedule")
    if schedule_state is not None:
        schedule.load_state_dict(schedule_state)
    elif config.lr_schedule != "none":  # checkpoints of constant-rate runs once held no schedule state
        raise CheckpointError(f"{checkpoint.path} has no learning-rate schedule state but the config uses {config.lr_schedule!r}")
    restore_rng_states(model, rng_states)
    trainer = Trainer(
        config, splits, run_dir, model, build_loss(config), optimizer, schedule, state, model_meta, saved_fingerprint, log
    )
    trainer.write_metrics()
    log(f"Resuming {run_dir} at epoch {state.epoch + 1} batch {state.batch + 1} (of {len(trainer.batches)})")
    return trainer.run()


def _refuse_nonfinite(run_dir: Path) -> None:
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        return
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(summary, dict) and summary.get("stopped") == RunStatus.NONFINITE:
        raise RunDirectoryError(
            f"{run_dir} stopped because the loss or a gradient became non-finite, and resuming would repeat "
            "that; start a new run with a smaller learning rate (see its summary.json for details)"
        )
