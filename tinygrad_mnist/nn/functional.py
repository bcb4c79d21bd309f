"""Activations, losses, convolution, pooling and normalization as plain functions of Tensors.

``conv2d``, ``max_pool2d`` and ``avg_pool2d`` are the ops of ``tinygrad_mnist.ops.conv`` and
``tinygrad_mnist.ops.pooling``;
``batch_norm`` and ``layer_norm`` come from ``tinygrad_mnist.nn.normalization``.

Every function here is composed of differentiable Tensor ops only (no hand-written backward), so its
gradients of every order come from the ops' own rules. Numerically risky pieces are written so that
no intermediate overflows: exp is only ever taken of non-positive numbers or after a logsumexp shift.

Losses take logits of shape (N, C) and integer labels of shape (N,) and return the batch mean.
"""
from __future__ import annotations

import functools
import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from ..ops.conv import conv2d  # noqa: F401  (re-exported as F.conv2d)
from ..ops.elementwise import where
from ..ops.pooling import avg_pool2d, max_pool2d  # noqa: F401  (re-exported as F.max_pool2d, ...)
from ..autograd import teaching
from ..checks import NON_NEGATIVE, UNIT_INTERVAL, check_float
from ..ops import elementwise
from ..ops.elementwise import where
from ..ops.spelling import numpy_spelling
from ..tensor import Tensor
from .normalization import batch_norm, layer_norm  # noqa: F401  (re-exported as F.batch_norm, ...)

# SeLU's fixed point constants (Klambauer et al., 2017), as in PyTorch.
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


# ---- activations ---------------------------------------------------------------------------------
def sigmoid(x) -> Tensor:
    """Logistic function 1 / (1 + exp(-x)), without overflow for large ``|x|``.

    >>> sigmoid(Tensor([0.0])).numpy()
    array([0.5], dtype=float32)
    """
    return _tensor(x).sigmoid()


def tanh(x) -> Tensor:
    """Hyperbolic tangent.

    >>> tanh(Tensor([0.0])).numpy()
    array([0.], dtype=float32)
    """
    return _tensor(x).tanh()


def relu(x) -> Tensor:
    """max(x, 0).

    >>> relu(Tensor([-1.0, 2.0])).numpy()
    array([0., 2.], dtype=float32)
    """
    return _tensor(x).relu()


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, ``negative_slope * x`` otherwise.

    >>> leaky_relu(Tensor([-2.0, 3.0]), 0.1).numpy()
    array([-0.2,  3. ], dtype=float32)
    """
    x = _tensor(x)
    return where(x.data > 0, x, x * negative_slope)


def elu(x, alpha: float = 1.0) -> Tensor:
    """x for x > 0, ``alpha * (exp(x) - 1)`` otherwise; exp only sees min(x, 0), so it cannot overflow.

    >>> elu(Tensor([-1000.0, 1000.0])).numpy()
    array([  -1., 1000.], dtype=float32)
    """
    x = _tensor(x)
    return where(x.data > 0, x, (x.clip(max=0.0).exp() - 1.0) * alpha)


def gelu(x, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit: exact ``0.5 x (1 + erf(x / sqrt 2))`` or, with
    ``approximate="tanh"``, ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    >>> round(gelu(Tensor(1.0, dtype=np.float64)).item(), 6), round(gelu(Tensor(1.0), "tanh").item(), 4)
    (0.841345, 0.8412)
    """
    x = _tensor(x)
    if approximate == "none":
        return x * 0.5 * ((x * _SQRT_HALF).erf() + 1.0)
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
        return x * 0.5 * (inner.tanh() + 1.0)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def selu(x) -> Tensor:
    """Scaled ELU with the self-normalising constants alpha = 1.6732632423543772 and
    scale = 1.0507009873554805.

    >>> selu(Tensor([1.0])).numpy()
    array([1.050701], dtype=float32)
    """
    return elu(x, SELU_ALPHA) * SELU_SCALE


def hardswish(x) -> Tensor:
    """``x * clip(x + 3, 0, 6) / 6``: a piecewise-polynomial SiLU (MobileNetV3).

    0 up to -3, ``x (x + 3) / 6`` strictly between -3 and 3, x from 3 on. At -3 and 3 the
    derivatives (of every order) are the outer pieces' ones, 0 and 1, as in PyTorch.

    >>> hardswish(Tensor([-4.0, 0.0, 4.0])).numpy()
    array([0., 0., 4.], dtype=float32)
    """
    x = _tensor(x)
    values = x.data
    middle = x * (x + 3.0) * (1.0 / 6.0)
    return where(values > -3.0, where(values >= 3.0, x, middle), 0.0)


