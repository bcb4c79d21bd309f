"""The ``Optimizer`` base class: parameter groups, per-parameter state, and saving/loading both."""
from __future__ import annotations

from typing import Any, Dict, Iterator, List, Tuple

import numpy as np

from ..autograd import recording, saved, teaching
from ..errors import CheckpointError, ConfigError
from ..tensor import Tensor


class Optimizer:
    """Holds parameter groups (dicts with "params" and hyperparameters) and per-parameter state.

    ``params`` is an iterable of Tensors (one group) or of dicts, each with "params" and optional
    per-group hyperparameters; ``defaults`` fills the rest. Per-parameter state (momentum buffers, ...)
    is keyed by the parameter's position across all groups, which is also how ``state_dict`` names it.
    Subclasses implement ``_update`` (the arithmetic of one step; ``step`` wraps it, so every optimizer
    notes its step for teaching mode and hands itself to a jit recording the same way) and may check
    hyperparameters in ``_check_group``; state entries named in ``scalar_state`` (a step count) are
    integers, every other entry an array of its parameter's shape and dtype.

    >>> from tinygrad_mnist.nn import Parameter
    >>> opt = Optimizer([Parameter([1.0])], {"lr": 0.1})
    >>> opt.param_groups[0]["lr"], len(opt.param_groups[0]["params"])
    (0.1, 1)
    """

    #: Per-parameter state entries that hold an integer (such as Adam's step count) instead of an array.
    scalar_state: Tuple[str, ...] = ()

    def __init__(self, params, defaults: Dict[str, Any]):
        self.defaults = dict(defaults)
        self.param_groups: List[Dict[str, Any]] = []
        self.state: Dict[int, Dict[str, np.ndarray]] = {}
        self._scratch_arrays: Dict[int, List[np.ndarray]] = {}  # per parameter position: update temporaries
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors; wrap a single one in a list"
            )
        groups = list(params)
        if not groups:
            raise ConfigError(f"{type(self).__name__} got no parameters; pass model.parameters()")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: Dict[str, Any]) -> None:
        """Add a group: a dict with "params" (Tensors) and optional hyperparameters.

        >>> from tinygrad_mnist.nn import Parameter
        >>> opt = Optimizer([Parameter([1.0])], {"lr": 0.1})
        >>> opt.add_param_group({"params": [Parameter([2.0])], "lr": 0.01})
        >>> [g["lr"] for g in opt.param_groups]
        [0.1, 0.01]
        """
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{type(self).__name__}: a parameter group is a dict with a 'params' entry")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        unknown = sorted(set(group) - set(self.defaults) - {"params"})
        if unknown:
            raise ConfigError(
                f"{type(self).__name__}: unknown option(s) {', '.join(unknown)}; known: {', '.join(self.defaults)}"
            )
        present = {id(p) for g in self.param_groups for p in g["params"]}
        for position, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameter {position} is a {type(p).__name__}, not a Tensor")
            if not p.requires_grad or not p.is_leaf:
                raise ValueError(
                    f"{type(self).__name__}: parameter {position} (shape {p.shape}) must be a leaf tensor with "
                    "requires_grad=True, such as an nn.Parameter"
                )
            if id(p) in present:
                raise ValueError(f"{type(self).__name__}: parameter {position} (shape {p.shape}) appears twice")
            present.add(id(p))
        complete = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}}
        self._check_group(complete, loading=False)
        complete["params"] = params
        self.param_groups.append(complete)

    def _check_group(self, group: Dict[str, Any], loading: bool) -> None:
        """Validate and normalise one group's hyperparameters in place (raise ConfigError)."""

    def zero_grad(self) -> None:
        """Forget the gradients of all parameters (``.grad = None``)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient from its ``.grad``, in place.

        A parameter that a live graph still holds (``backward(retain_graph=True)``, or a forward pass
        not yet differentiated) is updated all the same; a later backward pass through that graph
        raises ``ModifiedError`` instead of using the new values (``autograd/saved.py``). While a
        jitted step is recorded, the update is handed to the recording, which replays it as one call
        that reads the hyperparameters (a scheduled learning rate) when it runs.
        """
        if not recording.opaque(self._step, (p for group in self.param_groups for p in group["params"])):
            self._step()

    def _step(self) -> None:
        opened = saved.begin_updates([p.data for g in self.param_groups for p in g["params"]]) if saved.any_held() else ()
        try:
            self._update()
        finally:
            if opened:
                saved.end_updates(opened)
        self._note_step()

    def _update(self) -> None:
        """The arithmetic of one step on ``p.data`` and ``self.state`` (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update()")

    def _with_gradients(self) -> Iterator[Tuple[Dict[str, Any], int, np.ndarray, np.ndarray]]:
        """``(group, index, weights, gradient)`` for every parameter that has a gradient, ``index``
        counting every parameter across the groups (the key of ``self.state``); a gradient must have
        its parameter's shape and dtype.

        >>> from tinygrad_mnist import Tensor
        >>> from tinygrad_mnist.nn import Parameter
        >>> a, b = Parameter([1.0]), Parameter([2.0])
        >>> b.grad = Tensor([0.5])
        >>> [(index, g.tolist()) for _, index, _, g in Optimizer([a, b], {"lr": 0.1})._with_gradients()]
        [(1, [0.5])]
        """
        index = -1
        for group in self.param_groups:
            for p in group["params"]:
                index += 1
                if p.grad is None:
                    continue
                weights, g = p.data, p.grad.data
                if g.shape != weights.shape or g.dtype != weights.dtype:
                    raise ValueError(
                        f"{type(self).__name__}: parameter {index} is {weights.dtype}{list(weights.shape)} but its "
                        f"gradient is {g.dtype}{list(g.shape)}; a gradient must match its parameter"
                    )
                yield group, index, weights, g

    def _scratch(self, index: int, like: np.ndarray, count: int) -> List[np.ndarray]:
        """``count`` arrays shaped like parameter ``index`` for the temporaries of its update, made on
        first use and reused by every step, so that an update allocates nothing.

        This is what "fused" means for an update written in NumPy: every arithmetic operation of the
        update rule is one pass over the parameter (``np.multiply(g, beta, out=scratch)``), none makes
        a temporary array, and p.grad (the user's) is never written.

        >>> from tinygrad_mnist.nn import Parameter
        >>> opt = Optimizer([Parameter([1.0, 2.0])], {"lr": 0.1})
        >>> first = opt._scratch(0, np.zeros(2), 2)
        >>> len(first), opt._scratch(0, np.zeros(2), 2)[0] is first[0]
        (2, True)
        """
        arrays = self._scratch_arrays.get(index, [])
        if len(arrays) < count or arrays[0].shape != like.shape or arrays[0].dtype != like.dtype:
            if arrays and (arrays[0].shape != like.shape or arrays[0].dtype != like.dtype):
                arrays = []
            arrays = arrays + [np.empty_like(like) for _ in range(count - len(arrays))]
            self._scratch_arrays[index] = arrays
        return arrays

    def _note_step(self) -> None:
        """Tell teaching mode which gradients this step used, so that a ``backward()`` adding onto
        them (a loop without ``zero_grad()``) is pointed out."""
        teaching.mark_used_by_step(p for group in self.param_groups for p in group["params"])

    def state_dict(self) -> Dict[str, Any]:
        """JSON-able hyperparameters plus copies of the state arrays.

        ``{"param_groups": [{hyperparameters..., "params": [positions]}], "state": {"0": {name: array}}}``

        >>> from tinygrad_mnist.nn import Parameter
        >>> Optimizer([Parameter([1.0])], {"lr": 0.1}).state_dict()
        {'param_groups': [{'lr': 0.1, 'params': [0]}], 'state': {}}
        """
        groups, position = [], 0
        for group in self.param_groups:
            count = len(group["params"])
            saved = {k: v for k, v in group.items() if k != "params"}
            saved["params"] = list(range(position, position + count))
            groups.append(saved)
            position += count
        state = {str(index): {name: value.copy() if isinstance(value, np.ndarray) else value
                              for name, value in entries.items()}
                 for index, entries in sorted(self.state.items())}
        return {"param_groups": groups, "state": state}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restore hyperparameters and state saved by ``state_dict`` (for the same parameter layout).

        Nothing changes unless everything fits.
        """
        name = type(self).__name__
        try:
            saved_groups = list(state_dict["param_groups"])
            saved_state = dict(state_dict["state"])
        except (KeyError, TypeError):
            raise CheckpointError(f"{name}.load_state_dict needs a dict with 'param_groups' and 'state'") from None
        if len(saved_groups) != len(self.param_groups):
            raise CheckpointError(
                f"{name}: the state has {len(saved_groups)} parameter group(s), this optimizer {len(self.param_groups)}"
            )
        new_groups, params = [], []
        for number, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved.get("params", ())) != len(group["params"]):
                raise CheckpointError(
                    f"{name}: group {number} has {len(saved.get('params', ()))} parameter(s) in the state "
                    f"but {len(group['params'])} here"
                )
            hyper = {**self.defaults, **{k: v for k, v in saved.items() if k != "params"}}
            unknown = sorted(set(hyper) - set(self.defaults))
            if unknown:
                raise CheckpointError(f"{name}: the state has unknown option(s) {', '.join(unknown)}")
            try:
                self._check_group(hyper, loading=True)
            except ConfigError as error:
                raise CheckpointError(f"{name}: the state holds invalid hyperparameters: {error}") from None
            new_groups.append(hyper)
            params.extend(group["params"])
        new_state: Dict[int, Dict[str, np.ndarray]] = {}
        for key, entries in saved_state.items():
            index = int(key)
            if not 0 <= index < len(params):
                raise CheckpointError(f"{name}: the state names parameter {key}, but there are {len(params)}")
            p = params[index]
            new_state[index] = {}
            for entry, value in entries.items():
                array = np.asarray(value)
                if entry in self.scalar_state:
                    if array.shape != () or array.dtype.kind not in "iu" or array < 0:
                        raise CheckpointError(f"{name}: {entry} of parameter {key} must be an integer >= 0, got {value!r}")
                    new_state[index][entry] = int(array)
                    continue
                if array.shape != p.shape or array.dtype != p.dtype:
                    raise CheckpointError(
                        f"{name}: {entry} of parameter {key} is {array.dtype}{list(array.shape)} in the state "
                        f"but the parameter is {p.dtype}{list(p.shape)}"
                    )
                new_state[index][entry] = array.copy()
        for group, hyper in zip(self.param_groups, new_groups):
            group.update(hyper)
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            settings = ", ".join(f"{k}={v!r}" for k, v in group.items() if k != "params")
            lines.append(f"  group {number}: {len(group['params'])} params, {settings}")
        return "\n".join(lines) + "\n)"

