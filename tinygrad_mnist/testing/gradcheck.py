"""Finite-difference checks of analytic gradients: :func:`gradcheck` and :func:`gradgradcheck`.

The *analytic* side is what the autograd engine computes, at the inputs' own
dtype.  The *numeric* side is a central difference that is **always computed
in float64**, on a float64 copy of the inputs, so a float32 function is
compared against an accurate reference rather than against float32 noise.

Default step and tolerances per dtype (the least precise dtype among the
checked inputs and the floating outputs decides):

=========  ======  ======  ======
dtype      eps     atol    rtol
=========  ======  ======  ======
float64    1e-6    1e-5    1e-3
float32    1e-4    1e-2    1e-2
float16    1e-3    5e-2    5e-2
=========  ======  ======  ======

An element passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.

Every entry of the Jacobian is compared when the outputs have at most
:data:`FULL_JACOBIAN_MAX_OUTPUTS` elements (one backward pass per output
element; the numeric side has every entry anyway).  Larger outputs are
compared through :data:`RANDOM_COTANGENTS` random cotangents ``u``, each with
its own tolerance ``atol * ||u|| + rtol * ||u * J[:, c]||`` (Euclidean norms of
the projection's terms): a single wrong entry then moves the projection by about
as much as the entry's own error, instead of hiding inside ``rtol`` times a sum
of hundreds of terms.
float64 matches torch's defaults.  For float32 the reference is float64, so
``eps`` can be small: ``1e-4`` keeps the central difference well inside the
default ``min_distance=1e-3`` that :func:`~tinygrad_mnist.testing.arrays`
keeps from non-differentiable points, while the truncation error (about
``eps**2 * f'''``) stays far below ``rtol``; ``atol = rtol = 1e-2`` leaves room
for float32 rounding in long chains of ops (observed errors on tanh, exp and
matmul are around 1e-6).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "GradcheckError",
    "gradcheck",
    "gradgradcheck",
    "DEFAULT_TOLERANCES",
    "FULL_JACOBIAN_MAX_OUTPUTS",
    "RANDOM_COTANGENTS",
]

#: ``dtype -> (eps, atol, rtol)`` used when the caller does not pass them.
DEFAULT_TOLERANCES: dict[np.dtype, tuple[float, float, float]] = {
    np.dtype(np.float64): (1e-6, 1e-5, 1e-3),
    np.dtype(np.float32): (1e-4, 1e-2, 1e-2),
    np.dtype(np.float16): (1e-3, 5e-2, 5e-2),
}

#: Outputs with at most this many elements (in total) get every entry of their
#: Jacobian checked (one backward pass per output element); one random
#: cotangent is checked besides (a one-hot cotangent cannot tell whether a
#: backward scales with its incoming gradient).
FULL_JACOBIAN_MAX_OUTPUTS = 1024

#: Larger outputs are checked through this many independent random normal
#: cotangents, each against its own tolerance.  A single entry off by 5% of
#: the others' size in a 2000-output Jacobian moves each projection past its
#: tolerance with probability about 0.8, so all of them miss it with
#: probability about 0.2**32.
RANDOM_COTANGENTS = 32


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` / :func:`gradgradcheck` when a gradient is wrong.

    The message names the input (position and ``.name``), the worst element
    (a tuple index into that input, or the projection number), the analytic
    and numeric values, the absolute and relative error and the tolerances.
    The same facts are attributes: ``input_index``, ``input_name``, ``index``,
    ``output_index``, ``output_element``, ``analytic``, ``numeric``,
    ``abs_error``, ``rel_error``, ``eps``, ``atol``, ``rtol``.

    Example:
        >>> import numpy as np
        >>> from tinygrad_mnist.testing import gradcheck
        >>> try:
        ...     gradcheck(lambda x: x.detach() * x, [np.array([1.0, 2.0])])
        ... except GradcheckError as err:
        ...     print(err.input_index, err.index, round(err.numeric, 6), err.analytic)
        0 (1,) 4.0 2.0
    """

    input_index: int | None = None
    input_name: str | None = None
    index: tuple[int, ...] | int | None = None
    output_index: int | None = None
    output_element: tuple[int, ...] | None = None
    analytic: float | None = None
    numeric: float | None = None
    abs_error: float | None = None
    rel_error: float | None = None
    eps: float | None = None
    atol: float | None = None
    rtol: float | None = None

    def __init__(self, message: str, **facts: Any) -> None:
        super().__init__(message)
        for key, value in facts.items():
            setattr(self, key, value)


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------


