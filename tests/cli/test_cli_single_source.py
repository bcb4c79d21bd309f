"""One source for every setting: the command line, a TOML file and ``TrainConfig`` accept and reject
exactly the same values, and accept each as the same value.

The cases are generated from the declarations (kinds, bounds, choices), with the values at, just
inside and just outside every bound, plus values of the wrong type. Each value goes in three ways:
``TrainConfig.from_dict``, ``train --config FILE.toml --dry-run`` and ``train --option TEXT
--dry-run`` (the text a user would type for that value). A value that one way cannot express (a
Python ``None`` without a word for it on the command line, a list for a one-token option) is
compared between the ways that can.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import pytest

from tinygrad_mnist.checks import Bounds
from tinygrad_mnist.cli import main, read_config
from tinygrad_mnist.errors import ConfigError
from tinygrad_mnist.train import SETTINGS, TrainConfig, plan_grid
from tinygrad_mnist.train.config import SETTINGS_BY_NAME
from tinygrad_mnist.train.settings import (
    Choice,
    Flag,
    Folder,
    FractionOrCount,
    Integer,
    OrNone,
    Real,
    Reals,
    Weights,
    Widths,
)

WRONG_TYPES = [True, "text", "", [1.0], {"a": 1}]


def _edges(bounds: Bounds, integer: bool) -> List[Any]:
    """Values at, just below and just above each bound, and one well inside."""
    values: List[Any] = []
    for edge in (bounds.low, bounds.high):
        if edge is None:
            continue
        if integer:
            values += [int(edge) - 1, int(edge), int(edge) + 1]
        else:
            values += [float(np.nextafter(edge, -math.inf)), float(edge), float(np.nextafter(edge, math.inf))]
    low = bounds.low if bounds.low is not None else 0
    high = bounds.high if bounds.high is not None else low + 10
    middle = (low + high) / 2
    values.append(int(middle) if integer else middle)
    return values


def cases(kind) -> List[Any]:
    """Values to try for a kind of setting, derived from its declaration."""
    if isinstance(kind, OrNone):
        return [None] + ([kind.none_word, kind.none_word.upper()] if kind.none_word else []) + cases(kind.kind)
    if isinstance(kind, Integer):  # before Real: an Integer is a Real that must be whole
        edges = _edges(kind.bounds, integer=True)
        return edges + [float(edges[-1]), edges[-1] + 0.5, math.nan] + WRONG_TYPES
    if isinstance(kind, Real):
        return _edges(kind.bounds, integer=False) + [math.nan, math.inf, -math.inf, 1] + WRONG_TYPES
    if isinstance(kind, Choice):
        first = kind.choices[0]
        return list(kind.choices) + [first.upper(), f" {first} ", first[:-1] + "x", "", 1, True, None]
    if isinstance(kind, Flag):
        return [True, False, 1, 0, "true", None]
    if isinstance(kind, Widths):
        low, high = int(kind.bounds.low), int(kind.bounds.high)
        return [[], [low], [high], [low - 1], [high + 1], [64, 32], (64, 32), [2.5], [64.0], 128, "none", None]
    if isinstance(kind, Weights):
        edges = _edges(kind.bounds, integer=False)
        inside = edges[-1]
        return edges + [[inside], [inside] * kind.count, [inside] * (kind.count - 1), [edges[0]] * kind.count,
                        [], "text", True, math.nan]
    if isinstance(kind, Reals):
        edges = _edges(kind.bounds, integer=False)
        inside = edges[-1]
        return ([[edge, inside] for edge in edges] + [[inside, edge] for edge in edges]
                + [(inside, inside), [inside], [inside] * (kind.count + 1), [], inside, "text", True])
    if isinstance(kind, FractionOrCount):
        return [0, 0.0, 0.5, float(np.nextafter(1, 0)), 1, 1.0, 1.5, 100, 59999, 60000, -0.1, math.nan, True, "text"]
    if isinstance(kind, Folder):
        return ["somewhere", "with space/and/slashes", "", 3, None]
    raise AssertionError(f"no cases for {type(kind).__name__}: add them here when adding a kind")


# ---- the three ways in --------------------------------------------------------------------------


def _dry_run(argv: List[str]) -> Optional[Any]:
    """The resolved settings of ``train ... --dry-run``, or None when it refused."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv + ["--dry-run"])
    if code == 2:
        assert len(err.getvalue().splitlines()) == 1 and err.getvalue().startswith("tinygrad-mnist: error: ")
        return None
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue())