def silu(x) -> Tensor:
    """SiLU / Swish: ``x * sigmoid(x)``.

    >>> silu(Tensor([0.0])).numpy()
    array([0.], dtype=float32)
    """
    x = _tensor(x)
    return x * x.sigmoid()


def softplus(x) -> Tensor:
    """``log(1 + exp(x))``, finite for any finite x; one op whose derivative is the sigmoid, so its
    derivatives of every order are right everywhere (0.5, 0.25, 0, ... at 0).

    >>> softplus(Tensor([-1000.0, 0.0, 1000.0])).numpy()
    array([0.000000e+00, 6.931472e-01, 1.000000e+03], dtype=float32)
    """
    return elementwise.softplus(_tensor(x))


@numpy_spelling
def log_softmax(x, axis: int = -1) -> Tensor:
    """``x - logsumexp(x, axis, keepdims=True)``: log-probabilities, stable for any finite logits
    (the same function as ``Tensor.log_softmax``; see ``tinygrad_mnist.ops.reduce.log_softmax``).

    >>> log_softmax(Tensor([[0.0, 0.0]])).numpy()
    array([[-0.6931472, -0.6931472]], dtype=float32)
    """
    return _tensor(x).log_softmax(axis)


@numpy_spelling
def softmax(x, axis: int = -1) -> Tensor:
    """Probabilities along ``axis``, without overflow (the same function as ``Tensor.softmax``).

    >>> softmax(Tensor([[1000.0, 1000.0]])).numpy()
    array([[0.5, 0.5]], dtype=float32)
    """
    return _tensor(x).softmax(axis)


# ---- losses --------------------------------------------------------------------------------------
def _is_softmax(x: Tensor) -> bool:
    """Whether ``x`` was computed as a softmax, ``exp(...) / exp(...).sum(...)`` (as ``softmax`` does)."""
    ctx = x._ctx
    if ctx is None or ctx.name != "Div" or ctx.parents is None:
        return False
    numerator, denominator = ctx.parents
    return numerator.op == "Exp" and denominator.op == "Sum" and denominator._ctx.parents is not None \
        and denominator._ctx.parents[0].op == "Exp"


def _warn_if_softmax(loss: str, logits: Tensor) -> None:
    """Teaching mode: a loss that applies log-softmax itself was given probabilities."""
    if _is_softmax(logits):
        teaching.warn(
            f"{loss} applies its own softmax, but its input is already a softmax: pass the logits (the "
            "layer's output before softmax), or the softmax is applied twice"
        )


def _checked_logits(loss: str, logits) -> Tensor:
    """Check that logits are a float (N, C) tensor with N, C >= 1."""
    logits = _tensor(logits)
    array = logits.data  # read once: these checks run on every training step
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(
            f"{loss}: logits must have shape (N, C) with N, C >= 1, got {array.shape}; "
            "flatten the batch first"
        )
    if array.dtype.kind != "f":
        raise ValueError(f"{loss}: logits must be floating point, got dtype {array.dtype}")
    return logits


@functools.lru_cache(maxsize=None)
def _unsigned_twin(dtype: np.dtype) -> np.dtype:
    """The unsigned integer dtype of the same size and byte order (int64 -> uint64)."""
    return np.dtype(dtype.str.replace("i", "u"))


def _checked_labels(loss: str, labels, logits_shape: Tuple[int, int]) -> np.ndarray:
    """Check that labels are (N,) integers in [0, C) and return them as an ndarray."""
    n, c = logits_shape
    labels = labels.data if isinstance(labels, Tensor) else np.asanyarray(labels)
    if labels.shape != (n,):
        raise ValueError(
            f"{loss}: labels must have shape ({n},), one class index in 0..{c - 1} ({c} classes) per row of "
            f"the logits of shape {logits_shape}; got labels of shape {labels.shape}"
        )
    if labels.dtype.kind not in "iu":
        raise ValueError(
            f"{loss}: labels must be integer class indices in 0..{c - 1} ({c} classes), got dtype "
            f"{labels.dtype}; convert them, e.g. labels.astype(np.int64)"
        )
    # Seen as unsigned, a negative label is huge: one max() checks both ends (this runs every batch).
    unsigned = labels if labels.dtype.kind == "u" else labels.view(_unsigned_twin(labels.dtype))
    if np.maximum.reduce(unsigned, axis=None) >= c:
        bad = int(labels.min()) if labels.min() < 0 else int(labels.max())
        raise ValueError(f"{loss}: label {bad} is out of range for {c} classes (valid labels are 0..{c - 1})")
    return labels


