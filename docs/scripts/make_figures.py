"""Draw the documentation's figures with the project's own ``draw_graph`` and write them as SVG.

Run from the repository root after changing a figure or the drawing code:

    python docs/scripts/make_figures.py           # rewrite docs/figures/*.svg (needs graphviz's dot)
    python docs/scripts/make_figures.py --check   # exit 1 if a committed figure is out of date

The SVGs are committed, so building the site needs no ``dot``. Each SVG carries the SHA-256 of the
DOT source it was rendered from, in a comment; ``--check`` (and tests/docs/test_figures.py)
redraw every graph and compare that hash, which tells whether a figure is stale without depending
on the exact bytes a particular graphviz version writes.

Each function below builds the same tensors as the code on the page that shows the figure.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Callable, Dict

import graphviz
import numpy as np

from tinygrad_mnist import Tensor, grad, nn
from tinygrad_mnist.viz import draw_graph

FIGURES_DIR = Path(__file__).resolve().parent.parent / "figures"
HASH_PREFIX = "<!-- dot-source-sha256: "


def ten_lines() -> graphviz.Digraph:
    """guides/tensors-and-autograd.md and index.md: the ten-line example, with its gradients."""
    w = Tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True, name="w")
    x = Tensor([1.0, 3.0], name="x")
    b = Tensor([0.1, -0.2], requires_grad=True, name="b")
    loss = ((w @ x + b).tanh() ** 2).sum()
    loss.backward(retain_graph=True)
    return draw_graph(loss, show_grads=True)


def broadcast() -> graphviz.Digraph:
    """guides/reverse-mode.md: a bias of shape (3,) broadcast over a batch of 2."""
    x = Tensor(np.arange(8, dtype=np.float32).reshape(2, 4) / 8, name="x")
    w = Tensor(np.full((4, 3), 0.5, dtype=np.float32), requires_grad=True, name="w")
    b = Tensor(np.zeros(3, dtype=np.float32), requires_grad=True, name="b")
    loss = (x @ w + b).relu().mean()
    loss.backward(retain_graph=True)
    return draw_graph(loss, show_grads=True)


def double_backward() -> graphviz.Digraph:
    """guides/reverse-mode.md: the graph that grad(..., create_graph=True) records for d(x**3)/dx."""
    x = Tensor(2.0, requires_grad=True, name="x")
    y = x ** 3
    (dy_dx,) = grad(y, x, create_graph=True)
    return draw_graph(dy_dx, names={"x": x})


def small_mlp() -> graphviz.Digraph:
    """guides/writing-a-model.md: a 4-3-2 MLP and its cross-entropy loss, parameters named."""
    model = nn.MLP(4, [3], 2, activation="relu", seed=0)
    x = Tensor(np.ones((5, 4), dtype=np.float32), name="images")
    loss = nn.SoftmaxCrossEntropyLoss()(model(x), np.array([0, 1, 1, 0, 1]))
    return draw_graph(loss, names=dict(model.named_parameters()))


def nan_source() -> graphviz.Digraph:
    """troubleshooting.md: log(0) gives -inf, and -inf * 0 gives NaN; the drawing marks both in red."""
    x = Tensor([0.0, 1.0], requires_grad=True, name="x")
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = (x * x.log()).sum()
    return draw_graph(loss)


FIGURES: Dict[str, Callable[[], graphviz.Digraph]] = {
    "ten-lines": ten_lines,
    "broadcast": broadcast,
    "double-backward": double_backward,
    "small-mlp": small_mlp,
    "nan-source": nan_source,
}


def source_hash(graph: graphviz.Digraph) -> str:
    """SHA-256 of a graph's DOT source, the identity of a figure."""
    return hashlib.sha256(graph.source.encode("utf-8")).hexdigest()


def embedded_hash(svg_text: str) -> str | None:
    """The DOT-source hash written into an SVG by :func:`render`, or None."""
    start = svg_text.find(HASH_PREFIX)
    if start < 0:
        return None
    start += len(HASH_PREFIX)
    return svg_text[start : svg_text.index(" -->", start)]


def render(graph: graphviz.Digraph) -> bytes:
    """The SVG of ``graph`` (needs ``dot``), with the hash of its source after the XML declaration."""
    svg = graph.pipe(format="svg").decode("utf-8")
    marker = f"{HASH_PREFIX}{source_hash(graph)} -->\n"
    declaration_end = svg.index("?>") + 3 if svg.startswith("<?xml") else 0
    return (svg[:declaration_end] + marker + svg[declaration_end:]).encode("utf-8")


def stale_figures() -> list[str]:
    """Names of figures whose committed SVG is missing or was drawn from another DOT source."""
    stale = []
    for name, build in FIGURES.items():
        path = FIGURES_DIR / f"{name}.svg"
        if not path.is_file() or embedded_hash(path.read_text(encoding="utf-8")) != source_hash(build()):
            stale.append(name)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report figures that are out of date")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_figures()
        for name in stale:
            print(f"out of date: docs/figures/{name}.svg (run python docs/scripts/make_figures.py)")
        return 1 if stale else 0
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    for name, build in FIGURES.items():
        path = FIGURES_DIR / f"{name}.svg"
        path.write_bytes(render(build()))
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