def _toml(value: Any) -> Optional[str]:
    """``value`` as a TOML literal, or None when TOML has no way to say it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else {"nan": "nan", "inf": "inf", "-inf": "-inf"}[repr(value)]
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        items = [_toml(v) for v in value]
        return None if None in items else "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        items = {k: _toml(v) for k, v in value.items()}
        return None if None in items.values() else "{ " + ", ".join(f"{k} = {v}" for k, v in items.items()) + " }"
    return None


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _tokens(setting, value: Any) -> Optional[List[str]]:
    """What a user types after the option for ``value``, or None when the command line cannot say it."""
    kind = setting.kind
    if isinstance(kind, OrNone):
        if value is None:
            return [kind.none_word] if kind.none_word else None
        kind = kind.kind
    if kind.is_flag:
        return None if not isinstance(value, bool) else []
    if kind.nargs is not None:  # the option's tokens make one value
        if isinstance(value, (list, tuple)):
            return [_text(v) for v in value]
        if isinstance(kind, Widths):
            return None  # one width typed is a list of one: not the same value as the number
        return None if isinstance(value, dict) or value is None else [_text(value)]
    if isinstance(value, (list, tuple, dict)) or value is None:
        return None
    if isinstance(kind, (Choice, Folder)) and not isinstance(value, str):
        return None  # names and paths are text: typing 3 is typing the name "3"
    if isinstance(value, str) and not isinstance(kind, (Choice, Folder)) and _looks_numeric(value):
        return None  # the text of a number is how the number is typed
    return [_text(value)]


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def context(setting) -> Dict[str, str]:
    """The setting it belongs to, set to a value where it applies (``optimizer = "adam"`` for
    betas), when the default is not one: without it every value but the default is refused."""
    depends = setting.depends
    if depends is None or depends.applies(SETTINGS_BY_NAME[depends.on].default):
        return {}
    return {depends.on: next(iter(depends.defaults))}


def _argv(setting, value: Any, tokens: List[str]) -> List[str]:
    before = [text for on, choice in context(setting).items() for text in (SETTINGS_BY_NAME[on].flag, choice)]
    if setting.kind.is_flag:
        return ["train", *before, setting.flag if value else "--no-" + setting.flag[2:]]
    if len(tokens) == 1 and setting.kind.nargs is None:
        return ["train", *before, f"{setting.flag}={tokens[0]}"]  # '=' so that "-1" is not read as an option
    return ["train", *before, setting.flag, *tokens]


def _toml_lines(setting, literal: str) -> str:
    lines = [f"{on} = {json.dumps(choice)}" for on, choice in context(setting).items()]
    return "\n".join(lines + [f"{setting.name} = {literal}"]) + "\n"


def _library(name: str, value: Any) -> Optional[Any]:
    try:
        config = TrainConfig.from_dict({**context(SETTINGS_BY_NAME[name]), name: value})
        return json.loads(json.dumps(config.to_dict()[name]))
    except ConfigError:
        return None


ALL_CASES = [(s, v) for s in SETTINGS for v in cases(s.kind)]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_command_line_toml_and_trainconfig_agree_on_every_value(setting, tmp_path):
    compared = 0
    for value in cases(setting.kind):
        expected = _library(setting.name, value)
        literal = _toml(value)
        if literal is not None:
            config = tmp_path / "c.toml"
            config.write_text(_toml_lines(setting, literal), encoding="utf-8")
            settings = _dry_run(["train", "--config", str(config)])
            got = None if settings is None else settings[setting.name]
            assert got == expected, f"TOML {setting.name} = {literal}: {got!r}, TrainConfig: {expected!r}"
            compared += 1
        tokens = _tokens(setting, value)
        if tokens is not None:
            settings = _dry_run(_argv(setting, value, tokens))
            got = None if settings is None else settings[setting.name]
            assert got == expected, f"command line {_argv(setting, value, tokens)}: {got!r}, TrainConfig: {expected!r}"
            compared += 1
    assert compared >= 7, f"too few values of {setting.name} could be compared"


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.kind.axis], ids=lambda s: s.name)
def test_grid_axis_values_follow_the_same_declaration(setting, tmp_path):
    """A value a setting accepts is a valid grid axis value, read from a [grid] table; one it
    refuses is refused there too."""
    for value in cases(setting.kind):
        literal = _toml(value)
        expected = _library(setting.name, value)
        if literal is None or expected == json.loads(json.dumps(setting.default)):
            continue
        config = tmp_path / "g.toml"
        if setting.default is not None:
            values = f"{literal}, {_toml(setting.default)}"
        elif setting.kind.none_word is not None:
            values = f"{literal}, {json.dumps(setting.kind.none_word)}"
        else:  # no way to type "the default of the chosen optimizer": an axis of one value
            values = literal
        config.write_text(f"[grid]\n{setting.name} = [{values}]\n", encoding="utf-8")
        try:
            _, grid = read_config(config)
            runs = plan_grid(TrainConfig(**context(setting)), grid["axes"], grid["overrides"])
            got = json.loads(json.dumps(runs[0]["config"].to_dict()[setting.name]))
        except ConfigError:
            got = None
        assert got == expected, f"[grid] {setting.name} = [{literal}, ...]: {got!r}, TrainConfig: {expected!r}"


def test_cases_reach_both_sides_of_every_bound():
    """The generated cases are not all accepted (or all refused): each setting has both."""
    for setting in SETTINGS:
        outcomes = {_library(setting.name, value) is None for value in cases(setting.kind)}
        assert outcomes == {True, False}, setting.name


def test_edge_values_are_where_the_bounds_say():
    assert _library("momentum", 0.0) == 0.0 and _library("momentum", float(np.nextafter(1, 0))) is not None
    assert _library("momentum", 1.0) is None and _library("lr", 0.0) is None
    assert _library("margin", 0.0) == 0.0  # once refused by the command line only
    assert _library("label_smoothing", 1.0) == 1.0  # [0, 1] for the config and the loss alike
    assert _library("train_size", 60000) == 60000 and _library("train_size", 60001) is None


def test_the_toml_writer_round_trips(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("lr = " + _toml(5e-324) + "\nhidden = " + _toml((64, 32)) + "\n", encoding="utf-8")
    assert read_config(Path(config))[0] == {"lr": 5e-324, "hidden": [64, 32]}


def test_a_new_setting_needs_only_its_declaration(tmp_path):
    """What adding a setting takes: one ``setting(...)`` field. Validation, the options of train and
    grid with their --help, TOML values and did-you-mean come from it (here on a subclass, so
    the real TrainConfig stays as it is)."""
    from dataclasses import dataclass

    from tinygrad_mnist.checks import Bounds
    from tinygrad_mnist.cli.options import Parser, add_settings, given_settings
    from tinygrad_mnist.train.settings import declared_settings, setting

    @dataclass
    class WithInputNoise(TrainConfig):
        input_noise: float = setting(0.0, Real(Bounds(0, 1, high_open=True)), "std of noise added to the inputs", "model")

    assert WithInputNoise.from_dict({"input_noise": 0.25}).input_noise == 0.25
    with pytest.raises(ConfigError, match="input_noise must be >= 0 and < 1, got 1"):
        WithInputNoise.from_dict({"input_noise": 1})
    with pytest.raises(ConfigError, match="did you mean 'input_noise'"):
        WithInputNoise.from_dict({"input_nosie": 0.1})
    settings = declared_settings(WithInputNoise)
    train, grid = Parser(prog="train"), Parser(prog="grid")
    add_settings(train, settings)
    add_settings(grid, settings, many=True)
    assert given_settings(train.parse_args(["--input-noise", "0.5"]), settings) == {"input_noise": 0.5}
    assert given_settings(grid.parse_args(["--input-noise", "0", "0.5"]), settings) == {"input_noise": [0.0, 0.5]}
    assert "std of noise added to the inputs; >= 0 and < 1; default: 0.0" in " ".join(train.format_help().split())
    with pytest.raises(Exception, match="input_noise must be >= 0 and < 1"):
        train.parse_args(["--input-noise", "1"])
    assert settings[-1].check(0.5) == 0.5  # what the TOML reader calls for a key
