"""Draw the computation graph of a two-layer MLP's loss, with parameter names and gradients.

Writes an SVG (or PNG/PDF/DOT by the suffix) with Graphviz; the .dot format needs no Graphviz.

Run: python examples/draw_graph.py --out mlp_graph.svg
"""
import argparse
import shutil

import numpy as np

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.viz import draw_graph, save_graph


def main(out: str) -> None:
    model = nn.MLP(784, [32], 10, activation="relu", seed=0)
    images = Tensor(np.random.default_rng(0).random((16, 784), dtype=np.float32), name="images")
    labels = np.arange(16) % 10
    loss = nn.SoftmaxCrossEntropyLoss()(model(images), labels)
    names = dict(model.named_parameters())
    graph = draw_graph(loss, names=names, show_grads=True)  # computes every node's gradient itself
    print(f"{graph.source.count('->')} edges; parameters: {', '.join(names)}")
    if out.endswith((".dot", ".gv")) or shutil.which("dot"):
        print("written to", save_graph(loss, out, names=names, show_grads=True))
    else:
        print("Graphviz 'dot' is not installed: use a .dot file name, or apt-get install graphviz")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="mlp_graph.svg", help="output file: .svg, .png, .pdf or .dot")
    main(parser.parse_args().out)