def _logits_and_labels(loss: str, logits, labels) -> Tuple[Tensor, np.ndarray, int, int]:
    """Both checks; returns logits, labels, N and C."""
    logits = _checked_logits(loss, logits)
    n, c = logits.shape
    return logits, _checked_labels(loss, labels, (n, c)), n, c


def euclidean_loss(logits, labels) -> Tensor:
    """``0.5 * ||outputs - one_hot(labels)||^2`` summed over classes, averaged over the batch.

    The raw outputs are compared with the one-hot target directly: they are NOT passed through a
    softmax first (this is the lab reports' EuclideanLoss).

    >>> euclidean_loss(Tensor([[1.0, 1.0]]), np.array([0])).item()
    0.5
    """
    logits, labels, n, c = _logits_and_labels("euclidean_loss", logits, labels)
    difference = logits - _is_label(labels, c).astype(logits.dtype)
    return (difference * difference).sum() * (0.5 / n)


def _is_label(labels: np.ndarray, c: int) -> np.ndarray:
    """The (N, C) boolean one-hot pattern of ``labels``: True at each row's label.

    Computed from ``labels`` by NumPy operations (not by writing into an array of zeros), so that a
    jit recording, which traces the labels, traces the pattern too.

    >>> _is_label(np.array([2, 0]), 3)
    array([[False, False,  True],
           [ True, False, False]])
    """
    return labels[:, None] == np.arange(c)


def _label_log_probs(logits: Tensor, labels: np.ndarray) -> Tensor:
    """``log_softmax(logits)[i, labels[i]]`` for each row, as ``x[i, y_i] - logsumexp(x_i)``.

    Only the N picked entries are formed (no (N, C) log-softmax, no one-hot): three ops, on the hot
    path of training. The logsumexp is shifted by the row max inside its op, so it never overflows;
    for logits as large as 1e4 the float32 rounding of the logsumexp (about 1e-3) is the only cost.
    """
    return logits[np.arange(logits.shape[0]), labels] - logits.logsumexp(axis=1)


