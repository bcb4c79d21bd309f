"""The ``tinygrad-mnist`` command line (also ``python -m tinygrad_mnist``).

Subcommands, one module each: ``train`` (one run), ``eval`` (a checkpoint on the test set),
``grid`` (a Cartesian product of runs, in parallel), ``plot`` (learning curves of run directories)
and ``graph`` (the computation graph of a model and its loss). ``options`` holds what they share
(the options generated from the setting declarations), ``config_file`` reads TOML files,
``parser`` assembles the commands and ``main`` runs them.

Settings come from three layers, later ones winning: the
:class:`~tinygrad_mnist.train.TrainConfig` defaults, a TOML file given with ``--config``, and the
options actually typed. The command line converts text and calls the library; every rule on a
value is its setting's declaration.

Every mistake in the input (a bad value, an unknown name, a missing or malformed file) ends as one
line on stderr, ``tinygrad-mnist: error: ...``, and exit status 2. Any other exception is a bug
and keeps its traceback.

Example:
    >>> main(["train", "--hidden", "--lr", "0.5", "--dry-run"])  # doctest: +ELLIPSIS
    {
      "model": "mlp",
      "hidden": [],
    ...
    0
"""
from .config_file import read_config
from .evaluate import format_evaluation
from .graph import graph_inputs
from .grid import GridRequest, resolve_grid
from .main import main
from .parser import COMMANDS, build_parser
from .train import resolve_train

__all__ = [
    "COMMANDS",
    "GridRequest",
    "build_parser",
    "format_evaluation",
    "graph_inputs",
    "main",
    "read_config",
    "resolve_grid",
    "resolve_train",
]
