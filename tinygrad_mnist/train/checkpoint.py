"""Checkpoints without pickle: ``np.savez`` of plain numeric arrays plus a JSON metadata string.

Layout of ``checkpoint.npz``:

* ``model/<parameter name>``: the model's ``state_dict()`` arrays;
* ``<state name>/<path>``: the ndarray buffers of other state dicts saved with it (the optimizer's
  momentum buffers, ...); the rest of each dict is JSON in the metadata under ``states``, with
  ``{"__array__": "<key>"}`` where a buffer was;
* ``__meta__``: UTF-8 JSON as a uint8 array: format tag and version, the shape and dtype of every
  array, and whatever the trainer adds (config, training progress, metrics, RNG states).

Loading uses ``allow_pickle=False`` and accepts only numeric arrays, so a crafted file cannot run
code; anything unexpected (not a zip, truncated, object arrays, unknown members, shapes or dtypes
that differ from the metadata or from the model) raises CheckpointError saying what is wrong.
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np

from ..errors import CheckpointError
from ..atomic import atomic_open

CHECKPOINT_NAME = "checkpoint.npz"
FORMAT = "tinygrad_mnist.checkpoint"
VERSION = 1
META_KEY = "__meta__"
_ALLOWED_KINDS = "fiub"  # float, int, unsigned, bool: nothing that can hold a Python object
_MAX_MISMATCHES_SHOWN = 4

PathLike = Union[str, os.PathLike]


@dataclass
class Checkpoint:
    """A checkpoint read from disk: its metadata dict and its arrays by key.

    >>> import tempfile, pathlib
    >>> class Tiny:
    ...     def state_dict(self): return {"w": np.ones(2, np.float32)}
    >>> checkpoint = read_checkpoint(save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "c.npz", Tiny()))
    >>> sorted(checkpoint.arrays), checkpoint.optimizer_state() is None
    (['model/w'], True)
    """

    path: Path
    meta: Dict[str, Any]
    arrays: Dict[str, np.ndarray]

    def model_state(self) -> Dict[str, np.ndarray]:
        """The model's state dict (parameter name -> array)."""
        return {k[len("model/"):]: v for k, v in self.arrays.items() if k.startswith("model/")}

    def state(self, name: str) -> Optional[Any]:
        """A state dict saved with ``states={name: ...}``, buffers put back; None if absent."""
        states = self.meta.get("states") or {}
        if not isinstance(states, dict):
            raise CheckpointError(f"{self.path}: the metadata's 'states' entry is malformed")
        tree = states.get(name)
        return None if tree is None else _decode_tree(tree, self.arrays, self.path)

    def optimizer_state(self) -> Optional[Dict[str, Any]]:
        """The optimizer's state dict with its buffers put back, or None if none was saved."""
        return self.state("optimizer")


def checkpoint_path(path: PathLike) -> Path:
    """``path`` itself for a file, ``path/checkpoint.npz`` for a run folder.

    >>> checkpoint_path("/no/such/run.npz").name
    'run.npz'
    """
    path = Path(path)
    return path / CHECKPOINT_NAME if path.is_dir() else path


