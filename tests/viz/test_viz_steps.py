"""The step-through backward pass: the engine's real order, the shares, the sums, the drawings."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.autograd import backward_steps, inputs_needing_grad, toposort
from tinygrad_mnist.viz import backward_table, draw_backward, save_backward_steps

EDGE = re.compile(r'^\s*(t\d+) -> (t\d+) \[label="([^"]*)"')


def reused_example():
    """x is used three times (twice by Mul, once by Add), w broadcast over x's rows."""
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, name="x")
    w = Tensor([0.5, -1.0], requires_grad=True, name="w")
    return ((x * x + x) * w).sum(), x, w


def mlp_loss():
    model = nn.MLP(4, [3], 2, activation="relu", seed=0)
    x = Tensor(np.linspace(-1, 1, 20, dtype=np.float32).reshape(5, 4), name="images")
    return nn.SoftmaxCrossEntropyLoss()(model(x), np.array([0, 1, 1, 0, 1]))


def order_of_a_real_backward(loss):
    """The ops whose rules a plain loss.backward() runs, in the order it runs them, seen by wrapping
    each op's rule (independently of the recorder)."""
    called = []
    for node in toposort([loss], inputs_needing_grad):
        ctx = node._ctx
        if ctx is not None:
            def spy(*args, _ctx=ctx, _node=node, _rule=ctx.backward):
                called.append(_node)
                return _rule(*args)
            ctx.backward = spy
    loss.backward()
    return called


@pytest.mark.parametrize("build", [lambda: reused_example()[0], mlp_loss], ids=["reused", "mlp"])
def test_the_steps_follow_the_engines_real_order(build):
    loss = build()
    steps = backward_steps(loss)
    walker = toposort([loss], inputs_needing_grad)
    assert [step.node for step in steps] == walker  # every node, in the walker's order
    ops = [step.node for step in steps if step.node._ctx is not None]
    real = order_of_a_real_backward(loss)  # the graph was kept, so this backward still works
    assert len(real) == len(ops) and all(a is b for a, b in zip(real, ops))


def test_steps_carry_the_gradients_the_shares_and_the_sums():
    loss, x, w = reused_example()
    steps = backward_steps(loss)
    assert [step.node.op or step.node.name for step in steps] == ["Sum", "Mul", "Add", "Mul", "x", "w"]
    outer, add, square = steps[1], steps[2], steps[3]
    # w was broadcast over x's rows: its share is summed back to its shape (2,).
    np.testing.assert_allclose(outer.shares[1].gradient, (x.numpy() ** 2 + x.numpy()).sum(axis=0))
    assert outer.shares[1].gradient.shape == (2,)
    # x gets a share from Add (step 3) and two from Mul (step 4): the first is new, the others are added.
    x_shares = [(s.number, share) for s in steps for share in s.shares if share.input is x]
    assert [(number, share.added) for number, share in x_shares] == [(3, False), (4, True), (4, True)]
    wx = np.broadcast_to(w.numpy(), (2, 2))
    np.testing.assert_allclose(x_shares[-1][1].total, wx * (2 * x.numpy() + 1))
    np.testing.assert_allclose(steps[4].gradient, wx * (2 * x.numpy() + 1))
    assert [share.position for share in square.shares] == [0, 1] and add.shares[0].input is square.node
    assert x.grad is None and w.grad is None


def test_the_table_numbers_every_step_and_shows_where_shares_are_added():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    table = backward_table((x * x).sum())
    assert table.splitlines() == [
        "step  node      receives  sends to its inputs",
        "   1  Sum ()    1         Mul: [1, 1]",
        "   2  Mul (2,)  [1, 1]    x: [1, 2]",
        "                          x: + [1, 2] = [2, 4]",
        "   3  x (2,)    [2, 4]    (leaf: backward() adds this to x.grad)",
    ]


def test_repeated_ops_are_numbered_in_forward_order_and_names_are_used():
    rows = backward_table(mlp_loss()).splitlines()
    relu_row = next(row for row in rows if row.split()[1:2] == ["Relu"])
    assert "Linear#1: " in relu_row  # Relu sends to the first layer's result
    assert any(row.split()[1:2] == ["parameter#1"] for row in rows)
    model = nn.MLP(4, [3], 2, activation="relu", seed=0)
    loss = model(Tensor(np.ones((2, 4), np.float32))).sum()
    named = backward_table(loss, names=dict(model.named_parameters()))
    assert "layers.0.weight (4, 3)" in named and "parameter" not in named


def test_the_full_drawing_has_a_step_on_every_edge_gradients_flow_along():
    loss, x, w = reused_example()
    steps = backward_steps(loss)
    source = draw_backward(loss, names={"x": x, "w": w}).source
    labels = [m[3] for line in source.splitlines() if (m := EDGE.match(line))]
    shares = sum(len(step.shares) for step in steps)
    assert len(labels) == shares == 7  # Sum->Mul, Mul->Add, Mul->w, Add->Mul, Add->x, Mul->x twice
    assert sorted(int(label.split(":")[0]) for label in labels) == [1, 2, 2, 3, 3, 4, 4]
    assert sum(": + " in label for label in labels) == 2  # the two shares added onto x's first one
    for step in steps:
        assert f"step {step.number}: grad" in source
    assert source.count('dir="back"') == 7


def test_a_drawing_of_step_k_shows_the_pass_so_far():
    loss, x, w = reused_example()
    source = draw_backward(loss, step=2).source
    labels = [m[3] for line in source.splitlines() if (m := EDGE.match(line))]
    assert sorted(int(label.split(":")[0]) for label in labels) == [1, 2, 2]
    assert source.count('fillcolor="#ffc266"') == 1  # the current node
    assert "step 2: grad" in source and "step 3: grad" not in source and "so far" in source
    with pytest.raises(ValueError, match="between 0 and 6"):
        draw_backward(loss, step=7)


def test_save_backward_steps_writes_one_file_per_step_and_the_table(tmp_path):
    loss, _, _ = reused_example()
    paths = save_backward_steps(loss, tmp_path / "steps", format="dot")
    assert [p.name for p in paths] == [f"step-{k}.dot" for k in range(1, 7)]
    assert "step 6: grad" in paths[-1].read_text() and "step 6: grad" not in paths[-2].read_text()
    assert (tmp_path / "steps" / "steps.txt").read_text().startswith("step  node")


@pytest.mark.requires_program("dot")
def test_the_step_drawings_render_with_their_numbers(tmp_path):
    loss, x, w = reused_example()
    paths = save_backward_steps(loss, tmp_path, format="svg", names={"x": x, "w": w})
    texts = {element.text for element in ElementTree.parse(paths[-1]).getroot().iter() if element.tag.endswith("text")}
    assert any(text and text.startswith("4: + ") for text in texts)
    assert any(text and text.startswith("step 5: grad") for text in texts)
