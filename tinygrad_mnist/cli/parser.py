"""The whole argument parser: the top level (``--help``, ``--version``) and one subcommand per
command module, each adding its own options."""
from __future__ import annotations

import argparse
from typing import List

from .. import __version__
from ..checks import did_you_mean
from . import evaluate, graph, grid, plot, train
from .options import PROG, Parser, UsageError

# The commands in the order --help lists them; each module has NAME, HELP, DESCRIPTION, EPILOG,
# add_arguments(parser) and run(args).
COMMAND_MODULES = (train, evaluate, grid, plot, graph)
#: The names of the subcommands, in the order --help lists them.
COMMANDS = tuple(module.NAME for module in COMMAND_MODULES)


def build_parser() -> Parser:
    """The full argument parser (all subcommands); ``main`` adds one-line errors around it.

    Example:
        >>> build_parser().parse_args(["train", "--lr", "0.5"]).lr
        0.5
    """
    parser = Parser(
        prog=PROG,
        description="Train, evaluate and inspect small MLPs on MNIST with the tinygrad_mnist autograd engine.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in COMMAND_MODULES:
        command = subparsers.add_parser(module.NAME, help=module.HELP, description=module.DESCRIPTION,
                                        epilog=module.EPILOG, allow_abbrev=False,
                                        formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
        parser.commands[module.NAME] = command
    return parser


def parse(argv: List[str]) -> argparse.Namespace:
    """Parse ``argv``; every mistake raises UsageError with one line."""
    # The top-level parser has only --help and --version, so a first word that is not an option
    # must be the command; checking it here allows a did-you-mean that argparse cannot give.
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        raise UsageError(f"unknown command {argv[0]!r}{did_you_mean(argv[0], COMMANDS)} "
                         f"(choose from {', '.join(COMMANDS)}; see '{PROG} --help')")
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if args.command is None:
        raise UsageError(f"missing command: choose from {', '.join(COMMANDS)} (see '{PROG} --help')")
    if extras:
        raise UsageError(_unrecognized(extras[0], parser.commands[args.command]))
    return args


def _unrecognized(token: str, parser: Parser) -> str:
    where = f"(see '{parser.prog} --help')"
    if token.startswith("-") and len(token) > 1:
        return f"unknown option {token!r}{did_you_mean(token.split('=', 1)[0], parser.option_names)} {where}"
    return f"unexpected argument {token!r} {where}"
