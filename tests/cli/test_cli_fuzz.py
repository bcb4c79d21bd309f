"""Random argument lists never crash the parsing and validation layer.

Each list ends with ``--dry-run``, which checks everything and prints the resolved settings without
loading data or training, so whatever hypothesis draws, the outcome must be exit 0, or exit 2 with
exactly one line on stderr, and never a traceback.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile

from hypothesis import given
from hypothesis import strategies as st

from tinygrad_mnist.cli import COMMANDS, build_parser, main
from tinygrad_mnist.train import SETTINGS

OPTIONS = sorted({o for sub in build_parser().commands.values() for o in sub.option_names} | {"--help", "--version", "--"})
NAMES = sorted({c for s in SETTINGS for c in getattr(s.kind, "choices", ())} | {"none", "all", "true", "false", "0.1,0.2"})

tokens = st.one_of(
    st.sampled_from(OPTIONS),
    st.sampled_from(COMMANDS),
    st.sampled_from(NAMES),
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "-", "-1", "-0.5", "1e-3", "-1e-3", "1e400", "0", "=", "--lr=", "--hidden=1,2"]),
    st.text(max_size=12),
)
argument_lists = st.lists(tokens, max_size=10)


@given(first=st.sampled_from(COMMANDS + ("", "--help", "bogus")), rest=argument_lists)
def test_random_arguments_exit_cleanly(first, rest):
    argv = [first, *rest, "--dry-run"]
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    # An empty working directory: nothing random can name an existing run or checkpoint.
    with tempfile.TemporaryDirectory() as empty:
        os.chdir(empty)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(argv)
        finally:
            os.chdir(here)
        assert os.listdir(empty) == [], "a dry run wrote files"
    assert "Traceback" not in err.getvalue()
    assert code in (0, 2), (argv, code, err.getvalue())
    if code == 2:
        assert len(err.getvalue().splitlines()) == 1, (argv, err.getvalue())
        assert err.getvalue().startswith("tinygrad-mnist: error: ")
