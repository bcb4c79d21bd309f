"""Writing JSON result files (summary.json, results.json) as strict JSON, and reading them back
without trusting them."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Union

from ..atomic import atomic_write_text
from ..checks import MAX_NESTING, nesting_depth

#: The largest JSON result file read back: a summary is a few KB, a long run's a few hundred KB.
MAX_JSON_BYTES = 16 << 20


def json_safe(value: Any) -> Any:
    """A copy of ``value`` in which NaN and infinities are None, so the JSON is standard.

    >>> json_safe({"loss": float("nan"), "acc": [0.5, float("inf")]})
    {'loss': None, 'acc': [0.5, None]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_summary(path: Union[str, os.PathLike], data: Any) -> None:
    """Write ``data`` as indented strict JSON (non-finite numbers as null), atomically.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "summary.json"
    >>> write_summary(p, {"loss": float("nan")}); p.read_text()
    '{\\n  "loss": null\\n}\\n'
    """
    atomic_write_text(path, json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n")


def parse_json_text(text: Union[str, bytes], max_nesting: int = MAX_NESTING) -> Any:
    """Parse JSON that may have been crafted; raise ValueError saying what is wrong with it.

    Nesting deeper than ``max_nesting`` is refused here, once, instead of ending later in a
    RecursionError in whatever code walks the value.

    >>> parse_json_text('{"stopped": "completed"}')
    {'stopped': 'completed'}
    >>> parse_json_text("[" * 5000 + "]" * 5000)
    Traceback (most recent call last):
    ...
    ValueError: it nests lists or objects more than 32 deep
    """
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
        too_deep = True
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"it is not valid JSON ({error})") from None
    else:
        too_deep = nesting_depth(value, max_nesting) > max_nesting
    if too_deep:
        raise ValueError(f"it nests lists or objects more than {max_nesting} deep")
    return value


def read_json_file(path: Union[str, os.PathLike], max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Read a JSON result file written by this package (or crafted to look like one).

    Raises OSError when it cannot be read and ValueError (with the file's name) when it is too
    large, not JSON, or nested too deeply.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "summary.json"; _ = p.write_text('{"a": 1}')
    >>> read_json_file(p)
    {'a': 1}
    """
    path = Path(path)
    with open(path, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"{path} is larger than {max_bytes >> 20} MiB; it is not a file this package wrote")
    try:
        return parse_json_text(data)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