def cross_entropy(logits, labels, label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy ``-sum_c t_c log softmax(logits)_c``, averaged over the batch, with
    targets ``t = (1 - eps) one_hot + eps / C`` (``eps = label_smoothing``).

    Computed through a logsumexp, so it is finite for any finite logits. Without smoothing it picks
    the label's log-probability ``log_softmax[arange(N), labels]`` instead of building a one-hot.

    >>> round(cross_entropy(Tensor([[0.0, 0.0]]), np.array([1])).item(), 6)
    0.693147
    """
    logits, labels, n, c = _logits_and_labels("cross_entropy", logits, labels)
    _warn_if_softmax("cross_entropy", logits)
    label_smoothing = check_float(label_smoothing, "label_smoothing", UNIT_INTERVAL, owner="cross_entropy")
    if label_smoothing == 0:
        # -_label_log_probs(...).mean(), written the other way round to save the negation op.
        return (logits.logsumexp(axis=1) - logits[np.arange(n), labels]).mean()
    log_probs = log_softmax(logits)
    picked = log_probs[np.arange(n), labels].sum()
    spread = log_probs.sum()
    return -(picked * (1.0 - label_smoothing) + spread * (label_smoothing / c)) * (1.0 / n)


def hinge_loss(logits, labels, margin: float = 5.0) -> Tensor:
    """Multi-class hinge loss: per sample ``sum_{j != y} max(0, margin - x_y + x_j)``, averaged over
    the batch (the default margin 5 is the lab reports').

    >>> hinge_loss(Tensor([[2.0, 0.0]]), np.array([0]), margin=5.0).item()
    3.0
    """
    logits, labels, n, c = _logits_and_labels("hinge_loss", logits, labels)
    margin = check_float(margin, "margin", NON_NEGATIVE, owner="hinge_loss")
    rows = np.arange(n)
    correct = logits[rows, labels].reshape(n, 1)
    violations = (logits - correct + margin).relu()
    # One constant both drops the label's own column and takes the batch mean.
    scalar = logits.dtype.type
    weights = np.where(_is_label(labels, c), scalar(0), scalar(1.0 / n))
    return (violations * weights).sum()


def _target_distribution(target, n: int, c: int, dtype) -> np.ndarray:
    target = np.asarray(target.data if isinstance(target, Tensor) else target)
    if target.shape != (n, c):
        raise ValueError(f"kl_div: target must have the logits' shape ({n}, {c}), got {target.shape}")
    if target.dtype.kind not in "fiu":
        raise ValueError(f"kl_div: target must be numeric probabilities, got dtype {target.dtype}")
    target = target.astype(dtype, copy=False)
    if not np.all(np.isfinite(target)) or target.min() < 0:
        raise ValueError("kl_div: target probabilities must be finite and >= 0")
    sums = target.sum(axis=1, dtype=np.float64)
    worst = int(np.argmax(np.abs(sums - 1.0)))
    if abs(sums[worst] - 1.0) > 1e-3:
        raise ValueError(f"kl_div: each target row must sum to 1; row {worst} sums to {sums[worst]:.6g}")
    return target


def kl_div(logits, labels=None, target=None) -> Tensor:
    """``KL(t || softmax(logits)) = sum_c t_c (log t_c - log_softmax_c)``, averaged over the batch.

    ``t`` is the one-hot of ``labels`` unless a per-sample distribution ``target`` of shape (N, C)
    is given (then ``labels`` may be None). Classes with ``t_c = 0`` contribute exactly 0, to the
    value and to the gradient: the ``t log t`` part is a constant computed only where ``t > 0``.

    >>> kl_div(Tensor([[0.0, 0.0]]), target=np.array([[0.5, 0.5]])).item()
    0.0
    """
    if target is None:
        if labels is None:
            raise ValueError("kl_div: give labels (for one-hot targets) or a target distribution of shape (N, C)")
        logits, labels, _, _ = _logits_and_labels("kl_div", logits, labels)
        _warn_if_softmax("kl_div", logits)
        return -_label_log_probs(logits, labels).mean()  # t log t = 0 for a one-hot t
    logits = _checked_logits("kl_div", logits)
    n, c = logits.shape
    _warn_if_softmax("kl_div", logits)
    if labels is not None:  # unused with an explicit target, but a wrong batch is still worth catching
        _checked_labels("kl_div", labels, (n, c))
    target = _target_distribution(target, n, c, logits.dtype)
    positive = target > 0
    entropy_part = float(np.sum(target[positive] * np.log(target[positive]), dtype=np.float64))
    # where, not a product alone: a class with t_c = 0 may have a -inf logit (log-probability -inf),
    # and 0 * -inf would make the loss NaN.
    cross_part = (where(positive, log_softmax(logits), 0.0) * target).sum()
    return (entropy_part - cross_part) * (1.0 / n)


def _class_weights(alpha, c: int, dtype) -> Optional[np.ndarray]:
    """None, a scalar, or one weight per class -> None or a (C,) array."""
    if alpha is None:
        return None
    weights = np.asarray(alpha, dtype=np.float64)
    if weights.ndim == 0:
        weights = np.full(c, float(weights))
    elif weights.shape != (c,):
        raise ValueError(f"focal_loss: alpha must be a number or one weight per class ({c}), got shape {weights.shape}")
    if not np.all(np.isfinite(weights)) or weights.min() < 0:
        raise ValueError("focal_loss: alpha weights must be finite and >= 0")
    return weights.astype(dtype)


def focal_loss(logits, labels, gamma: float = 2.0, alpha: Union[None, float, Sequence[float]] = None) -> Tensor:
    """Focal loss ``-alpha_y (1 - p_y)^gamma log p_y``, averaged over the batch (Lin et al., 2017).

    ``log p_y`` comes from ``log_softmax``, so the loss is finite for any finite logits. ``alpha`` is
    None (weight 1), one number, or one weight per class. ``gamma = 0`` is cross-entropy.

    >>> round(focal_loss(Tensor([[0.0, 0.0]]), np.array([0]), gamma=2.0).item(), 6)
    0.173287
    """
    logits, labels, n, c = _logits_and_labels("focal_loss", logits, labels)
    _warn_if_softmax("focal_loss", logits)
    gamma = check_float(gamma, "gamma", NON_NEGATIVE, owner="focal_loss")
    weights = _class_weights(alpha, c, logits.dtype)
    # From log_softmax, which works on x - max(x): unlike cross-entropy's, focal's gradient goes through
    # p_y = exp(log p_y), so the rounding of x_y - logsumexp(x) (an ulp of the logits, 2 at 1e16) must
    # not reach it.
    log_p = log_softmax(logits)[np.arange(n), labels]
    per_sample = log_p
    if gamma != 0:
        # Clipping 1 - p away from 0 keeps pow's derivative (1 - p)^(gamma - 1) finite when p rounds
        # to 1 (gamma < 1); the clipped value is below anything the loss can resolve.
        miss = (1.0 - log_p.exp()).clip(min=float(np.finfo(logits.dtype).tiny))
        per_sample = miss ** gamma * log_p
    if weights is not None:
        per_sample = per_sample * np.take(weights, labels)  # np.take: a jit recording traces the labels
    return -per_sample.sum() * (1.0 / n)
