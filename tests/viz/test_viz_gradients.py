"""Every node's gradient in a drawing, computed by draw_graph itself before backward()."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tinygrad_mnist import Tensor, TeachingWarning, grad, teaching_warnings
from tinygrad_mnist.viz import draw_graph

from test_viz_graph import label_of, parse, title


def ten_lines():
    w = Tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True, name="w")
    x = Tensor([1.0, 3.0], name="x")
    b = Tensor([0.1, -0.2], requires_grad=True, name="b")
    hidden = w @ x + b
    loss = (hidden.tanh() ** 2).sum()
    return loss, w, x, b, hidden


def grad_text(values) -> str:
    return "grad [" + ", ".join(f"{v:.4g}" for v in np.ravel(values)) + "]"


def test_every_node_shows_its_gradient_before_backward_and_nothing_is_consumed():
    loss, w, x, b, hidden = ten_lines()
    graph = draw_graph(loss, show_grads=True)
    (d_hidden,) = grad(loss, hidden, retain_graph=True)
    expected_b = d_hidden.numpy()  # Add passes its gradient on unchanged
    assert grad_text(expected_b) in label_of(graph, "b")
    assert grad_text(expected_b) in label_of(graph, "Add") and grad_text(expected_b) in label_of(graph, "MatMul")
    tanh = np.tanh(hidden.numpy())
    assert grad_text(2 * tanh) in label_of(graph, "Tanh")  # d(sum t^2)/dt = 2t
    assert "grad [1, 1]" in label_of(graph, "Pow") and "grad 1" in label_of(graph, "Sum")
    assert "grad" not in label_of(graph, "x")  # an input needs no gradient
    # The drawing touched no .grad and freed nothing: backward still works and gives the same numbers.
    assert w.grad is None and b.grad is None
    loss.backward()
    np.testing.assert_allclose(b.grad.numpy(), expected_b, rtol=1e-6)
    w_label = label_of(graph, "w")
    rows = w.grad.numpy()
    assert f"grad [[{rows[0, 0]:.4g}, {rows[0, 1]:.4g}], [{rows[1, 0]:.4g}, {rows[1, 1]:.4g}]]" in w_label


def test_a_leaf_whose_grad_holds_earlier_passes_shows_both():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    (x * 5).sum().backward()
    loss = (x * x).sum()
    label = label_of(draw_graph(loss, show_grads=True), "x")
    assert "grad [2, 4]" in label and ".grad [5, 5] (other passes added)" in label


def test_a_non_scalar_output_takes_a_grad_output():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    graph = draw_graph(x * 3, show_grads=True, grad_output=np.array([1.0, -1.0], dtype=np.float32))
    assert "grad [3, -3]" in label_of(graph, "x")


def test_drawing_a_graph_without_any_gradient_warns_once_in_one_line():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    loss = (x * 3).sum()
    loss.backward()
    x.grad = None
    with pytest.warns(TeachingWarning, match=r"every gradient is still None, because backward\(\) already freed") as record:
        draw_graph(loss, show_grads=True)
    assert len(record) == 1 and "\n" not in str(record[0].message)
    with pytest.warns(TeachingWarning, match="not a scalar: pass grad_output"):
        draw_graph(Tensor([1.0, 2.0], requires_grad=True) * 2, show_grads=True)
    with pytest.warns(TeachingWarning, match="nothing in this graph requires grad"):
        draw_graph(Tensor([1.0]) * 2, show_grads=True)


def test_the_warning_points_at_the_callers_line_and_can_be_switched_off():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.warns(TeachingWarning) as record:
        draw_graph(y, show_grads=True)
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with teaching_warnings(False):
            draw_graph(y, show_grads=True)
        draw_graph(y)  # without show_grads nothing is said
    nodes, _ = parse(draw_graph(y, show_grads=True, grad_output=np.ones(2, np.float32)))
    assert {title(label) for label, _ in nodes.values()} == {"parameter", "Mul", "const 2"}
