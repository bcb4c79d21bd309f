"""``tinygrad-mnist graph``: the computation graph of a model and its loss, drawn with graphviz.

Its options are the settings of the model and the loss (their part in the declarations) and the
seed, so a new model or loss setting appears here without touching this file.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from ..checks import Bounds
from ..errors import UserError
from ..tensor import Tensor
from ..nn.lenet import IMAGE_SIDE
from ..train.builders import MNIST_FEATURES, build_loss, build_model
from ..train.config import N_CLASSES, SETTINGS, TrainConfig
from ..train.memory import check_fits_in_memory, model_memory
from .options import Parser, add_dry_run, add_settings, given_settings, log, out_file, whole_number

NAME = "graph"
HELP = "draw the computation graph of a model and its loss"
DESCRIPTION = (
    "Build the model and its loss on a small seeded random batch shaped like MNIST and\n"
    "draw the graph of ops that backward() walks, with the parameters named. With\n"
    "--show-grads every node shows its gradient; with --steps the drawing numbers the\n"
    "steps of the backward pass on its edges and the steps are printed as a table."
)
EPILOG = ("examples:\n  tinygrad-mnist graph --hidden 8 --steps --out steps.svg\n"
          "  tinygrad-mnist graph --model lenet5 --batch-norm --out lenet5.svg")
GRAPH_SETTINGS = tuple(s for s in SETTINGS if s.part in ("model", "loss") or s.name == "seed")
_BATCH = Bounds(1, 64)


def add_arguments(parser: Parser) -> None:
    """The model and loss settings, the batch to draw with, what to show and the file."""
    parser.add_argument("--batch-size", type=whole_number("batch_size", _BATCH), default=2, metavar="N",
                        help=f"rows of the random input batch; {_BATCH.describe()} (default: 2)")
    parser.add_argument("--show-values", action="store_true",
                        help="add min/mean/max of each tensor's values to its node")
    parser.add_argument("--show-grads", action="store_true",
                        help="add each node's gradient (d loss / d node; min/mean/max beyond 4 entries)")
    parser.add_argument("--steps", action="store_true",
                        help="draw the backward pass: each node's step number and gradient, each edge the "
                        "gradient sent back along it; and print the steps as a table")
    parser.add_argument("--out", type=out_file((".svg", ".png", ".pdf", ".dot", ".gv")), default="graph.svg",
                        metavar="FILE", help="file to write: .svg, .png or .pdf (these need the graphviz "
                        "'dot' program) or .dot/.gv (the graphviz source) (default: graph.svg)")
    add_dry_run(parser, "the settings of the model to draw")
    add_settings(parser, GRAPH_SETTINGS)


def run(args: argparse.Namespace) -> int:
    """Draw the graph (or show its settings with ``--dry-run``); the exit status."""
    config = TrainConfig.from_dict(given_settings(args, GRAPH_SETTINGS))
    check_fits_in_memory(model_memory(config), "drawing this model")
    suffix = Path(args.out).suffix.lower()
    if suffix in (".svg", ".png", ".pdf") and shutil.which("dot") is None:
        raise UserError(f"writing {suffix} needs the graphviz 'dot' program, which is not installed; "
                        "install graphviz, or write --out graph.dot")
    if args.dry_run:
        shown = {s.name: getattr(config, s.name) for s in GRAPH_SETTINGS}
        log(f"would draw into {args.out}: {json.dumps(shown)}")
        return 0
    from ..viz import DotNotFoundError, backward_table, draw_backward, save_graph
    from ..viz.graph import save_rendered

    loss, names, groups = graph_parts(config, args.batch_size)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    try:
        if args.steps:
            written = save_rendered(draw_backward(loss, names=names), args.out)
            print(backward_table(loss, names=names))
        else:
            written = save_graph(loss, args.out, names=names, show_values=args.show_values,
                                 show_grads=args.show_grads, groups=groups)
    except DotNotFoundError as e:
        raise UserError(str(e)) from None
    log(f"wrote {written}")
    return 0


def graph_inputs(config: TrainConfig, batch_size: int = 2):
    """``(loss, names)``: ``loss(model(x), y)`` on a seeded random MNIST-shaped batch, and the
    parameter names to label its graph with (``names`` maps names to tensors).

    Nothing is differentiated yet: the drawings compute the gradients they show themselves.

    Example:
        >>> loss, names = graph_inputs(TrainConfig(hidden=[4]))
        >>> loss.shape, sorted(names)[:2]
        ((), ['images', 'layers.0.bias'])
    """
    loss, names, _ = graph_parts(config, batch_size)
    return loss, names


def graph_parts(config: TrainConfig, batch_size: int = 2):
    """``(loss, names, groups)``: :func:`graph_inputs` and the boxes of the layers that made more
    than one op (see :func:`~tinygrad_mnist.viz.graph.layer_groups`). A CNN takes its batch as
    (N, 1, 28, 28) images, so the drawing starts at the images it convolves.

    Example:
        >>> loss, names, groups = graph_parts(TrainConfig(model="lenet5", batch_norm=True))
        >>> names["images"].shape, sorted(set(groups.values()))[0]
        ((2, 1, 28, 28), 'classifier.1: BatchNorm1d')
    """
    from ..viz.graph import layer_groups

    rng = np.random.default_rng(config.seed)
    model = build_model(config)
    loss_fn = build_loss(config)
    shape = (batch_size, 1, IMAGE_SIDE, IMAGE_SIDE) if config.model == "lenet5" else (batch_size, MNIST_FEATURES)
    images = Tensor(rng.random(shape).astype(config.dtype), name="images")
    labels = rng.integers(0, N_CLASSES, size=batch_size)
    logits, groups = layer_groups(model, images)
    loss = loss_fn(logits, labels)
    names = {"images": images, **dict(model.named_parameters())}
    return loss, names, groups
