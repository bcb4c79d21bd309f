"""Losses: values against NumPy formulas, first and second derivatives, stability, label checks.

The cases are declared once in LOSS_CASES; every generic test runs over all of them.
"""
from typing import Callable, NamedTuple

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.nn import functional as F
from tinygrad_mnist.testing import arrays, gradcheck, gradgradcheck

FEW = settings(max_examples=max(4, settings().max_examples // 2), deadline=None)


# ---- independent NumPy references ---------------------------------------------------------------
def _np_log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _one_hot(y, c):
    return np.eye(c)[y]


def np_euclidean(x, y):
    return np.mean(0.5 * np.sum((x - _one_hot(y, x.shape[1])) ** 2, axis=1))


def np_cross_entropy(x, y, eps=0.0):
    c = x.shape[1]
    target = (1 - eps) * _one_hot(y, c) + eps / c
    return np.mean(-np.sum(target * _np_log_softmax(x), axis=1))


def np_hinge(x, y, margin=5.0):
    total = 0.0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            if j != y[i]:
                total += max(0.0, margin - x[i, y[i]] + x[i, j])
    return total / x.shape[0]


def np_kl(x, y, target=None):
    t = _one_hot(y, x.shape[1]) if target is None else target
    log_t = np.log(np.where(t > 0, t, 1.0))
    return np.mean(np.sum(t * (log_t - _np_log_softmax(x)), axis=1))


def np_focal(x, y, gamma=2.0, alpha=None):
    log_p = _np_log_softmax(x)[np.arange(len(y)), y]
    weight = 1.0 if alpha is None else np.broadcast_to(np.asarray(alpha, dtype=float), (x.shape[1],))[y]
    return np.mean(-weight * (1 - np.exp(log_p)) ** gamma * log_p)


class Case(NamedTuple):
    name: str
    function: Callable  # (logits, labels) -> loss, via nn.functional
    module: nn.Module
    reference: Callable  # (logits ndarray, labels ndarray) -> float
    piecewise_linear_margin: float = None  # hinge: keep inputs away from its kinks


def _fixed_target(x_shape, y):
    """A target distribution with zeros, built from the labels (so it is a function of the batch)."""
    n, c = x_shape
    t = np.zeros((n, c))
    t[np.arange(n), y] = 0.75
    t[np.arange(n), (y + 1) % c] += 0.25
    return t


LOSS_CASES = [
    Case("euclidean", F.euclidean_loss, nn.EuclideanLoss(), np_euclidean),
    Case("ce", F.cross_entropy, nn.SoftmaxCrossEntropyLoss(), np_cross_entropy),
    Case(
        "ce_smoothing", lambda x, y: F.cross_entropy(x, y, 0.1), nn.SoftmaxCrossEntropyLoss(0.1),
        lambda x, y: np_cross_entropy(x, y, 0.1),
    ),
    Case("hinge", F.hinge_loss, nn.HingeLoss(), np_hinge, piecewise_linear_margin=5.0),
    Case(
        "hinge_margin1", lambda x, y: F.hinge_loss(x, y, 1.0), nn.HingeLoss(1.0),
        lambda x, y: np_hinge(x, y, 1.0), piecewise_linear_margin=1.0,
    ),
    Case("kldiv", F.kl_div, nn.KLDivLoss(), np_kl),
    Case(
        "kldiv_target", lambda x, y: F.kl_div(x, y, _fixed_target(x.shape, y.data if isinstance(y, Tensor) else y)),
        None, lambda x, y: np_kl(x, y, _fixed_target(x.shape, y)),
    ),
    Case("focal", F.focal_loss, nn.FocalLoss(), np_focal),
    Case(
        "focal_gamma0.5_alpha", lambda x, y: F.focal_loss(x, y, 0.5, 0.25), nn.FocalLoss(0.5, 0.25),
        lambda x, y: np_focal(x, y, 0.5, 0.25),
    ),
    Case("focal_gamma0", lambda x, y: F.focal_loss(x, y, 0.0), nn.FocalLoss(0.0), lambda x, y: np_focal(x, y, 0.0)),
]
IDS = [case.name for case in LOSS_CASES]


@st.composite
def batches(draw, dtype=np.float64):
    """(logits (N, C), labels (N,)) with small N and C."""
    n = draw(st.integers(1, 4))
    c = draw(st.integers(2, 5))
    x = draw(arrays((n, c), dtype=dtype, min_value=-3.0, max_value=3.0))
    y = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.int64)
    return x, y


def _away_from_hinge_kinks(case, x, y):
    if case.piecewise_linear_margin is None:
        return
    rows = np.arange(len(y))
    distances = case.piecewise_linear_margin - x[rows, y][:, None] + x
    distances[rows, y] = 1.0  # the label's own term is masked out of the loss
    assume(np.all(np.abs(distances) > 1e-3))


@pytest.mark.parametrize("case", LOSS_CASES, ids=IDS)
@given(batch=batches())
@FEW
def test_gradcheck(case, batch):
    x, y = batch
    _away_from_hinge_kinks(case, x, y)
    assert gradcheck(case.function, [x, y])


@pytest.mark.parametrize("case", LOSS_CASES, ids=IDS)
@given(batch=batches())
@FEW
def test_gradgradcheck(case, batch):
    x, y = batch
    _away_from_hinge_kinks(case, x, y)
    assert gradgradcheck(case.function, [x, y])


SOFTMAX_FAMILY = [case for case in LOSS_CASES if case.name.startswith(("ce", "kldiv", "focal"))]


@pytest.mark.parametrize("case", SOFTMAX_FAMILY, ids=[case.name for case in SOFTMAX_FAMILY])
@given(batch=batches())
@FEW
def test_first_and_second_derivatives_at_huge_logits(case, batch):
    # A special point of the softmax family: huge, close logits (1e4 + x). The losses depend on
    # differences only, and their rules must too (tests/reference checks 1e16 against hyper-duals).
    x, y = batch
    assert gradcheck(case.function, [x + 1e4, y])
    assert gradgradcheck(case.function, [x + 1e4, y])


@pytest.mark.parametrize("case", LOSS_CASES, ids=IDS)
@given(batch=batches())
@settings(deadline=None)
def test_value_matches_numpy_formula(case, batch):
    x, y = batch
    loss = case.function(Tensor(x), y)
    assert loss.shape == () and loss.dtype == np.float64
    assert loss.item() == pytest.approx(case.reference(x, y), rel=1e-10, abs=1e-12)
    if case.module is not None:
        assert case.module(Tensor(x), y).item() == pytest.approx(case.reference(x, y), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("case", LOSS_CASES, ids=IDS)
@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_finite_loss_and_gradients_for_huge_float32_logits(case, scale):
    rng = np.random.default_rng(0)
    x = (rng.choice([-1.0, 1.0], size=(8, 10)) * abs(scale)).astype(np.float32)
    x[:, 0] = scale  # the same huge value everywhere in one column, too
    y = rng.integers(0, 10, 8)
    logits = Tensor(x, requires_grad=True)
    loss = case.function(logits, y)
    loss.backward()
    assert loss.dtype == np.float32 and logits.grad.dtype == np.float32
    assert np.isfinite(loss.item())
    assert np.all(np.isfinite(logits.grad.numpy()))
    assert loss.item() == pytest.approx(case.reference(x.astype(np.float64), y), rel=1e-5)


def test_cross_entropy_gradient_is_softmax_minus_target_over_n():
    x = np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 3.0]])
    y = np.array([0, 1])
    logits = Tensor(x, requires_grad=True)
    F.cross_entropy(logits, y).backward()
    expected = (np.exp(_np_log_softmax(x)) - _one_hot(y, 3)) / 2
    np.testing.assert_allclose(logits.grad.numpy(), expected, rtol=1e-12)


