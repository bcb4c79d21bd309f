"""draw_graph / save_graph: the DOT structure, labels, NaN highlighting, deep graphs, rendering."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

from tinygrad_mnist import TeachingWarning, Tensor
from tinygrad_mnist.viz import DotNotFoundError, draw_graph, save_graph

needs_dot = pytest.mark.requires_program("dot")

NODE_LINE = re.compile(r"^\s*(t\d+) \[label=<(.*)> (.*)\]$")
EDGE_LINE = re.compile(r"^\s*(t\d+) -> (t\d+)$")
RED_FILL = 'fillcolor="#ff9e9e"'


def parse(graph):
    """{node id: (label HTML, attributes)} and the edge list [(from id, to id)] of a drawn graph."""
    nodes, edges = {}, []
    for line in graph.source.splitlines():
        if match := NODE_LINE.match(line):
            nodes[match[1]] = (match[2], match[3])
        elif match := EDGE_LINE.match(line):
            edges.append((match[1], match[2]))
    return nodes, edges


def title(label: str) -> str:
    return re.match(r"<B>(.*?)</B>", label)[1]


def titled_edges(graph):
    nodes, edges = parse(graph)
    return [(title(nodes[a][0]), title(nodes[b][0])) for a, b in edges]


def label_of(graph, node_title: str) -> str:
    nodes, _ = parse(graph)
    (label,) = [label for label, _ in nodes.values() if title(label) == node_title]
    return label


def attributes_of(graph, node_title: str) -> str:
    nodes, _ = parse(graph)
    (attributes,) = [attributes for label, attributes in nodes.values() if title(label) == node_title]
    return attributes


def two_layer_mlp_loss(n=8):
    """Loss of a 784-16-10 MLP written with raw Tensors and a Tensor-op cross-entropy."""
    rng = np.random.default_rng(0)
    params = {
        "W1": Tensor(rng.standard_normal((784, 16)).astype(np.float32) * 0.05, requires_grad=True),
        "b1": Tensor(np.zeros(16, np.float32), requires_grad=True),
        "W2": Tensor(rng.standard_normal((16, 10)).astype(np.float32) * 0.05, requires_grad=True),
        "b2": Tensor(np.zeros(10, np.float32), requires_grad=True),
    }
    x = Tensor(rng.random((n, 784), dtype=np.float32))
    labels = rng.integers(0, 10, n)
    hidden = (x @ params["W1"] + params["b1"]).relu()
    logits = hidden @ params["W2"] + params["b2"]
    log_probs = logits - logits.logsumexp(axis=1, keepdims=True)
    loss = -log_probs[np.arange(n), labels].mean()
    return loss, params, x


def test_shared_input_is_drawn_once_with_exact_nodes_and_edges():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = Tensor([3.0, 4.0], name="y")
    z = (x * y + x).sum()
    graph = draw_graph(z)
    nodes, edges = parse(graph)
    assert sorted(title(label) for label, _ in nodes.values()) == ["Add", "Mul", "Sum", "x", "y"]
    assert titled_edges(graph) == [("x", "Mul"), ("y", "Mul"), ("Mul", "Add"), ("x", "Add"), ("Add", "Sum")]
    assert "(2,) float32" in label_of(graph, "Mul")
    assert "scalar float32" in label_of(graph, "Sum")


def test_a_tensor_used_twice_by_one_op_gets_two_edges():
    x = Tensor([3.0], requires_grad=True, name="x")
    assert titled_edges(draw_graph(x * x)) == [("x", "Mul"), ("x", "Mul")]


def test_the_drawing_is_deterministic():
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    w = Tensor(np.ones((3, 4), np.float32), requires_grad=True)
    first = draw_graph(((x @ w).relu() * 2).mean()).source
    second = draw_graph(((x @ w).relu() * 2).mean()).source
    assert first == second


def test_leaf_names_from_a_name_to_tensor_dict_the_reverse_dict_pairs_and_dot_name():
    w = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([0.5], requires_grad=True)
    x = Tensor([3.0, 4.0], name="pixels")
    out = (x * w + b).sum()
    for names in ({"weight": w, "bias": b}, {w: "weight", b: "bias"}, [("weight", w), ("bias", b)]):
        titles = {title(label) for label, _ in parse(draw_graph(out, names=names))[0].values()}
        assert {"weight", "bias", "pixels"} <= titles
    # The names dict wins over .name; named intermediates read like an assignment.
    graph = draw_graph(out, names={"x": x, "hidden": x * w})  # a different tensor: not in this graph
    assert "x" in {title(label) for label, _ in parse(graph)[0].values()}
    product = x * w
    graph = draw_graph(product.sum(), names={"product": product})
    assert "product = Mul" in {title(label) for label, _ in parse(graph)[0].values()}


def test_unnamed_leaves_get_placeholders_and_parameters_look_different_from_constants():
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([3.0, 4.0])
    graph = draw_graph((x * w + 2).sum())
    titles = {title(label) for label, _ in parse(graph)[0].values()}
    assert {"parameter", "input", "const 2"} <= titles
    assert attributes_of(graph, "parameter") != attributes_of(graph, "input")
    assert attributes_of(graph, "input") == attributes_of(graph, "const 2")
    assert attributes_of(graph, "Sum") != attributes_of(graph, "Mul")  # the drawn tensor stands out


def test_names_that_are_not_name_tensor_pairs_are_rejected():
    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="named_parameters"):
        draw_graph(x * 2, names={"x": np.ones(1)})
    with pytest.raises(TypeError, match="named_parameters"):
        draw_graph(x * 2, names=["x"])


def test_bad_arguments_get_clear_errors():
    with pytest.raises(TypeError, match="expects a Tensor"):
        draw_graph(np.ones(3))
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(Tensor([1.0]), rankdir="up")


def test_a_lone_leaf_draws_as_one_node():
    nodes, edges = parse(draw_graph(Tensor([1.0, 2.0], name="alone")))
    assert [title(label) for label, _ in nodes.values()] == ["alone"] and edges == []


def test_nan_in_a_value_is_highlighted_and_stated_even_without_show_values():
    x = Tensor([1.0, -1.0, 4.0], requires_grad=True, name="x")
    with np.errstate(invalid="ignore"):
        y = x.sqrt()
    graph = draw_graph(y.sum())
    assert "value has 1 NaN of 3" in label_of(graph, "Sqrt")
    assert RED_FILL in attributes_of(graph, "Sqrt")
    assert RED_FILL in attributes_of(graph, "Sum")  # the sum of a NaN is NaN too
    assert RED_FILL not in attributes_of(graph, "x")


def test_inf_in_a_gradient_is_highlighted_and_stated():
    x = Tensor([0.0, 4.0], requires_grad=True, name="x")
    loss = x.sqrt().sum()
    with np.errstate(divide="ignore"):
        loss.backward(retain_graph=True)
    graph = draw_graph(loss)
    assert "grad has 1 Inf of 2" in label_of(graph, "x")
    assert RED_FILL in attributes_of(graph, "x")
    assert RED_FILL not in attributes_of(graph, "Sqrt")


def test_show_values_and_show_grads_add_statistics():
    x = Tensor([1.0, 2.0, 6.0, 3.0, 3.0], requires_grad=True, name="x")
    loss = (x * x).sum()
    plain = draw_graph(loss)
    assert "value" not in label_of(plain, "x") and "grad" not in label_of(plain, "x")
    graph = draw_graph(loss, show_values=True, show_grads=True)
    assert "value min 1 mean 3 max 6" in label_of(graph, "x")
    assert "grad min 2 mean 6 max 12" in label_of(graph, "x")
    assert "value 59" in label_of(graph, "Sum")  # one element: the value itself
    small = draw_graph((Tensor([1.0, -2.5], requires_grad=True, name="v") * 2).sum(), show_values=True)
    assert "value [1, -2.5]" in label_of(small, "v")  # up to 4 entries: written out


def test_a_graph_freed_by_backward_draws_its_output_with_a_note():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    loss = (x * 3).sum()
    loss.backward()
    with pytest.warns(TeachingWarning, match="already freed the graph"):
        nodes, edges = parse(draw_graph(loss, show_grads=True))
    (label,) = [label for label, _ in nodes.values()]
    assert title(label) == "Sum" and "graph freed" in label and "retain_graph=True" in label
    assert edges == []


def test_a_chain_of_100000_ops_draws_without_recursion():
    x = Tensor([1.0], requires_grad=True, name="x")
    y = x
    for _ in range(100_000):
        y = -y
    lines = draw_graph(y).source.splitlines()
    assert sum(" [label=<" in line for line in lines) == 100_001
    assert sum(" -> " in line for line in lines) == 100_000


def test_save_graph_writes_dot_text_without_the_dot_program(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    x = Tensor([1.0], requires_grad=True, name="x")
    for name in ("g.dot", "g.gv", "nested/folder/g.dot"):
        path = save_graph(x * 2, tmp_path / name)
        assert path == tmp_path / name and path.read_text().startswith("digraph")
    plain = save_graph(x * 2, tmp_path / "graph", format="dot")
    assert plain.read_text() == (tmp_path / "g.dot").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot", "g.gv", "graph", "nested"]  # no temp files


def test_save_graph_without_the_dot_program_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(DotNotFoundError, match="apt-get install graphviz") as error:
        save_graph(x * 2, tmp_path / "g.svg")
    assert "brew install graphviz" in str(error.value) and ".dot" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_save_graph_rejects_unknown_formats(tmp_path):
    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"\.svg, \.png"):
        save_graph(x * 2, tmp_path / "g.jpg")
    with pytest.raises(ValueError, match="unknown graph format"):
        save_graph(x * 2, tmp_path / "g.svg", format="bmp")


@needs_dot
def test_rendering_gives_valid_svg_and_png(tmp_path):
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    graph = draw_graph((x * x + x).sum(), show_values=True)
    root = ElementTree.fromstring(graph.pipe(format="svg"))
    assert root.tag.endswith("svg")
    png = save_graph((x * x).sum(), tmp_path / "g.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_dot
def test_two_layer_mlp_loss_renders_to_svg_with_parameter_names(tmp_path):
    loss, params, x = two_layer_mlp_loss()
    loss.backward(retain_graph=True)
    names = dict(params, x=x)
    graph = draw_graph(loss, names=names, show_grads=True)
    nodes, edges = parse(graph)
    # x, W1, MatMul, b1, Add, Relu, W2, MatMul, b2, Add, LogSumExp, Sub, GetItem, Mean, Neg
    assert len(nodes) == 15 and len(edges) == 15
    path = save_graph(loss, tmp_path / "mlp.svg", names=names, show_grads=True)
    root = ElementTree.parse(path).getroot()
    assert root.tag.endswith("svg")
    texts = {element.text for element in root.iter() if element.tag.endswith("text")}
    assert {"W1", "b1", "W2", "b2", "x", "MatMul", "Relu", "LogSumExp", "GetItem", "Neg"} <= texts
    assert any(text and text.startswith("grad min") for text in texts)