def _core():
    from tinygrad_mnist import Tensor, grad

    return Tensor, grad


def _is_float(dtype: np.dtype) -> bool:
    return np.dtype(dtype).kind == "f"


def _prepare_inputs(inputs: Sequence[Any]) -> list[Any]:
    """Tensors stay; float ndarrays/scalars become float64 leaves requiring grad;
    other ndarrays become constant Tensors; anything else passes through."""
    Tensor, _ = _core()
    if isinstance(inputs, (Tensor, np.ndarray)):
        inputs = [inputs]
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            out.append(x)
        elif isinstance(x, (np.ndarray, np.generic, float)) and not isinstance(x, (bool, np.bool_)):
            arr = np.asarray(x)
            if _is_float(arr.dtype):
                out.append(Tensor(arr.astype(np.float64), requires_grad=True))
            elif arr.dtype.kind in "iub":
                out.append(Tensor(arr))
            else:
                raise TypeError(f"gradcheck: unsupported input dtype {arr.dtype}")
        else:
            out.append(x)
    return out


def _is_checked(x: Any) -> bool:
    Tensor, _ = _core()
    return isinstance(x, Tensor) and x.requires_grad and _is_float(x.dtype)


def _leaf(x: Any, data: np.ndarray | None = None) -> Any:
    """A fresh leaf with ``x``'s flags and name (and ``data`` if given)."""
    Tensor, _ = _core()
    if not isinstance(x, Tensor):
        return x
    arr = np.array(x.data if data is None else data, copy=True)
    return Tensor(arr, requires_grad=bool(x.requires_grad) and _is_float(arr.dtype), dtype=arr.dtype, name=x.name)


def _as_outputs(result: Any) -> tuple[Any, ...]:
    Tensor, _ = _core()
    outs = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors; output {k} is {type(o).__name__}")
    return outs


def _describe_input(pos: int, x: Any) -> str:
    name = getattr(x, "name", None)
    label = f"input {pos}" + (f" ({name!r})" if name else "")
    return f"{label} of shape {tuple(x.shape)} and dtype {x.dtype}"


def _fmt(v: float) -> str:
    return f"{v:.10g}"


def _resolve_tolerances(dtypes: Sequence[np.dtype], eps, atol, rtol) -> tuple[float, float, float]:
    floats = [np.dtype(d) for d in dtypes if _is_float(d)]
    worst = min(floats, key=lambda d: np.finfo(d).bits) if floats else np.dtype(np.float64)
    d_eps, d_atol, d_rtol = DEFAULT_TOLERANCES.get(worst, DEFAULT_TOLERANCES[np.dtype(np.float64)])
    return (
        d_eps if eps is None else float(eps),
        d_atol if atol is None else float(atol),
        d_rtol if rtol is None else float(rtol),
    )


