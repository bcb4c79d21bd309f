"""Quickstart: build an expression, differentiate it, print the gradients, draw the graph.

Run: python examples/quickstart.py [--out quickstart_graph.svg]
"""
import argparse
import shutil

import numpy as np

from tinygrad_mnist import Tensor, grad
from tinygrad_mnist.viz import draw_graph


def main(out: str) -> None:
    w = Tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True, name="w")
    x = Tensor([1.0, 3.0], name="x")
    b = Tensor([0.1, -0.2], requires_grad=True, name="b")
    loss = ((w @ x + b).tanh() ** 2).sum()
    graph = draw_graph(loss, show_grads=True)  # every node's gradient, before backward() frees the graph
    loss.backward()
    print("loss   =", loss.item())
    print("dL/dw  =", np.array2string(w.grad.numpy(), precision=4))
    print("dL/db  =", np.array2string(b.grad.numpy(), precision=4))

    # Second derivative of tanh(x)^2 at one point, through create_graph=True.
    t = Tensor(np.array(0.7), requires_grad=True)
    (first,) = grad(t.tanh() ** 2, t, create_graph=True)
    (second,) = grad(first, t)
    print("d/dt tanh(t)^2 =", round(first.item(), 6), " d2/dt2 =", round(second.item(), 6))

    if shutil.which("dot"):
        svg = graph.pipe(format="svg")
        with open(out, "wb") as f:
            f.write(svg)
        print("graph drawn to", out)
    else:
        print("graphviz 'dot' not installed; DOT source:\n" + graph.source)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="quickstart_graph.svg", help="where to write the SVG drawing")
    main(parser.parse_args().out)
