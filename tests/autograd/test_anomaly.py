"""Anomaly mode names the first op that produces NaN/Inf, and where the user created it."""
import numpy as np
import pytest

from tinygrad_mnist import AnomalyError, Tensor, detect_anomaly
from tinygrad_mnist.autograd import is_anomaly_enabled


def test_forward_anomaly_names_the_op_the_value_and_the_users_line():
    x = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    with detect_anomaly():
        with pytest.raises(AnomalyError) as caught:
            x.log()
    message = str(caught.value)
    assert message.startswith("Log produced -inf in forward from finite inputs of shape (2,)")
    assert "test_anomaly.py" in message and "x.log()" in message


def test_backward_anomaly_names_the_op_and_the_input():
    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with detect_anomaly():
        y = x.sqrt().sum()  # finite forward; the gradient 1/(2 sqrt(0)) is inf
        with np.errstate(divide="ignore"), pytest.raises(AnomalyError, match=r"backward of Sqrt produced inf in the gradient of its input 0 \(shape \(2,\)\)"):
            y.backward()


def test_nan_already_in_the_data_is_blamed_on_the_input():
    x = Tensor(np.array([np.nan, 1.0]))
    w = Tensor(np.array([1.0, 1.0]), requires_grad=True)
    with detect_anomaly(), pytest.raises(AnomalyError, match=r"Mul produced NaN in forward: its input 0 already contains NaN"):
        x * w


def test_without_the_context_nothing_is_checked_and_the_mode_is_restored():
    assert not is_anomaly_enabled()
    x = Tensor(np.array([0.0]), requires_grad=True)
    with np.errstate(divide="ignore"):
        assert np.isneginf(x.log().numpy()).all()  # no error outside anomaly mode
    with pytest.raises(AnomalyError):
        with detect_anomaly():
            assert is_anomaly_enabled()
            with np.errstate(divide="ignore"):
                x.log()
    assert not is_anomaly_enabled()


def test_decorator_form():
    @detect_anomaly()
    def poisoned(t):
        return t / 0.0

    with np.errstate(divide="ignore"), pytest.raises(AnomalyError, match="Div produced inf"):
        poisoned(Tensor(np.array([1.0]), requires_grad=True))
    assert not is_anomaly_enabled()


def test_finite_graphs_pass_untouched():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with detect_anomaly():
        (x.exp() * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))