def save_checkpoint(
    path: PathLike,
    model,
    optimizer=None,
    meta: Optional[Dict[str, Any]] = None,
    states: Optional[Dict[str, Any]] = None,
) -> Path:
    """Write the model (and optimizer) state plus ``meta`` to ``path`` atomically; return the path.

    ``states`` adds other named state dicts (a schedule's, ...); read them back with
    ``read_checkpoint(path).state(name)``.

    >>> import tempfile, pathlib
    >>> class Tiny:
    ...     def state_dict(self): return {"w": np.ones(2, np.float32)}
    >>> p = save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "c.npz", Tiny(), meta={"note": "hi"})
    >>> read_checkpoint(p).meta["note"], read_checkpoint(p).model_state()["w"].tolist()
    ('hi', [1.0, 1.0])
    """
    path = Path(path)
    arrays: Dict[str, np.ndarray] = {}
    for name, value in model.state_dict().items():
        arrays[f"model/{name}"] = np.asarray(value)
    full_meta = dict(meta or {})
    full_meta["format"] = FORMAT
    full_meta["version"] = VERSION
    all_states = dict(states or {})
    reserved = {"model", META_KEY} & set(all_states)
    if reserved:
        raise ValueError(f"state names {sorted(reserved)} are reserved for the model's arrays and the metadata")
    if optimizer is not None:
        all_states["optimizer"] = optimizer.state_dict()
    full_meta["states"] = {
        name: _encode_tree(value, name, arrays) for name, value in all_states.items() if value is not None
    }
    full_meta["arrays"] = {k: {"shape": list(v.shape), "dtype": v.dtype.str} for k, v in arrays.items()}
    encoded = json.dumps(full_meta, sort_keys=True).encode("utf-8")
    arrays[META_KEY] = np.frombuffer(encoded, dtype=np.uint8)
    with atomic_open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def _encode_tree(value: Any, key: str, arrays: Dict[str, np.ndarray]) -> Any:
    """JSON-able copy of a nested state dict, moving ndarrays into ``arrays``."""
    if isinstance(value, np.ndarray):
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, dict):
        return {str(k): _encode_tree(v, f"{key}/{k}", arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode_tree(v, f"{key}/{i}", arrays) for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} at {key!r} in a checkpoint (only arrays and JSON values)")


def _decode_tree(value: Any, arrays: Dict[str, np.ndarray], path: Path) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            key = value["__array__"]
            if not isinstance(key, str) or key not in arrays:
                raise CheckpointError(f"{path}: the metadata refers to an array {key!r} that the file does not contain")
            return arrays[key]
        return {k: _decode_tree(v, arrays, path) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_tree(v, arrays, path) for v in value]
    return value


def read_checkpoint(path: PathLike) -> Checkpoint:
    """Read and check a checkpoint file (or a run folder's checkpoint) without trusting it.

    >>> import tempfile, pathlib
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "bad.npz"; _ = bad.write_bytes(b"not a zip")
    >>> read_checkpoint(bad)
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.CheckpointError: ... is not a checkpoint: it is not an .npz (zip) file ...
    """
    path = checkpoint_path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    if not path.is_file():
        raise CheckpointError(f"{path} is not a file")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path} is not a checkpoint: it is not an .npz (zip) file (truncated, or another format)"
        )
    arrays: Dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            for key in npz.files:
                value = npz[key]
                if not isinstance(value, np.ndarray):
                    raise CheckpointError(f"{path}: member {key!r} is not a NumPy array; refusing to load it")
                arrays[key] = value
    except CheckpointError:
        raise
    except ValueError as error:
        # NumPy's refusal to unpickle an object array lands here: say so plainly.
        raise CheckpointError(
            f"{path}: cannot load it safely ({error}); checkpoints contain only numeric arrays, never pickles"
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise CheckpointError(f"{path} is damaged or truncated ({type(error).__name__}: {error})") from None
    meta = _parse_meta(path, arrays.pop(META_KEY, None))
    _check_arrays(path, meta, arrays)
    return Checkpoint(path=path, meta=meta, arrays=arrays)


def _parse_meta(path: Path, raw: Optional[np.ndarray]) -> Dict[str, Any]:
    if raw is None:
        raise CheckpointError(f"{path} is not a tinygrad_mnist checkpoint: it has no {META_KEY} entry")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"{path}: {META_KEY} must be a 1-d uint8 array of JSON text, got {raw.dtype}{raw.shape}")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: the metadata is not valid JSON ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a tinygrad_mnist checkpoint (missing format tag {FORMAT!r})")
    if meta.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {meta.get('version')!r}; this tinygrad_mnist reads version {VERSION}"
        )
    if not isinstance(meta.get("arrays"), dict):
        raise CheckpointError(f"{path}: the metadata does not list the arrays")
    return meta


