"""summary(model, input_shape) and the notebook HTML of tensors and modules."""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.nn import Module, Parameter, summary


class TwoHeads(Module):
    """A model unlike the MLP: an image reshaped by a layer of its own, a layer used twice, two outputs."""

    def __init__(self):
        self.flatten = nn.Flatten()
        self.shared = nn.Linear(16, 16, seed=0)
        self.head = nn.Linear(16, 3, seed=1)
        self.scale = Parameter(np.ones(3, np.float32))

    def forward(self, x):
        hidden = self.shared(self.shared(self.flatten(x)))
        return self.head(hidden) * self.scale, hidden


def test_summary_lists_every_layer_with_its_output_shape_and_parameters():
    model = nn.MLP(784, [256, 128], 10, activation="gelu")
    result = summary(model, (2, 784))
    rows = {row.name: row for row in result.rows}
    assert rows["layers.0"].output_shape == "(2, 256)" and rows["layers.4"].output_shape == "(2, 10)"
    assert rows["layers.0"].params == 784 * 256 + 256 and rows["layers.1"].params == 0
    assert result.total_params == sum(p.size for p in model.parameters())
    text = str(result)
    assert "MLP: input (2, 784) -> output (2, 10)" in text and f"{result.total_params:,} parameters" in text


def test_summary_is_generic_over_modules_and_leaves_them_as_they_were():
    model = TwoHeads()
    result = summary(model, (5, 1, 4, 4))
    rows = {row.name: row for row in result.rows}
    assert rows["flatten"].output_shape == "(5, 16)"
    assert rows["shared"].output_shape == "(5, 16) (x2 calls)"
    assert rows[""].output_shape == "(5, 3), (5, 16)"
    assert result.total_params == 16 * 16 + 16 + 16 * 3 + 3 + 3
    assert all("forward" not in vars(module) for module in model.modules())  # the wrappers are gone
    out, _ = model(Tensor(np.ones((1, 1, 4, 4), np.float32)))
    assert out.requires_grad  # grad mode restored after the no_grad pass


def test_summary_takes_a_tensor_as_input_and_needs_none():
    model = nn.MLP(4, [3], 2)
    assert summary(model, Tensor(np.zeros((7, 4), np.float32))).rows[0].output_shape == "(7, 2)"
    plain = str(summary(model))
    assert "output shape" not in plain and "MLP: 23 parameters" in plain
    with pytest.raises(TypeError, match="expects a Module"):
        summary(Tensor([1.0]))


def test_a_module_shows_its_layers_as_an_html_table():
    page = nn.MLP(4, [3], 2)._repr_html_()
    assert page.startswith("<table>") and page.count("<tr>") == 1 + 4 + 1  # header, Sequential and its 3 layers, footer
    assert "Linear(in_features=4, out_features=3, bias=True)" in page and ">15<" in page


def test_a_tensor_shows_shape_dtype_grad_status_and_abbreviated_values():
    w = Tensor(np.arange(200, dtype=np.float32).reshape(10, 20), requires_grad=True, name="w")
    card = w._repr_html_()
    assert "<b>w</b> Tensor (10, 20) float32" in card and ".grad is None" in card
    assert "..." in card and "199." in card and "100." not in card  # abbreviated in the middle
    loss = (w * 2).sum()
    assert "result of Sum" in loss._repr_html_()
    loss.backward()
    assert ".grad = [[2., 2., ..., 2., 2.], [2., 2., ..., 2., 2.], ..., " in w._repr_html_()
    assert "graph freed" in loss._repr_html_()
    assert "constant (does not require grad)" in Tensor(1.0)._repr_html_()
    with np.errstate(divide="ignore"):
        assert "1 NaN, 1 Inf" in Tensor([np.nan, np.inf, 1.0])._repr_html_()