def test_cross_entropy_without_smoothing_does_not_build_a_one_hot():
    # The label's log-probability is picked by indexing (cheap) rather than multiplied by a one-hot.
    loss = F.cross_entropy(Tensor(np.zeros((2, 3)), requires_grad=True), np.array([0, 2]))
    stack, ops = [loss], []
    while stack:
        node = stack.pop()
        if node._ctx is not None:
            ops.append((node.op, [parent.shape for parent in node._ctx.parents]))
            stack.extend(node._ctx.parents)
    assert ("GetItem", [(2, 3)]) in ops
    assert not [shapes for op, shapes in ops if op == "Mul" and (2, 3) in shapes]


def test_euclidean_uses_raw_outputs_not_softmax():
    # Outputs equal to the one-hot give exactly 0; a softmax of them would not.
    assert F.euclidean_loss(Tensor(np.array([[0.0, 1.0, 0.0]])), np.array([1])).item() == 0.0
    assert F.euclidean_loss(Tensor(np.array([[3.0, 0.0]])), np.array([1])).item() == pytest.approx(0.5 * (9 + 1))


def test_hinge_uses_margin_five_by_default_and_ignores_the_label_column():
    assert nn.HingeLoss().margin == 5.0
    # Scores far apart: no violations, loss 0 even though the label's own term would be max(0, 5) = 5.
    assert F.hinge_loss(Tensor(np.array([[10.0, 0.0, -1.0]])), np.array([0])).item() == 0.0