def _check_arrays(path: Path, meta: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> None:
    listed = meta["arrays"]
    missing = sorted(set(listed) - set(arrays))
    extra = sorted(set(arrays) - set(listed))
    if missing or extra:
        raise CheckpointError(
            f"{path}: the arrays do not match its metadata (missing: {missing[:_MAX_MISMATCHES_SHOWN]}, "
            f"unexpected: {extra[:_MAX_MISMATCHES_SHOWN]}); the file was altered or damaged"
        )
    for key, array in arrays.items():
        if array.dtype.kind not in _ALLOWED_KINDS or array.dtype.hasobject:
            raise CheckpointError(f"{path}: array {key!r} has dtype {array.dtype}; only numeric arrays are allowed")
        spec = listed[key]
        try:
            shape, dtype = tuple(spec["shape"]), np.dtype(spec["dtype"])
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{path}: the metadata entry for {key!r} is malformed") from None
        if array.shape != shape or array.dtype != dtype:
            raise CheckpointError(
                f"{path}: array {key!r} is {array.dtype}{array.shape} but its metadata says {dtype}{shape}; "
                "the file was altered or damaged"
            )


def check_model_state(path: Path, state: Dict[str, np.ndarray], model) -> None:
    """Raise CheckpointError unless ``state`` has exactly the model's names, shapes and dtypes.

    >>> class Tiny:
    ...     def state_dict(self): return {"w": np.ones(2, np.float32)}
    >>> check_model_state(Path("c.npz"), {"w": np.ones(3, np.float32)}, Tiny())
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.CheckpointError: c.npz does not fit this model: w has shape (3,), the model expects (2,); ...
    """
    expected = {k: np.asarray(v) for k, v in model.state_dict().items()}
    problems: List[str] = []
    for name in expected:
        if name not in state:
            problems.append(f"missing {name}")
    for name in state:
        if name not in expected:
            problems.append(f"unexpected {name}")
    for name, want in expected.items():
        got = state.get(name)
        if got is None:
            continue
        if got.shape != want.shape:
            problems.append(f"{name} has shape {got.shape}, the model expects {want.shape}")
        elif got.dtype != want.dtype:
            problems.append(f"{name} has dtype {got.dtype}, the model expects {want.dtype}")
    if problems:
        shown = "; ".join(problems[:_MAX_MISMATCHES_SHOWN])
        more = f" (and {len(problems) - _MAX_MISMATCHES_SHOWN} more)" if len(problems) > _MAX_MISMATCHES_SHOWN else ""
        raise CheckpointError(
            f"{path} does not fit this model: {shown}{more}; build the model with the checkpoint's config "
            "(hidden sizes, dtype) or pick the matching checkpoint"
        )


def load_checkpoint(path: PathLike, model=None, optimizer=None) -> Dict[str, Any]:
    """Read a checkpoint (file or run folder), load it into ``model``/``optimizer`` if given, return
    its metadata. Shapes and dtypes are checked against the model before anything is changed.

    >>> import tempfile, pathlib
    >>> class Tiny:
    ...     def __init__(self): self.w = np.zeros(2, np.float32)
    ...     def state_dict(self): return {"w": self.w.copy()}
    ...     def load_state_dict(self, state, strict=True): self.w = state["w"].copy()
    >>> source, target = Tiny(), Tiny(); source.w += 3
    >>> p = save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "c.npz", source)
    >>> _ = load_checkpoint(p, target); target.w.tolist()
    [3.0, 3.0]
    """
    checkpoint = read_checkpoint(path)
    if model is not None:
        load_into_model(checkpoint, model)
    if optimizer is not None:
        load_into_optimizer(checkpoint, optimizer)
    return checkpoint.meta


def load_into_model(checkpoint: Checkpoint, model) -> None:
    """Check and load the checkpoint's weights into ``model`` (see :func:`load_checkpoint`).

    >>> from tinygrad_mnist import nn
    >>> import tempfile, pathlib
    >>> path = save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "c.npz", nn.Linear(2, 2, seed=0))
    >>> target = nn.Linear(2, 2, seed=1); load_into_model(read_checkpoint(path), target)
    >>> bool((target.weight.numpy() == nn.Linear(2, 2, seed=0).weight.numpy()).all())
    True
    """
    state = checkpoint.model_state()
    check_model_state(checkpoint.path, state, model)
    try:
        model.load_state_dict(state)
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{checkpoint.path}: cannot load the weights: {error}") from None


def load_into_optimizer(checkpoint: Checkpoint, optimizer) -> None:
    """Load the checkpoint's optimizer state (momentum buffers, hyperparameters) into ``optimizer``.

    >>> from tinygrad_mnist import nn, optim
    >>> import tempfile, pathlib
    >>> model = nn.Linear(2, 2, seed=0)
    >>> path = save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "c.npz", model, optim.SGD(model.parameters(), lr=0.5))
    >>> target = optim.SGD(model.parameters(), lr=0.1); load_into_optimizer(read_checkpoint(path), target)
    >>> target.param_groups[0]["lr"]
    0.5
    """
    state = checkpoint.optimizer_state()
    if state is None:
        raise CheckpointError(f"{checkpoint.path} holds no optimizer state; it cannot restore an optimizer")
    try:
        optimizer.load_state_dict(state)
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise CheckpointError(f"{checkpoint.path}: cannot restore the optimizer state: {error}") from None
