"""TOML settings files (``--config FILE.toml``): top-level keys are settings, an optional ``[grid]``
table lists axes, and ``[[grid.override]]`` tables change matching runs.

Every value is checked by its setting's declaration, the same check the command line and
``TrainConfig`` use; this module only reads the file and says where a problem is.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from ..checks import MAX_NESTING, did_you_mean, nesting_depth, shown
from ..errors import ConfigError
from ..train.config import SETTINGS_BY_NAME

__all__ = ["read_config"]


def read_config(path: "str | os.PathLike[str]") -> Tuple[Dict[str, Any], Optional[Dict[str, Any]]]:
    """Read a TOML settings file: ``(settings, grid)``, every value checked.

    ``grid`` is ``None`` without a ``[grid]`` table, else ``{"axes": {name: [values]},
    "overrides": [{"match": {...}, "set": {...}}]}``. Raises ConfigError (one line) for a
    missing, unreadable or malformed file and for unknown keys or bad values.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        ...     _ = f.write('lr = 0.05\\n[grid]\\nloss = ["ce", "hinge"]\\n')
        >>> read_config(f.name)
        ({'lr': 0.05}, {'axes': {'loss': ['ce', 'hinge']}, 'overrides': []})
    """
    where = f"config file {os.fspath(path)}"
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{where} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{where} is a directory, not a TOML file") from None
    except OSError as e:
        raise ConfigError(f"{where} cannot be read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{where} is not UTF-8 text (bad byte at offset {e.start})") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where} is not valid TOML: {e}") from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        document = None
    if document is None or nesting_depth(document) > MAX_NESTING:
        raise ConfigError(f"{where} nests arrays or tables more than {MAX_NESTING} deep; a settings file "
                          "needs two or three levels")

    grid_table = document.pop("grid", None)
    settings = _checked_settings(document, where)
    if grid_table is None:
        return settings, None
    if not isinstance(grid_table, dict):
        raise ConfigError(f"{where}: 'grid' must be a table ([grid]), got {shown(grid_table)}")
    return settings, _checked_grid(grid_table, where)


def _checked_value(name: str, value: Any, where: str) -> Any:
    setting = SETTINGS_BY_NAME.get(name)
    if setting is None:
        raise ConfigError(f"{where}: unknown setting {name!r}{did_you_mean(name, SETTINGS_BY_NAME)}")
    try:
        return setting.check(value)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


def _checked_settings(table: Dict[str, Any], where: str) -> Dict[str, Any]:
    out = {}
    for name, value in table.items():
        if isinstance(value, dict):
            hint = did_you_mean(name, ["grid"])
            raise ConfigError(f"{where}: unknown table [{name}]{hint} (settings go at the top level)")
        out[name] = _checked_value(name, value, where)
    return out


def _checked_grid(table: Dict[str, Any], where: str) -> Dict[str, Any]:
    overrides_raw = table.pop("override", [])
    axes: Dict[str, list] = {}
    for name, values in table.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: [grid] {name} must be a non-empty list of values, got {shown(values)}")
        axes[name] = [_checked_value(name, v, f"{where}: [grid]") for v in values]
    if not isinstance(overrides_raw, list):
        raise ConfigError(f"{where}: grid.override must be an array of tables ([[grid.override]])")
    overrides = []
    for i, entry in enumerate(overrides_raw, start=1):
        at = f"{where}: [[grid.override]] #{i}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{at} must be a table with 'match' and 'set'")
        unknown = sorted(set(entry) - {"match", "set"})
        if unknown:
            raise ConfigError(f"{at}: unknown key {unknown[0]!r}{did_you_mean(unknown[0], ['match', 'set'])} "
                              "(an override has only 'match' and 'set')")
        match, assign = entry.get("match"), entry.get("set")
        if not isinstance(match, dict) or not match or not isinstance(assign, dict) or not assign:
            raise ConfigError(f"{at} needs a non-empty 'match' table and a non-empty 'set' table")
        overrides.append({
            "match": {k: _checked_value(k, v, f"{at} match") for k, v in match.items()},
            "set": {k: _checked_value(k, v, f"{at} set") for k, v in assign.items()},
        })
    return {"axes": axes, "overrides": overrides}