def test_kl_div_zero_target_probabilities_give_no_nan_in_value_or_gradient():
    target = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    logits = Tensor(np.array([[-1e4, 0.0, 5.0], [0.0, 1e4, 0.0]], dtype=np.float32), requires_grad=True)
    loss = F.kl_div(logits, None, target)
    loss.backward()
    assert np.isfinite(loss.item())
    assert np.all(np.isfinite(logits.grad.numpy()))
    # d/dx KL = (softmax - t) / N, also where t is 0
    soft = np.exp(_np_log_softmax(logits.numpy().astype(np.float64)))
    np.testing.assert_allclose(logits.grad.numpy(), (soft - target) / 2, atol=1e-6)


def test_kl_div_equals_zero_when_prediction_matches_target_and_cross_entropy_for_one_hot():
    target = np.array([[0.2, 0.8, 0.0]])
    logits = Tensor(np.log(np.array([[0.2, 0.8, 1e-300]])))
    assert F.kl_div(logits, None, target).item() == pytest.approx(0.0, abs=1e-12)
    x, y = Tensor(np.array([[1.0, 2.0, 3.0]])), np.array([2])
    assert F.kl_div(x, y).item() == pytest.approx(F.cross_entropy(x, y).item())


def test_kl_div_module_takes_a_target_at_construction_or_per_call():
    target = np.array([[0.5, 0.5]])
    logits = Tensor(np.array([[0.0, 0.0]]))
    assert nn.KLDivLoss(target)(logits, None).item() == pytest.approx(0.0)
    assert nn.KLDivLoss()(logits, None, target=target).item() == pytest.approx(0.0)
    with pytest.raises(ValueError, match="give labels"):
        nn.KLDivLoss()(logits, None)


@pytest.mark.parametrize(
    "target, message",
    [
        (np.array([[0.5, 0.6]]), "sum to 1"),
        (np.array([[1.5, -0.5]]), ">= 0"),
        (np.array([[0.5, 0.5, 0.0]]), "shape"),
        (np.array([[np.nan, 1.0]]), "finite"),
    ],
)
def test_kl_div_rejects_invalid_targets(target, message):
    with pytest.raises(ValueError, match=message):
        F.kl_div(Tensor(np.zeros((1, 2))), None, target)


