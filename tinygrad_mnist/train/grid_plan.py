"""Planning a grid: every combination of the axes' values, with the overrides that match it, as a
named, validated run, before anything runs.

This is the one place where a grid's axes and overrides are checked and where overrides are
matched to runs; :func:`~tinygrad_mnist.experiments.run_grid` and the command line both plan through it.

An override ``(match, changes)`` applies ``changes`` to every run whose axis values equal all the
values in ``match``; several matching overrides apply in order. ``match`` names axes only (with
values the axis has), and ``changes`` never sets an axis: runs are named by their axis values, so
a run named "hinge" must train the hinge loss.
"""
from __future__ import annotations

import itertools
import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..checks import shown
from ..errors import ConfigError
from .config import SETTINGS_BY_NAME, TrainConfig, check_names
from .rundir import safe_name

Override = Tuple[Dict[str, Any], Dict[str, Any]]


def _canonical(key: str, value: Any) -> Any:
    """A value as the validated config holds it (tuples as lists, ints as floats, ...)."""
    return SETTINGS_BY_NAME[key].check(value)


def _checked_axes(axes: Any) -> Dict[str, List[Any]]:
    if not isinstance(axes, dict):
        raise ConfigError(f"grid axes must be a dict of setting -> list of values, got {type(axes).__name__}")
    check_names(axes, "option", " in the grid axes")
    if not axes:
        raise ConfigError("a grid needs at least one setting with several values (an axis), "
                          "such as loss: ['ce', 'hinge']")
    checked = {}
    for key, values in axes.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)) or not values:
            raise ConfigError(f"grid axis {key!r} needs a non-empty list of values, got {shown(values)}")
        texts = [json.dumps(_canonical(key, v), sort_keys=True) for v in values]
        if len(set(texts)) != len(texts):
            raise ConfigError(f"grid axis {key!r} lists a value twice: {shown(list(values))}")
        checked[key] = list(values)
    return checked


def normalise_overrides(overrides: Optional[Sequence[Any]], axes: Optional[Dict[str, Sequence[Any]]] = None) -> List[Override]:
    """Check overrides and return them as ``(match, changes)`` pairs with canonical values.

    Each may be a pair of dicts or a dict ``{"match": {...}, "set": {...}}`` (the form of a
    ``[[grid.override]]`` table in a TOML config). With ``axes``, ``match`` must name axes and
    their values, and ``changes`` must leave the axes alone.

    >>> normalise_overrides([{"match": {"loss": "hinge"}, "set": {"lr": 1e-4}}])
    [({'loss': 'hinge'}, {'lr': 0.0001})]
    >>> normalise_overrides([({"loss": "hinge"}, {"loss": "ce"})], {"loss": ["ce", "hinge"]})
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.ConfigError: grid override #1 sets 'loss', an axis of the grid; ...
    """
    pairs: List[Override] = []
    for number, override in enumerate(overrides or [], start=1):
        what = f"grid override #{number}"
        if isinstance(override, dict) and set(override) == {"match", "set"}:
            override = (override["match"], override["set"])
        if not (isinstance(override, (list, tuple)) and len(override) == 2 and all(isinstance(d, dict) for d in override)):
            raise ConfigError(f"{what} must be a pair (match dict, changes dict) or {{'match': ..., 'set': ...}}, "
                              f"got {shown(override)}")
        match, changes = override
        check_names(match, "option", f" in {what} match")
        check_names(changes, "option", f" in {what} changes")
        match = {k: _canonical(k, v) for k, v in match.items()}
        changes = {k: _canonical(k, v) for k, v in changes.items()}
        if axes is not None:
            _check_against_axes(what, match, changes, axes)
        pairs.append((match, changes))
    return pairs


