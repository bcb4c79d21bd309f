"""Draw the documentation's figures with the project's own ``draw_graph`` and write them as SVG.

Run from the repository root after changing a figure or the drawing code:

    python docs/scripts/make_figures.py           # rewrite docs/figures/*.svg (needs graphviz's dot)
    python docs/scripts/make_figures.py --check   # exit 1 if a committed figure is out of date

The SVGs are committed, so building the site needs no ``dot``. Each SVG carries the SHA-256 of the
DOT source it was rendered from, in a comment; ``--check`` (and tests/docs/test_figures.py)
redraw every graph and compare that hash, which tells whether a figure is stale without depending
on the exact bytes a particular graphviz version writes.

Each function below builds the same tensors as the code on the page that shows the figure.
Most figures are graphs drawn by graphviz; a :class:`Plot` is a matplotlib figure that offers the
same two things, a ``source`` (the numbers it plots, as text, to hash) and ``pipe(format="svg")``.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
from pathlib import Path
from typing import Callable, Dict, List, Union

import graphviz
import numpy as np

from tinygrad_mnist import Tensor, func, grad, jit, nn, optim
from tinygrad_mnist.viz import draw_backward, draw_graph, draw_program

FIGURES_DIR = Path(__file__).resolve().parent.parent / "figures"
HASH_PREFIX = "<!-- dot-source-sha256: "


def _ten_lines_loss() -> Tensor:
    w = Tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True, name="w")
    x = Tensor([1.0, 3.0], name="x")
    b = Tensor([0.1, -0.2], requires_grad=True, name="b")
    return ((w @ x + b).tanh() ** 2).sum()


def ten_lines() -> graphviz.Digraph:
    """README and guides/tensors-and-autograd.md: the ten-line example with every node's gradient,
    drawn before backward()."""
    return draw_graph(_ten_lines_loss(), show_grads=True)


def broadcast() -> graphviz.Digraph:
    """guides/reverse-mode.md: a bias of shape (3,) broadcast over a batch of 2."""
    x = Tensor(np.arange(8, dtype=np.float32).reshape(2, 4) / 8, name="x")
    w = Tensor(np.full((4, 3), 0.5, dtype=np.float32), requires_grad=True, name="w")
    b = Tensor(np.zeros(3, dtype=np.float32), requires_grad=True, name="b")
    loss = (x @ w + b).relu().mean()
    return draw_graph(loss, show_grads=True)


def _guide_example():
    """guides/reverse-mode.md's own small example."""
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    w = Tensor([[0.5], [-1.0]], requires_grad=True, name="w")
    return (x @ w).tanh().sum()


def backward_steps() -> graphviz.Digraph:
    """guides/reverse-mode.md: the backward pass of the guide's example, its steps on the edges."""
    return draw_backward(_guide_example())


def _shared_example():
    x = Tensor([1.0, -2.0], requires_grad=True, name="x")
    h = x * 3
    return (h * h.tanh()).sum(), h


def backward_sum() -> graphviz.Digraph:
    """guides/reverse-mode.md: a tensor used twice; its two shares are added (step 3)."""
    loss, h = _shared_example()
    return draw_backward(loss, names={"h": h})


def backward_sum_step2() -> graphviz.Digraph:
    """guides/reverse-mode.md: the same pass after its second step, h's first share waiting."""
    loss, h = _shared_example()
    return draw_backward(loss, step=2, names={"h": h})


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


class Plot:
    """A matplotlib figure with what this script needs of a ``graphviz.Digraph``: ``source``, the
    plotted numbers as text (rounded to 4 significant digits, so the hash does not depend on the
    last bits a machine computes), and ``pipe(format="svg")``, which draws it (needs matplotlib)."""

    def __init__(self, series: Dict[str, np.ndarray], draw: Callable[[Dict[str, np.ndarray]], object]):
        self.series = series
        self.draw = draw
        self.source = "\n".join(
            f"{name}: " + " ".join(f"{value:.4g}" for value in np.ravel(values)) for name, values in series.items()
        )

    def pipe(self, format: str = "svg") -> bytes:  # noqa: A002  (graphviz's name)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        with matplotlib.rc_context({"svg.hashsalt": "tinygrad_mnist", "svg.fonttype": "none"}):
            figure = self.draw(self.series)
            buffer = io.BytesIO()
            figure.savefig(buffer, format=format, metadata={"Date": None}, bbox_inches="tight")
            plt.close(figure)
        return buffer.getvalue()


def _rosenbrock(p):
    a, b = p[0], p[1]
    return (1 - a) ** 2 + 100 * (b - a ** 2) ** 2


def _xor_problem():
    """guides/functional-autodiff.md: the XOR points, the flat-vector MLP loss and its first weights."""
    rng = np.random.default_rng(0)
    points = rng.uniform(-1, 1, (32, 2))
    labels = (points[:, 0] * points[:, 1] > 0).astype(np.int64)
    shapes = [(2, 6), (6,), (6, 2), (2,)]

    def loss(theta):
        parts, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            parts.append(theta[start:start + size].reshape(shape))
            start += size
        w1, b1, w2, b2 = parts
        logits = (Tensor(points) @ w1 + b1).tanh() @ w2 + b2
        return (logits.logsumexp(axis=1) - logits[np.arange(len(labels)), labels]).mean()

    return loss, rng.standard_normal(32) * 0.5