# ---------------------------------------------------------------------------
# the check
# ---------------------------------------------------------------------------


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    projections: int | None = None,
    seed: int = 0,
    *,
    check_grad_dtypes: bool = True,
) -> bool:
    """Check the analytic gradients of ``fn`` against central differences.

    Args:
        fn: takes the inputs (Tensors) positionally and returns a Tensor of
            any shape or a tuple of Tensors.  Non-floating outputs are ignored.
        inputs: a sequence of Tensors and/or arrays.  Float ndarrays (and
            Python floats) become float64 Tensors with ``requires_grad=True``;
            integer/bool arrays become constant Tensors; other objects are
            passed to ``fn`` unchanged.  Only Tensors that require grad and
            have a floating dtype are checked; every element of each is
            checked (unless ``projections``).
        eps: finite-difference step; ``None`` picks the per-dtype default of
            :data:`DEFAULT_TOLERANCES`.
        atol: absolute tolerance; ``None`` picks the per-dtype default.
        rtol: relative tolerance; ``None`` picks the per-dtype default.
        projections: if an int ``k``, check ``k`` random unit directions
            ``v`` per input instead of every element: the analytic
            ``dot(grad, v)`` against ``(f(x + eps v) - f(x - eps v)) / 2eps``.
            Use it for large inputs (cost: ``2k`` calls of ``fn`` per input).
        seed: seeds the random cotangents and directions (deterministic).
        check_grad_dtypes: also require each gradient to have its input's dtype.

    The analytic side is the vector-Jacobian product computed by
    :func:`tinygrad_mnist.grad`, on fresh copies of the inputs at their own
    dtype.  When the outputs have at most :data:`FULL_JACOBIAN_MAX_OUTPUTS`
    elements, every entry of the Jacobian is checked (one-hot cotangents),
    and the product with one random normal cotangent too (it catches a
    backward that ignores the scale of its incoming gradient, which one-hot
    cotangents cannot).  Larger outputs are checked through
    :data:`RANDOM_COTANGENTS` random normal cotangents, each against the
    Euclidean norm of its terms (see the module docstring), so one wrong
    entry does not hide in a sum.  The numeric side evaluates ``fn`` on
    float64 copies of the inputs (``fn`` should keep float64 as float64).
    Inputs the outputs do not depend on must get a zero gradient.

    Returns:
        ``True``, so it can be used as ``assert gradcheck(...)``.

    Raises:
        GradcheckError: on a mismatch, a non-finite value, or a gradient of
            the wrong shape/dtype, with a report naming input and element.
        ValueError: if no input requires grad.

    Example:
        >>> import numpy as np
        >>> from tinygrad_mnist import Tensor
        >>> x = Tensor(np.array([[0.5, -1.0], [2.0, 0.1]]), requires_grad=True, name="x")
        >>> w = np.array([0.3, -0.7])        # becomes a float64 leaf, also checked
        >>> gradcheck(lambda x, w: (x * w).tanh().sum(axis=1), [x, w])
        True
    """
    return _gradcheck(fn, inputs, eps, atol, rtol, projections, seed, check_grad_dtypes, "gradient")