def test_focal_loss_alpha_forms():
    x, y = np.array([[1.0, 0.0, -1.0], [0.0, 2.0, 0.0]]), np.array([0, 2])
    base = F.focal_loss(Tensor(x), y).item()
    assert F.focal_loss(Tensor(x), y, alpha=0.5).item() == pytest.approx(0.5 * base)
    per_class = [1.0, 1.0, 3.0]
    assert F.focal_loss(Tensor(x), y, alpha=per_class).item() == pytest.approx(np_focal(x, y, 2.0, per_class))
    with pytest.raises(ValueError, match="one weight per class"):
        F.focal_loss(Tensor(x), y, alpha=[1.0, 2.0])
    with pytest.raises(ValueError, match="alpha"):
        F.focal_loss(Tensor(x), y, alpha=[1.0, -2.0, 1.0])


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_gradient_is_finite_when_the_label_is_certain(gamma):
    # p_y rounds to 1: (1 - p_y)^(gamma - 1) would be inf for gamma < 1 without the clip.
    logits = Tensor(np.array([[1e4, 0.0, 0.0]], dtype=np.float32), requires_grad=True)
    F.focal_loss(logits, np.array([0]), gamma=gamma).backward()
    assert np.all(np.isfinite(logits.grad.numpy()))


@pytest.mark.parametrize("name", ["euclidean_loss", "cross_entropy", "hinge_loss", "kl_div", "focal_loss"])
@pytest.mark.parametrize(
    "labels, fragments",
    [
        (np.array([0, 3]), ["label 3"]),
        (np.array([-1, 0]), ["label -1"]),
        (np.array([0.0, 1.0]), ["integer", "float64"]),
        (np.array([[0], [1]]), ["shape (2,)", "(2, 1)"]),
        (np.array([0, 1, 2]), ["shape (2,)", "(3,)"]),
    ],
    ids=["too-big", "negative", "float", "column", "wrong-length"],
)
def test_invalid_labels_raise_a_value_error_naming_loss_value_and_classes(name, labels, fragments):
    with pytest.raises(ValueError) as error:
        getattr(F, name)(Tensor(np.zeros((2, 3))), labels)
    message = str(error.value)
    assert message.startswith(name)
    assert "3 classes" in message
    for fragment in fragments:
        assert fragment in message


def test_labels_may_be_tensors_or_unsigned():
    x = Tensor(np.zeros((2, 3)))
    expected = F.cross_entropy(x, np.array([0, 2])).item()
    assert F.cross_entropy(x, Tensor(np.array([0, 2]))).item() == expected
    assert F.cross_entropy(x, np.array([0, 2], dtype=np.uint8)).item() == expected


def test_logits_must_be_a_float_matrix():
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        F.cross_entropy(Tensor(np.zeros(3)), np.array([0]))
    with pytest.raises(ValueError, match="floating point"):
        F.cross_entropy(Tensor(np.zeros((1, 3), dtype=np.int64)), np.array([0]))


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.SoftmaxCrossEntropyLoss(label_smoothing=1.5),
        lambda: nn.HingeLoss(margin=-1.0),
        lambda: nn.FocalLoss(gamma=-1.0),
        lambda: nn.FocalLoss(gamma=float("nan")),
    ],
    ids=["smoothing", "margin", "gamma", "gamma-nan"],
)
def test_invalid_loss_settings_are_rejected(make):
    with pytest.raises(ValueError):
        make()


def test_registry():
    assert nn.LOSSES == {
        "euclidean": nn.EuclideanLoss,
        "ce": nn.SoftmaxCrossEntropyLoss,
        "hinge": nn.HingeLoss,
        "kldiv": nn.KLDivLoss,
        "focal": nn.FocalLoss,
    }
    x, y = Tensor(np.array([[0.5, -0.5]])), np.array([1])
    for name, cls in nn.LOSSES.items():
        assert np.isfinite(cls()(x, y).item()), name