def functional_autodiff() -> Plot:
    """guides/functional-autodiff.md: Newton's method and gradient descent on the Rosenbrock function;
    the Hessian eigenvalues of the XOR MLP's loss before and after 300 steps of gradient descent."""
    newton: List[np.ndarray] = [np.array([-1.2, 1.0])]
    value_and_gradient, hessian = func.value_and_grad(_rosenbrock), func.hessian(_rosenbrock)
    for _ in range(6):
        _, gradient = value_and_gradient(newton[-1])
        newton.append(newton[-1] - np.linalg.solve(hessian(newton[-1]).numpy(), gradient.numpy()))
    descent: List[np.ndarray] = [np.array([-1.2, 1.0])]
    gradient_of = func.grad(_rosenbrock)
    for _ in range(2000):
        descent.append(descent[-1] - 1e-3 * gradient_of(descent[-1]).numpy())
    loss, theta = _xor_problem()
    initial = theta
    step = func.value_and_grad(loss)
    for _ in range(300):
        theta = theta - 1.0 * step(theta)[1].numpy()
    series = {
        "losses": np.array([loss(Tensor(initial)).item(), loss(Tensor(theta)).item()]),
        "newton": np.array(newton),
        "descent": np.array(descent),
        "initial": np.linalg.eigvalsh(func.hessian(loss)(initial).numpy()),
        "trained": np.linalg.eigvalsh(func.hessian(loss)(theta).numpy()),
    }
    return Plot(series, _draw_functional_autodiff)


def _draw_functional_autodiff(series: Dict[str, np.ndarray]):
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    a, b = np.meshgrid(np.linspace(-1.6, 1.6, 160), np.linspace(-3.4, 2.0, 160))
    left.contour(a, b, np.log10(_rosenbrock(np.array([a, b])) + 1e-3), levels=18, cmap="Greys", linewidths=0.6)
    descent, newton = series["descent"], series["newton"]
    left.plot(descent[::10, 0], descent[::10, 1], color="tab:blue", linewidth=1.5,  # every 10th step: the same line
              label=f"gradient descent, {len(descent) - 1} steps")
    left.plot(newton[:, 0], newton[:, 1], "o-", color="tab:red", markersize=4, linewidth=1.2,
              label=f"Newton's method, {len(newton) - 1} steps")
    left.plot([1.0], [1.0], "*", color="black", markersize=11, label="minimum (1, 1)")
    left.set(xlabel="a", ylabel="b", title="Rosenbrock: (1 - a)² + 100 (b - a²)²")
    left.legend(loc="lower right", fontsize=8)
    for name, loss, color, marker in zip(["initial", "trained"], series["losses"], ["tab:orange", "tab:green"], "os"):
        values = series[name]
        right.plot(np.arange(1, len(values) + 1), values, marker, color=color, markersize=4,
                   label=f"{name} weights (loss {loss:.3f})")
    right.axhline(0.0, color="grey", linewidth=0.8)
    right.set_yscale("symlog", linthresh=1e-2)
    right.margins(y=0.06)
    right.set(xlabel="eigenvalue number (sorted)", ylabel="eigenvalue (symmetric log scale)",
              title="Hessian eigenvalues of a 2-6-2 MLP's loss (32 weights)")
    right.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    return figure


def jit_step() -> graphviz.Digraph:
    """guides/how-the-jit-works.md: the program recorded from the guide's training step (a 4-3-2 tanh
    MLP, cross-entropy, SGD with momentum), replayed from the third call on."""
    model = nn.MLP(4, [3], 2, activation="tanh", seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.SoftmaxCrossEntropyLoss()

    @jit
    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    rng = np.random.default_rng(0)
    for _ in range(3):
        step(Tensor(rng.standard_normal((5, 4)).astype(np.float32)), rng.integers(0, 2, 5))
    return draw_program(step.programs()[0])


FIGURES: Dict[str, Callable[[], Union[graphviz.Digraph, Plot]]] = {
    "ten-lines": ten_lines,
    "broadcast": broadcast,
    "backward-steps": backward_steps,
    "backward-sum": backward_sum,
    "backward-sum-step2": backward_sum_step2,
    "double-backward": double_backward,
    "small-mlp": small_mlp,
    "nan-source": nan_source,
    "functional-autodiff": functional_autodiff,
    "jit-step": jit_step,
}


def source_hash(graph: Union[graphviz.Digraph, Plot]) -> str:
    """SHA-256 of a graph's DOT source, the identity of a figure."""
    return hashlib.sha256(graph.source.encode("utf-8")).hexdigest()


def embedded_hash(svg_text: str) -> str | None:
    """The DOT-source hash written into an SVG by :func:`render`, or None."""
    start = svg_text.find(HASH_PREFIX)
    if start < 0:
        return None
    start += len(HASH_PREFIX)
    return svg_text[start : svg_text.index(" -->", start)]


def render(graph: Union[graphviz.Digraph, Plot]) -> bytes:
    """The SVG of ``graph`` (needs ``dot``, or matplotlib for a :class:`Plot`), with the hash of its
    source after the XML declaration."""
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
