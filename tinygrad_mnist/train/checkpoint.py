"""Checkpoints without pickle: ``np.savez`` of plain numeric arrays plus a JSON metadata string.

Layout of ``checkpoint.npz``:

* ``model/<parameter name>``: the model's ``state_dict()`` arrays;
* ``<state name>/<path>``: the ndarray buffers of other state dicts saved with it (the optimizer's
  momentum buffers, ...); the rest of each dict is JSON in the metadata under ``states``, with
  ``{"__array__": "<key>"}`` where a buffer was;
* ``__meta__``: UTF-8 JSON as a uint8 array: format tag and version, the shape and dtype of every
  array, and whatever the trainer adds (config, training progress, metrics, RNG states).

Reading trusts nothing and checks before it allocates: the zip directory and every member's
``.npy`` header are read first (see :mod:`~tinygrad_mnist.train.npzfile`), the metadata (at most
``MAX_META_BYTES``, nested at most ``MAX_NESTING`` deep) must list exactly those arrays with
exactly those shapes and dtypes, only numeric dtypes are accepted (nothing that can hold a Python
object, and nothing is ever unpickled), and the arrays together must fit in the memory available.
The arrays themselves are read only when used: :func:`open_checkpoint` reads the metadata alone,
so a caller can compare the declared shapes with its model (:func:`load_into_model` does) before a
single weight is read. Anything unexpected raises CheckpointError saying what is wrong.

Writing refuses parameters or state that are not finite: a checkpoint is always one a run can
continue from.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np

from ..atomic import atomic_open
from ..errors import CheckpointError, NonFiniteError
from ..autograd.nonfinite import describe_nonfinite
from .memory import available_memory, format_bytes
from .npzfile import Member, NotNpzError, NpzError, index_npz, read_members
from .summary import parse_json_text

CHECKPOINT_NAME = "checkpoint.npz"
FORMAT = "tinygrad_mnist.checkpoint"
VERSION = 1
META_KEY = "__meta__"
MODEL_PREFIX = "model/"
#: The largest metadata accepted: a run's metadata is a few KB plus ~200 bytes per epoch.
MAX_META_BYTES = 64 << 20
#: The other state saved with a model (optimizer buffers, schedules) may be at most this many
#: times the model's own size: an optimizer keeps a few arrays per parameter, never more.
STATE_TO_MODEL_RATIO = 8
_STATE_ALLOWANCE = 1 << 20  # plus this much, for small models and scalar state
_ALLOWED_KINDS = "fiub"  # float, int, unsigned, bool: nothing that can hold a Python object
_MAX_MISMATCHES_SHOWN = 4

PathLike = Union[str, os.PathLike]


class Checkpoint:
    """A checkpoint on disk: its metadata, the declared shape and dtype of each array, and the
    arrays, read on first use (and then kept).

    >>> import tempfile, pathlib
    >>> class Tiny:
    ...     def state_dict(self): return {"w": np.ones(2, np.float32)}
    >>> checkpoint = open_checkpoint(save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "c.npz", Tiny()))
    >>> checkpoint.declared()["model/w"].shape, checkpoint.optimizer_state() is None
    ((2,), True)
    >>> sorted(checkpoint.arrays)
    ['model/w']
    """

    def __init__(self, path: Path, meta: Dict[str, Any], members: Dict[str, Member]) -> None:
        self.path = path
        self.meta = meta
        self._members = members
        self._loaded: Dict[str, np.ndarray] = {}

    def declared(self, prefix: str = "") -> Dict[str, Member]:
        """The arrays whose key starts with ``prefix``, as declared (nothing is read)."""
        return {k: m for k, m in self._members.items() if k.startswith(prefix)}

    def load(self, keys) -> Dict[str, np.ndarray]:
        """The arrays of ``keys``, read from the file the first time they are asked for."""
        wanted = [self._members[k] for k in keys if k not in self._loaded]
        if wanted:
            try:
                self._loaded.update(read_members(self.path, wanted))
            except NpzError as error:
                raise CheckpointError(f"{self.path}: {error}") from None
        return {k: self._loaded[k] for k in keys}

    @property
    def arrays(self) -> Dict[str, np.ndarray]:
        """Every array by key (all are read)."""
        return self.load(list(self._members))

    def model_state(self) -> Dict[str, np.ndarray]:
        """The model's state dict (parameter name -> array); only the model's arrays are read."""
        arrays = self.load(list(self.declared(MODEL_PREFIX)))
        return {k[len(MODEL_PREFIX):]: v for k, v in arrays.items()}

    def state(self, name: str) -> Optional[Any]:
        """A state dict saved with ``states={name: ...}``, buffers put back; None if absent."""
        states = self.meta.get("states") or {}
        if not isinstance(states, dict):
            raise CheckpointError(f"{self.path}: the metadata's 'states' entry is malformed")
        tree = states.get(name)
        return None if tree is None else _decode_tree(tree, self)

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


def _check_finite(path: Path, arrays: Dict[str, np.ndarray]) -> None:
    """Raise NonFiniteError (with ``array`` and ``kind`` attributes) at the first array holding
    NaN or Inf."""
    for key, array in arrays.items():
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            kind = describe_nonfinite(array)
            error = NonFiniteError(
                f"refusing to write {path}: {key} holds {kind} values, and a checkpoint must be one a run "
                "can continue from; the previous checkpoint (if any) is unchanged"
            )
            error.array, error.kind = key, kind
            raise error


def save_checkpoint(
    path: PathLike,
    model,
    optimizer=None,
    meta: Optional[Dict[str, Any]] = None,
    states: Optional[Dict[str, Any]] = None,
) -> Path:
    """Write the model (and optimizer) state plus ``meta`` to ``path`` atomically; return the path.

    ``states`` adds other named state dicts (a schedule's, ...); read them back with
    ``read_checkpoint(path).state(name)``. Parameters or state holding NaN or Inf raise
    NonFiniteError and nothing is written.

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
        arrays[f"{MODEL_PREFIX}{name}"] = np.asarray(value)
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
    _check_finite(path, arrays)
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


def _decode_tree(value: Any, checkpoint: Checkpoint) -> Any:
    # The metadata's nesting was bounded when it was read, so this recursion is shallow.
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            key = value["__array__"]
            if not isinstance(key, str) or key not in checkpoint.declared():
                raise CheckpointError(f"{checkpoint.path}: the metadata refers to an array {key!r} that the file does not contain")
            return checkpoint.load([key])[key]
        return {k: _decode_tree(v, checkpoint) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_tree(v, checkpoint) for v in value]
    return value


def open_checkpoint(path: PathLike) -> Checkpoint:
    """Read and check a checkpoint's metadata and its arrays' declared shapes and dtypes, without
    reading any array (see the module docstring for what is checked).

    >>> import tempfile, pathlib
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "bad.npz"; _ = bad.write_bytes(b"not a zip")
    >>> open_checkpoint(bad)
    Traceback (most recent call last):
    ...
    tinygrad_mnist.errors.CheckpointError: ... is not a checkpoint: it is not an .npz (zip) file ...
    """
    path = checkpoint_path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    if not path.is_file():
        raise CheckpointError(f"{path} is not a file")
    try:
        members = index_npz(path)
    except NotNpzError as error:
        raise CheckpointError(f"{path} is not a checkpoint: {error}") from None
    except NpzError as error:
        raise CheckpointError(f"{path}: {error}") from None
    except OSError as error:
        raise CheckpointError(f"cannot read {path}: {error.strerror or error}") from None
    meta_member = members.pop(META_KEY, None)
    checkpoint = Checkpoint(path, {}, dict(members))
    checkpoint.meta = _read_meta(path, meta_member)
    _check_members(path, checkpoint.meta, members)
    return checkpoint


def read_checkpoint(path: PathLike) -> Checkpoint:
    """:func:`open_checkpoint`, then read (and CRC-check) every array.

    >>> import tempfile, pathlib
    >>> class Tiny:
    ...     def state_dict(self): return {"w": np.arange(3, dtype=np.float32)}
    >>> read_checkpoint(save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "c.npz", Tiny())).arrays["model/w"]
    array([0., 1., 2.], dtype=float32)
    """
    checkpoint = open_checkpoint(path)
    checkpoint.arrays  # noqa: B018 - reading them is the point
    return checkpoint


def _read_meta(path: Path, member: Optional[Member]) -> Dict[str, Any]:
    if member is None:
        raise CheckpointError(f"{path} is not a tinygrad_mnist checkpoint: it has no {META_KEY} entry")
    if member.dtype != np.uint8 or len(member.shape) != 1:
        raise CheckpointError(f"{path}: {META_KEY} must be a 1-d uint8 array of JSON text, got {member.dtype}{member.shape}")
    if member.nbytes > MAX_META_BYTES:
        raise CheckpointError(
            f"{path}: its metadata is {format_bytes(member.nbytes)}, more than the {format_bytes(MAX_META_BYTES)} "
            "a checkpoint's metadata can take; the file was altered or is not a checkpoint"
        )
    try:
        raw = read_members(path, [member])[META_KEY]
    except NpzError as error:
        raise CheckpointError(f"{path}: {error}") from None
    try:
        meta = parse_json_text(raw.tobytes().decode("utf-8"))
    except UnicodeDecodeError as error:
        raise CheckpointError(f"{path}: the metadata is not valid JSON ({error})") from None
    except ValueError as error:
        raise CheckpointError(f"{path}: the metadata is unusable: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a tinygrad_mnist checkpoint (missing format tag {FORMAT!r})")
    if meta.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {meta.get('version')!r}; this tinygrad_mnist reads version {VERSION}"
        )
    if not isinstance(meta.get("arrays"), dict):
        raise CheckpointError(f"{path}: the metadata does not list the arrays")
    return meta


