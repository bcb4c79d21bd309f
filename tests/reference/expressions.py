"""A hypothesis strategy for random scalar-valued expressions that run on Tensors and HyperDuals.

An ``Expression`` is a list of steps; each step reads earlier nodes (the inputs first) and appends
one new node, using only calls that ``Tensor`` and ``HyperDual`` share. While drawing, the steps
are evaluated (real parts only) so the generator can keep every value in a safe domain: ``log`` and
``sqrt`` only see ``sigmoid(x) + 0.5`` or ``x * x + 1``, divisions divide by such positive
denominators, and a node whose values grow past ``LIMIT`` is rescaled by a constant.

Shapes: all nodes keep shapes that broadcast against the inputs' common shape (a suffix of it with
some sides 1), so any two nodes can be combined. One extra input is a square matrix for ``@``.

>>> from hypothesis import find
>>> expression = find(expressions(min_steps=20), lambda e: True)
>>> len(expression.steps) >= 20
True
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Sequence, Tuple

import numpy as np
from hyperdual import HyperDual
from hypothesis import strategies as st

from tinygrad_mnist.nn import functional as F
from tinygrad_mnist.testing.strategies import arrays, broadcastable_shapes

LIMIT = 4.0
# Huge logits for logsumexp steps: its rules must work on differences, not cancel.
HUGE = 1e4


def softplus(x):
    """``softplus`` of a Tensor (an op of nn.functional) or of a HyperDual (its own method)."""
    return x.softplus() if isinstance(x, HyperDual) else F.softplus(x)


@st.composite
def inputs_with_zeros(draw, shape, **options):
    """Arrays from ``arrays`` with some elements exactly 0, the special point of pow and softplus."""
    a = np.array(draw(arrays(shape, **options)))
    for i in range(a.size):
        if draw(st.integers(0, 3)) == 0:
            a.flat[i] = 0.0
    return a


@dataclass(frozen=True)
class Step:
    """One operation: ``apply(nodes)`` returns the new node; ``text`` describes it for reports."""

    text: str
    apply: Callable[[list], object]


@dataclass(frozen=True)
class Expression:
    """Inputs (float64 arrays), steps, and the final reduction to a scalar."""

    inputs: Tuple[np.ndarray, ...]
    steps: Tuple[Step, ...]
    output: Step

    def evaluate(self, inputs: Sequence):
        """Run the expression on Tensors or HyperDuals (one per input, same order)."""
        nodes = list(inputs)
        for step in self.steps:
            nodes.append(step.apply(nodes))
        return self.output.apply(nodes)

    def __repr__(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self.inputs)
        lines = [f"Expression(inputs of shapes {shapes}):"]
        lines += [f"  n{len(self.inputs) + i} = {s.text}" for i, s in enumerate(self.steps)]
        lines.append(f"  out = {self.output.text}")
        return "\n".join(lines)


def _compatible(shape, full) -> bool:
    """``shape`` is a suffix of ``full`` with some sides replaced by 1."""
    if len(shape) > len(full):
        return False
    tail = full[len(full) - len(shape):]
    return all(s in (1, f) for s, f in zip(shape, tail))


def _unary_step(draw, index: int, value: np.ndarray, kinds: Tuple[str, ...] = ()) -> Step:
    """A smooth elementwise function of node ``index``, kept inside its domain (one of ``kinds`` if given)."""
    if not kinds:
        bounded = float(np.max(np.abs(value), initial=0.0)) <= 3.0
        kinds = ("tanh", "sigmoid", "neg", "affine", "log_sigmoid", "log_square", "sqrt_square", "sqrt_sigmoid",
                 "pow_square", "square", "reciprocal", "rpow", "softplus", "pow_int") + (("exp", "cube") if bounded else ())
    kind = draw(st.sampled_from(kinds))
    i = index
    if kind == "affine":
        scale, shift = draw(st.sampled_from([0.5, -1.5, 2.0])), draw(st.sampled_from([0.0, 1.0, -0.25]))
        return Step(f"{scale} * n{i} + {shift}", lambda n: scale * n[i] + shift)
    if kind == "pow_int":
        # x ** n at any x, 0 included (inputs have exact zeros): every derivative of a monomial at 0.
        p = draw(st.sampled_from([0, 1, 2, 3, 4]))
        return Step(f"n{i} ** {p}", lambda n: n[i] ** p)
    if kind == "pow_square":
        p = draw(st.sampled_from([0.5, -1.5, 2.5, 3]))
        return Step(f"(n{i} * n{i} + 1) ** {p}", lambda n: (n[i] * n[i] + 1.0) ** p)
    texts = {
        "tanh": (f"tanh(n{i})", lambda n: n[i].tanh()),
        "sigmoid": (f"sigmoid(n{i})", lambda n: n[i].sigmoid()),
        "neg": (f"-n{i}", lambda n: -n[i]),
        "log_sigmoid": (f"log(sigmoid(n{i}) + 0.5)", lambda n: (n[i].sigmoid() + 0.5).log()),
        "log_square": (f"log(n{i} * n{i} + 1)", lambda n: (n[i] * n[i] + 1.0).log()),
        "sqrt_square": (f"sqrt(n{i} * n{i} + 1)", lambda n: (n[i] * n[i] + 1.0).sqrt()),
        "sqrt_sigmoid": (f"sqrt(sigmoid(n{i}) + 0.5)", lambda n: (n[i].sigmoid() + 0.5).sqrt()),
        "square": (f"n{i} ** 2", lambda n: n[i] ** 2),
        "reciprocal": (f"1 / (n{i} * n{i} + 1)", lambda n: 1.0 / (n[i] * n[i] + 1.0)),
        "rpow": (f"2 ** tanh(n{i})", lambda n: 2.0 ** n[i].tanh()),
        "exp": (f"exp(n{i})", lambda n: n[i].exp()),
        "softplus": (f"softplus(n{i})", lambda n: softplus(n[i])),
        "cube": (f"n{i} * n{i} * n{i}", lambda n: n[i] * n[i] * n[i]),
    }
    text, fn = texts[kind]
    return Step(text, fn)


def _binary_step(draw, i: int, j: int) -> Step:
    kind = draw(st.sampled_from(["add", "sub", "mul", "div_square", "div_sigmoid", "pow_tensor"]))
    steps = {
        "add": (f"n{i} + n{j}", lambda n: n[i] + n[j]),
        "sub": (f"n{i} - n{j}", lambda n: n[i] - n[j]),
        "mul": (f"n{i} * n{j}", lambda n: n[i] * n[j]),
        "div_square": (f"n{i} / (n{j} * n{j} + 1)", lambda n: n[i] / (n[j] * n[j] + 1.0)),
        "div_sigmoid": (f"n{i} / (sigmoid(n{j}) + 0.5)", lambda n: n[i] / (n[j].sigmoid() + 0.5)),
        "pow_tensor": (f"(sigmoid(n{i}) + 0.5) ** tanh(n{j})", lambda n: (n[i].sigmoid() + 0.5) ** n[j].tanh()),
    }
    text, fn = steps[kind]
    return Step(text, fn)


def _reduction_step(draw, i: int, shape: tuple) -> Step:
    """sum / mean / logsumexp over some axes; keepdims unless only leading axes go (shape stays a suffix)."""
    ndim = len(shape)
    kind = draw(st.sampled_from(["sum", "mean", "logsumexp", "logsumexp_huge"]))
    if kind == "logsumexp_huge":
        # logsumexp(n + 1e4) - 1e4: the same function, evaluated on huge, close values.
        reduced = tuple(range(ndim)) if ndim else None
        return Step(f"logsumexp(n{i} + {HUGE}, axis={reduced}, keepdims=True) - {HUGE}",
                    lambda n: (n[i] + HUGE).logsumexp(axis=reduced, keepdims=True) - HUGE)
    if ndim == 0:
        return Step(f"{kind}(n{i})", lambda n: getattr(n[i], kind)())
    reduced = draw(st.lists(st.integers(0, ndim - 1), unique=True, min_size=1, max_size=ndim))
    axis = tuple(a - ndim if draw(st.booleans()) else a for a in reduced)
    leading = sorted(reduced) == list(range(len(reduced)))
    keepdims = draw(st.booleans()) if leading else True
    if len(axis) == 1 and draw(st.booleans()):
        axis = axis[0]
    return Step(f"{kind}(n{i}, axis={axis}, keepdims={keepdims})", lambda n: getattr(n[i], kind)(axis=axis, keepdims=keepdims))


def _movement_step(draw, i: int, shape: tuple, j: int, other_shape: tuple) -> Step:
    """Linear rearrangements that come back to a compatible shape, mixed with other ops on the way."""
    ndim = len(shape)
    kinds = ["shuffle", "newaxis"]
    if ndim >= 1:
        kinds += ["reverse", "transpose_mul"]
    if ndim >= 2:
        kinds.append("swapaxes")
    if np.prod(shape) == np.prod(other_shape):
        kinds.append("inner")
    kind = draw(st.sampled_from(kinds))
    if kind == "shuffle":
        # Any integer array of the right length: repeated indices make gradients add up.
        size = int(np.prod(shape))
        index = np.array(draw(st.lists(st.integers(0, size - 1), min_size=size, max_size=size)), dtype=np.intp)
        return Step(f"n{i}.reshape(-1)[{index.tolist()}].reshape({shape})", lambda n: n[i].reshape(-1)[index].reshape(shape))
    if kind == "newaxis":
        return Step(f"n{i}[None].sum(axis=0)", lambda n: n[i][None].sum(axis=0))
    if kind == "reverse":
        axis = draw(st.integers(0, ndim - 1))
        key = (slice(None),) * axis + (slice(None, None, -1),)
        return Step(f"n{i}[{key}]", lambda n: n[i][key])
    if kind == "transpose_mul":
        perm = tuple(draw(st.permutations(range(ndim))))
        inverse = tuple(int(a) for a in np.argsort(perm))
        return Step(
            f"(n{i}.transpose({perm}) * tanh(n{i}).transpose({perm})).transpose({inverse})",
            # One permutation argument (NumPy's form): two separate ints are refused as PyTorch's swap.
            lambda n: (n[i].transpose(perm) * n[i].tanh().transpose(perm)).transpose(inverse),
        )
    if kind == "swapaxes":
        return Step(f"n{i}.swapaxes(-1, -2).T.T.swapaxes(-2, -1)", lambda n: n[i].swapaxes(-1, -2).T.T.swapaxes(-2, -1))
    return Step(f"n{i}.reshape(-1) @ n{j}.reshape(-1)", lambda n: n[i].reshape(-1) @ n[j].reshape(-1))


def _matmul_step(draw, i: int, shape: tuple, weight: int, side: int) -> Step:
    """``x @ W`` with the square matrix input (its first row only when x's last side is 1)."""
    if shape[-1] == side:
        if len(shape) == 1 and draw(st.booleans()):
            return Step(f"n{weight} @ n{i}", lambda n: n[weight] @ n[i])
        return Step(f"n{i} @ n{weight}", lambda n: n[i] @ n[weight])
    return Step(f"n{i} @ n{weight}[:1]", lambda n: n[i] @ n[weight][:1])


@st.composite
def expressions(draw, min_steps: int = 20, max_steps: int = 28, num_inputs: int = 3) -> Expression:
    """Random scalar-valued expressions over ``num_inputs`` broadcastable float64 inputs plus a
    square matrix, with ``min_steps..max_steps`` steps (each one or more primitive ops)."""
    shapes = draw(broadcastable_shapes(num_inputs, min_dims=0, max_dims=3, max_side=3))
    full = shapes.result
    inputs: List[np.ndarray] = [draw(inputs_with_zeros(s, min_value=-2.0, max_value=2.0)) for s in shapes]
    weight_index = None
    if full:
        weight_index = len(inputs)
        inputs.append(draw(arrays((full[-1], full[-1]), min_value=-1.0, max_value=1.0)))
    values = [HyperDual(a) for a in inputs]
    pool = [k for k in range(len(inputs)) if k != weight_index]  # nodes with compatible shapes
    steps: List[Step] = []
    for _ in range(draw(st.integers(min_steps, max_steps))):
        # Prefer recent nodes so the expression gets deep, not just wide.
        i = pool[-1 - draw(st.integers(0, min(3, len(pool) - 1)))]
        j = draw(st.sampled_from(pool))
        kinds = ["unary", "unary", "binary", "binary", "reduction", "movement", "at_zero"]
        if weight_index is not None and values[i].ndim >= 1:
            kinds.append("matmul")
        kind = draw(st.sampled_from(kinds))
        if kind == "at_zero":
            # An input (they have exact zeros) through x ** n or softplus: their special point.
            # Added to a recent node, so the expression stays one deep chain.
            k = draw(st.sampled_from([k for k in range(len(inputs)) if k != weight_index]))
            inner = _unary_step(draw, k, values[k].real, kinds=("pow_int", "softplus"))
            step = Step(f"n{i} + {inner.text}", lambda n, i=i, inner=inner: n[i] + inner.apply(n))
        elif kind == "unary":
            step = _unary_step(draw, i, values[i].real)
        elif kind == "binary":
            step = _binary_step(draw, i, j)
        elif kind == "reduction":
            step = _reduction_step(draw, i, values[i].shape)
        elif kind == "movement":
            step = _movement_step(draw, i, values[i].shape, j, values[j].shape)
        else:
            step = _matmul_step(draw, i, values[i].shape, weight_index, full[-1])
        value = step.apply(values)
        largest = float(np.max(np.abs(value.real), initial=0.0))
        if largest > LIMIT:
            inner, scale = step, LIMIT / largest
            step = Step(f"({inner.text}) * {scale!r}", lambda n, inner=inner, scale=scale: inner.apply(n) * scale)
            value = step.apply(values)
        assert _compatible(value.shape, full), (step.text, value.shape, full)
        steps.append(step)
        values.append(value)
        pool.append(len(values) - 1)
    # The output sums the last node and a few random ones, and touches every input smoothly so each
    # one gets a gradient with a non-trivial second derivative.
    picked = sorted(set(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4))) | {pool[-1]})
    texts = [f"n{k}.sum()" for k in picked] + [f"tanh(n{k}).mean()" for k in range(len(inputs))]

    def output(n, picked=tuple(picked), count=len(inputs)):
        total = n[picked[0]].sum()
        for k in picked[1:]:
            total = total + n[k].sum()
        for k in range(count):
            total = total + n[k].tanh().mean()
        return total

    return Expression(tuple(inputs), tuple(steps), Step(" + ".join(texts), output))
