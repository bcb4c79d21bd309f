"""Pictures for learning: the graph of ops behind a tensor (graphviz) and learning curves (matplotlib).

>>> from tinygrad_mnist import Tensor
>>> from tinygrad_mnist.viz import draw_graph
>>> w = Tensor([1.0, 2.0], requires_grad=True, name="w")
>>> "MatMul" in draw_graph(w @ w).source
True
"""
from .curves import curves_figure, plot_curves, run_directories
from .graph import DotNotFoundError, draw_graph, save_graph
from .program import draw_program
from .steps import backward_table, draw_backward, save_backward_steps

__all__ = [
    "DotNotFoundError",
    "backward_table",
    "curves_figure",
    "draw_backward",
    "draw_graph",
    "draw_program",
    "plot_curves",
    "run_directories",
    "save_backward_steps",
    "save_graph",
]