def _listed_spec(path: Path, key: str, spec: Any):
    try:
        shape, dtype = spec["shape"], np.dtype(spec["dtype"])
        if not isinstance(shape, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise ValueError(shape)
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"{path}: the metadata entry for {key!r} is malformed") from None
    return tuple(shape), dtype


def _check_members(path: Path, meta: Dict[str, Any], members: Dict[str, Member]) -> None:
    listed = meta["arrays"]
    missing = sorted(set(listed) - set(members))
    extra = sorted(set(members) - set(listed))
    if missing or extra:
        raise CheckpointError(
            f"{path}: the arrays do not match its metadata (missing: {missing[:_MAX_MISMATCHES_SHOWN]}, "
            f"unexpected: {extra[:_MAX_MISMATCHES_SHOWN]}); the file was altered or damaged"
        )
    for key, member in members.items():
        if member.dtype.kind not in _ALLOWED_KINDS or member.dtype.hasobject:
            raise CheckpointError(f"{path}: array {key!r} has dtype {member.dtype}; only numeric arrays are allowed")
        shape, dtype = _listed_spec(path, key, listed[key])
        if member.shape != shape or member.dtype != dtype:
            raise CheckpointError(
                f"{path}: array {key!r} is {member.dtype}{member.shape} but its metadata says {dtype}{shape}; "
                "the file was altered or damaged"
            )
    model_bytes = sum(m.nbytes for k, m in members.items() if k.startswith(MODEL_PREFIX))
    state_bytes = sum(m.nbytes for k, m in members.items() if not k.startswith(MODEL_PREFIX))
    if state_bytes > STATE_TO_MODEL_RATIO * model_bytes + _STATE_ALLOWANCE:
        raise CheckpointError(
            f"{path}: its non-model arrays declare {format_bytes(state_bytes)}, more than {STATE_TO_MODEL_RATIO} times "
            f"the model's {format_bytes(model_bytes)}; the file was altered or is not a checkpoint"
        )
    available = available_memory()
    if available is not None and model_bytes + state_bytes > available:
        raise CheckpointError(
            f"{path}: its arrays declare {format_bytes(model_bytes + state_bytes)}, more than the "
            f"{format_bytes(available)} of memory available; it cannot be loaded here"
        )


def check_model_state(path: Path, state: Dict[str, Any], model) -> None:
    """Raise CheckpointError unless ``state`` has exactly the model's names, shapes and dtypes
    (its values may be arrays or anything else with ``shape`` and ``dtype``, such as the declared
    members of :meth:`Checkpoint.declared`).

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
    if model is None and optimizer is None:
        return read_checkpoint(path).meta
    checkpoint = open_checkpoint(path)
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
    # The declared shapes are compared with the model before any weight is read.
    declared = {k[len(MODEL_PREFIX):]: m for k, m in checkpoint.declared(MODEL_PREFIX).items()}
    check_model_state(checkpoint.path, declared, model)
    state = checkpoint.model_state()
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