def _check_against_axes(what: str, match: Dict[str, Any], changes: Dict[str, Any], axes: Dict[str, Sequence[Any]]) -> None:
    for key, value in match.items():
        if key not in axes:
            raise ConfigError(f"{what} matches on {key!r}, which is not an axis of the grid (axes: "
                              f"{', '.join(axes)}); give it several values, or drop it from 'match'")
        values = [_canonical(key, v) for v in axes[key]]
        if value not in values:
            raise ConfigError(f"{what} matches {key} = {shown(value)}, which is not one of the axis values {shown(values)}")
    for key in changes:
        if key in axes:
            raise ConfigError(f"{what} sets {key!r}, an axis of the grid; runs are named by their axis values, "
                              f"so an override may not change one (drop it from 'set', or make it another axis value)")


def override_changes(config: TrainConfig, overrides: Sequence[Override]) -> Dict[str, Any]:
    """The changes of every override whose ``match`` values all equal ``config``'s, in order.

    >>> override_changes(TrainConfig(loss="hinge"), [({"loss": "hinge"}, {"lr": 1e-4})])
    {'lr': 0.0001}
    """
    applied: Dict[str, Any] = {}
    for match, changes in overrides:
        if all(getattr(config, key) == value for key, value in match.items()):
            applied.update(changes)
    return applied


def _value_text(key: str, value: Any) -> str:
    if isinstance(value, bool):  # a flag axis: batch_norm / no_batch_norm
        return key if value else f"no_{key}"
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return key + ("x".join(str(v) for v in value) or "linear")
    return f"{key}{value}"


def describe_run(settings: Dict[str, Any]) -> str:
    """A run's own settings as ``key=value`` words (names quoted, numbers and lists as JSON).

    >>> describe_run({"loss": "hinge", "lr": 0.0001, "hidden": [64]})
    "loss='hinge' lr=0.0001 hidden=[64]"
    """
    return " ".join(f"{key}={value!r}" if isinstance(value, str) else f"{key}={json.dumps(value)}"
                    for key, value in settings.items())


def plan(base: TrainConfig, axes: Dict[str, Sequence[Any]], overrides: Optional[Sequence[Any]] = None):
    """``(axes, overrides, runs)``: the checked axes and overrides and the planned runs (see
    :func:`plan_grid`)."""
    axes = _checked_axes(axes)
    pairs = normalise_overrides(overrides, axes)
    keys = list(axes)
    varying = [k for k in keys if len(axes[k]) > 1]
    runs = []
    for values in itertools.product(*(axes[k] for k in keys)):
        params = dict(zip(keys, values))
        applied: Dict[str, Any] = {}
        try:
            config = base.replace(**params)
            applied = override_changes(config, pairs)
            if applied:
                config = config.replace(**applied)
        except ConfigError as error:
            raise ConfigError(f"run {describe_run({**params, **applied})}: {error}") from None
        name = "-".join(_value_text(k, params[k]) for k in varying) or "run"
        runs.append({"name": safe_name(name), "params": params, "overrides": applied, "config": config})
    names = [r["name"] for r in runs]
    if len(set(names)) != len(names):
        for run in runs:
            run["name"] = safe_name("-".join(f"{k}={_value_text(k, run['params'][k])}" for k in varying))
    return axes, pairs, runs


def plan_grid(
    base: TrainConfig, axes: Dict[str, Sequence[Any]], overrides: Optional[Sequence[Any]] = None
) -> List[Dict[str, Any]]:
    """The runs of a grid: for each combination its name, the axis values (``params``), the
    overrides that apply (``overrides``) and the full validated config (``config``).

    All configs are validated before anything runs. Run names join the values of the axes that
    vary (non-string values get their setting's name: ``lr0.01``, ``hidden256x128``).

    >>> runs = plan_grid(TrainConfig(lr=0.1), {"activation": ["relu", "gelu"]},
    ...                  overrides=[({"activation": "gelu"}, {"lr": 0.05})])
    >>> [(r["name"], r["config"].lr) for r in runs]
    [('relu', 0.1), ('gelu', 0.05)]
    """
    return plan(base, axes, overrides)[2]