def _gradcheck(
    fn, inputs, eps, atol, rtol, projections, seed, check_grad_dtypes, what, output_labels=None
) -> bool:
    Tensor, grad = _core()
    tool = "gradgradcheck" if output_labels else "gradcheck"
    inputs = _prepare_inputs(inputs)
    checked = [i for i, x in enumerate(inputs) if _is_checked(x)]
    if not checked:
        raise ValueError("gradcheck: no input is a floating-point Tensor with requires_grad=True; nothing to check")
    if projections is not None and (int(projections) != projections or projections < 1):
        raise ValueError(f"gradcheck: projections must be a positive int or None, got {projections!r}")

    # ---- analytic forward, at the inputs' own dtypes -----------------------
    a_inputs = [_leaf(x) for x in inputs]
    a_outs = _as_outputs(fn(*a_inputs))
    diff = [k for k, o in enumerate(a_outs) if _is_float(o.dtype)]
    if not diff:
        raise TypeError("gradcheck: fn returned no floating-point output; nothing to differentiate")
    sizes = [a_outs[k].size for k in diff]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    total = int(offsets[-1])
    eps, atol, rtol = _resolve_tolerances(
        [inputs[i].dtype for i in checked] + [a_outs[k].dtype for k in diff], eps, atol, rtol
    )
    rng = np.random.default_rng(seed)

    # ---- cotangents: rows of U, one row = one vector-Jacobian product -------
    # A random row is always included: one-hot rows alone cannot tell whether
    # a backward scales with its incoming gradient (it only ever sees 0 and 1).
    n_onehot = total if total <= FULL_JACOBIAN_MAX_OUTPUTS else 0
    random_rows = rng.standard_normal((1 if n_onehot else RANDOM_COTANGENTS, total))
    for j, k in enumerate(diff):  # round to the output dtype, use the same values on both sides
        seg = slice(offsets[j], offsets[j + 1])
        random_rows[:, seg] = random_rows[:, seg].astype(a_outs[k].dtype).astype(np.float64)
    U = np.vstack([np.eye(n_onehot, total), random_rows])
    n_rows = U.shape[0]

    # ---- directions per checked input (one-hot elements or projections) ----
    directions: dict[int, np.ndarray | None] = {}
    for i in checked:
        n = inputs[i].size
        if projections is None:
            directions[i] = None
        else:
            V = rng.standard_normal((int(projections), n))
            norms = np.linalg.norm(V, axis=1, keepdims=True)
            directions[i] = V / np.where(norms == 0, 1.0, norms)

    # ---- analytic VJPs -----------------------------------------------------
    needs = [j for j, k in enumerate(diff) if a_outs[k].requires_grad]
    targets = [a_inputs[i] for i in checked]
    analytic = {i: np.zeros((n_rows, inputs[i].size if projections is None else int(projections))) for i in checked}
    for s in range(n_rows):
        rows = [j for j in needs if np.any(U[s, offsets[j] : offsets[j + 1]] != 0)]
        if not rows:
            continue
        outs = [a_outs[diff[j]] for j in rows]
        cots = [
            Tensor(U[s, offsets[j] : offsets[j + 1]].reshape(a_outs[diff[j]].shape).astype(a_outs[diff[j]].dtype))
            for j in rows
        ]
        grads = grad(outs, targets, grad_outputs=cots, retain_graph=True, allow_unused=True)
        for i, g in zip(checked, grads):
            if g is None:
                continue
            g_arr = np.asarray(g.data) if isinstance(g, Tensor) else np.asarray(g)
            x = inputs[i]
            if g_arr.shape != tuple(x.shape):
                raise GradcheckError(
                    f"{tool}: the analytic {what} of {_describe_input(i, x)} has shape {g_arr.shape}, "
                    f"expected {tuple(x.shape)}",
                    input_index=i,
                    input_name=x.name,
                )
            if check_grad_dtypes and g_arr.dtype != x.dtype:
                raise GradcheckError(
                    f"{tool}: the analytic {what} of {_describe_input(i, x)} has dtype {g_arr.dtype}, "
                    f"expected {x.dtype} (pass check_grad_dtypes=False to allow this)",
                    input_index=i,
                    input_name=x.name,
                )
            flat = g_arr.astype(np.float64).ravel()
            V = directions[i]
            analytic[i][s] = flat if V is None else V @ flat

    # ---- numeric VJPs, in float64 -----------------------------------------
    base = [np.asarray(x.data, dtype=np.float64) if isinstance(x, Tensor) and _is_float(x.dtype) else None for x in inputs]
    low_precision_outputs: set[str] = set()

    def evaluate(pos: int, data: np.ndarray) -> np.ndarray:
        args = []
        for q, x in enumerate(inputs):
            if base[q] is None:
                args.append(_leaf(x))
            else:
                args.append(_leaf(x, data if q == pos else base[q]))
        outs = _as_outputs(fn(*args))
        if len(outs) != len(a_outs):
            raise ValueError(f"gradcheck: fn returned {len(outs)} outputs on float64 inputs but {len(a_outs)} before")
        flat = []
        for k in diff:
            o = outs[k]
            if tuple(o.shape) != tuple(a_outs[k].shape):
                raise ValueError(
                    f"gradcheck: output {k} has shape {tuple(o.shape)} on float64 inputs but {tuple(a_outs[k].shape)} before"
                )
            if o.dtype != np.float64:
                low_precision_outputs.add(f"output {k} is {o.dtype}")
            flat.append(np.asarray(o.data, dtype=np.float64).ravel())
        return np.concatenate(flat) if flat else np.zeros(0)

    # Per row of U: the Euclidean norm of the cotangent, and its squares for the terms' norms.
    row_norms = np.linalg.norm(U, axis=1)
    U_squared = U * U
    numeric: dict[int, np.ndarray] = {}
    tolerances: dict[int, np.ndarray] = {}
    for i in checked:
        x0 = base[i]
        V = directions[i]
        n_cols = x0.size if V is None else V.shape[0]
        N = np.zeros((n_rows, n_cols))
        T = np.zeros((n_rows, n_cols))
        for c in range(n_cols):
            if V is None:
                step = np.zeros(x0.size)
                step[c] = eps
            else:
                step = eps * V[c]
            step = step.reshape(x0.shape)
            with np.errstate(all="ignore"):
                d = (evaluate(i, x0 + step) - evaluate(i, x0 - step)) / (2 * eps)
            finite = np.all(np.isfinite(d))
            N[:, c] = U @ d if finite else _nan_safe_matvec(U, d)
            # The tolerance of each compared number, from the terms it sums: atol + rtol * |numeric|
            # for a one-hot row (a single Jacobian entry), the norms of the terms for a random one.
            with np.errstate(all="ignore"):
                squares = U_squared @ (d * d) if finite else _nan_safe_matvec(U_squared, d * d)
                T[:, c] = atol * row_norms + rtol * np.sqrt(squares)
        numeric[i] = N
        tolerances[i] = T

    # ---- compare -----------------------------------------------------------
    for i in checked:
        _compare(
            i, inputs[i], analytic[i], numeric[i], tolerances[i], diff, offsets, a_outs, n_onehot, projections,
            eps, atol, rtol, seed, what, low_precision_outputs, output_labels,
        )
    return True


def _nan_safe_matvec(U: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``U @ d`` where zero weights do not turn a non-finite entry of d into nan."""
    out = np.zeros(U.shape[0])
    with np.errstate(all="ignore"):
        for s in range(U.shape[0]):
            nz = U[s] != 0
            out[s] = np.sum(U[s, nz] * d[nz])
    return out


def _compare(
    i, x, A, N, T, diff, offsets, a_outs, n_onehot, projections, eps, atol, rtol, seed, what, notes, output_labels
) -> None:
    if A.size == 0:
        return
    bad_finite = ~(np.isfinite(A) & np.isfinite(N))
    with np.errstate(all="ignore"):
        err = np.abs(A - N)
        ratio = np.where(bad_finite, np.inf, err / T)
    failing = ratio > 1
    if not failing.any():
        return
    # Report the worst entry, preferring the one-hot rows (they name an output element).
    rows = n_onehot if failing[:n_onehot].any() else ratio.shape[0]
    s, c = np.unravel_index(int(np.argmax(ratio[:rows])), ratio[:rows].shape)
    if bad_finite.any():
        s, c = np.argwhere(bad_finite)[0]
    a, n = float(A[s, c]), float(N[s, c])
    abs_err = abs(a - n)
    rel_err = abs_err / abs(n) if n != 0 else math.inf
    name = getattr(x, "name", None)
    tool = "gradgradcheck" if output_labels else "gradcheck"
    # where in the input
    if projections is None:
        index: Any = tuple(int(v) for v in np.unravel_index(int(c), tuple(x.shape)))
        where = f"at index {index}"
        n_bad = int(failing.any(axis=0).sum())
        scope = f"{n_bad} of {x.size} element(s) fail"
    else:
        index = int(c)
        where = f"along random unit direction #{index} (of {projections}, seed={seed})"
        n_bad = int(failing.any(axis=0).sum())
        scope = f"{n_bad} of {projections} direction(s) fail"
    # with respect to which output (a one-hot row of U) or a random cotangent
    output_index = output_element = None
    full = s < n_onehot
    if full:
        j = int(np.searchsorted(offsets, int(s), side="right") - 1)
        output_index = diff[j]
        shape_k = tuple(a_outs[output_index].shape)
        output_element = tuple(int(v) for v in np.unravel_index(int(s - offsets[j]), shape_k))
        out_label = output_labels[output_index] if output_labels else f"output {output_index}"
        in_label = name or f"input {i}"
        num = out_label + (f"[{', '.join(map(str, output_element))}]" if output_element else "")
        den = in_label + (f"[{', '.join(map(str, index))}]" if projections is None and index else "")
        wrt = f"d({num}) / d({den})" + ("" if projections is None else f" along direction #{index}")
    else:
        number = int(s - n_onehot)
        wrt = f"the vector-Jacobian product with random normal cotangent #{number} (seed={seed})"
    lines = []
    if bad_finite[s, c]:
        which = []
        if not math.isfinite(n):
            which.append(f"numeric value is {n} (fn is not finite/differentiable within eps={eps:g} of the input)")
        if not math.isfinite(a):
            which.append(f"analytic value is {a}")
        lines.append(f"{tool}: non-finite {what} for {_describe_input(i, x)} {where}: " + "; ".join(which))
    else:
        lines.append(f"{tool}: {what} mismatch for {_describe_input(i, x)} {where}")
    lines.append(f"  entry:     {wrt}" if full else f"  compared:  {wrt}")
    lines.append(f"  analytic:  {_fmt(a)}")
    lines.append(f"  numeric:   {_fmt(n)}   (float64 central difference, eps={eps:g})")
    lines.append(f"  abs error: {abs_err:.3g}   rel error: {rel_err:.3g}")
    if full:
        lines.append(f"  tolerance: |analytic - numeric| <= atol + rtol*|numeric| with atol={atol:g}, rtol={rtol:g}")
    else:
        lines.append(
            f"  tolerance: {float(T[s, c]):.3g} = atol*||u|| + rtol*||u * column|| (the norms of the projection's "
            f"terms) with atol={atol:g}, rtol={rtol:g}"
        )
    lines.append(f"  {scope}")
    if notes:
        lines.append(
            "  note: fn did not keep float64 inputs float64 (" + ", ".join(sorted(notes)) + "), "
            "so the numeric reference is less precise than intended"
        )
    raise GradcheckError(
        "\n".join(lines),
        input_index=i,
        input_name=name,
        index=index,
        output_index=output_index,
        output_element=output_element,
        analytic=a,
        numeric=n,
        abs_error=abs_err,
        rel_error=rel_err,
        eps=eps,
        atol=atol,
        rtol=rtol,
    )


# ---------------------------------------------------------------------------
# second order
# ---------------------------------------------------------------------------


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    grad_outputs: Sequence[Any] | None = None,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    projections: int | None = None,
    seed: int = 0,
    *,
    check_grad_dtypes: bool = True,
) -> bool:
    """Check second derivatives: :func:`gradcheck` of the gradient of ``fn``.

    Runs :func:`gradcheck` on ``g(*inputs, *grad_outputs) = grad(fn(*inputs),
    checked_inputs, grad_outputs, create_graph=True)``, i.e. it checks that
    the vector-Jacobian product built with ``create_graph=True`` is itself
    correctly differentiable with respect to the inputs *and* to the
    cotangents ``grad_outputs``.  An input the first gradient does not
    depend on gets a zero gradient.  Failure reports call the outputs of
    that function ``grad_<name>`` (``grad_input<i>`` for unnamed inputs).

    It does not re-check the first derivative itself (a consistently wrong
    backward is differentiated consistently): run :func:`gradcheck` too.

    Args:
        grad_outputs: one cotangent per output of ``fn`` (``None`` entries, or
            ``None`` overall, draw standard normal ones from ``seed`` with
            the output's dtype).  Arrays become Tensors with
            ``requires_grad=True``; Tensors are used as given (and checked
            only if they require grad).  They are named
            ``grad_outputs[k]`` in failure reports when they have no name.

    The other arguments are those of :func:`gradcheck`.

    Example:
        >>> import numpy as np
        >>> x = np.array([0.3, -1.2, 2.0])
        >>> gradgradcheck(lambda x: (x * x * x).sum(), [x])
        True
    """
    Tensor, grad = _core()
    inputs = _prepare_inputs(inputs)
    checked = [i for i, x in enumerate(inputs) if _is_checked(x)]
    if not checked:
        raise ValueError("gradgradcheck: no input is a floating-point Tensor with requires_grad=True; nothing to check")
    probe = _as_outputs(fn(*[_leaf(x) for x in inputs]))
    diff = [k for k, o in enumerate(probe) if _is_float(o.dtype)]
    if grad_outputs is None:
        grad_outputs = [None] * len(probe)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(probe):
        raise ValueError(f"gradgradcheck: got {len(grad_outputs)} grad_outputs for {len(probe)} outputs of fn")
    rng = np.random.default_rng(seed)
    cotangents = []
    for k in diff:
        o, u = probe[k], grad_outputs[k]
        if u is None:
            u = Tensor(rng.standard_normal(o.shape).astype(o.dtype), requires_grad=True, name=f"grad_outputs[{k}]")
        elif not isinstance(u, Tensor):
            u = Tensor(np.asarray(u, dtype=o.dtype), requires_grad=True, name=f"grad_outputs[{k}]")
        if tuple(u.shape) != tuple(o.shape):
            raise ValueError(f"gradgradcheck: grad_outputs[{k}] has shape {tuple(u.shape)}, output {k} has {tuple(o.shape)}")
        cotangents.append(u)
    n_in = len(inputs)

    def first_derivative(*args):
        xs, us = args[:n_in], args[n_in:]
        outs = _as_outputs(fn(*xs))
        pairs = [(outs[k], u) for k, u in zip(diff, us) if outs[k].requires_grad]
        targets = [xs[i] for i in checked]
        if pairs:
            grads = grad(
                [o for o, _ in pairs], targets, grad_outputs=[u for _, u in pairs], create_graph=True, allow_unused=True
            )
        else:
            grads = [None] * len(targets)
        return tuple(
            g if g is not None else Tensor(np.zeros(t.shape, dtype=t.dtype)) for g, t in zip(grads, targets)
        )

    labels = [f"grad_{inputs[i].name}" if inputs[i].name else f"grad_input{i}" for i in checked]
    return _gradcheck(
        first_derivative, list(inputs) + cotangents, eps, atol, rtol, projections, seed, check_grad_dtypes,
        "second-order gradient (gradient of the create_graph=True vector-Jacobian product)",
        output_labels=labels,
    )
