"""The README's test command passes on a machine that has only Python: every test that needs
graphviz's ``dot`` (rendering pages, figures, the ``graph`` command's SVG) is skipped with its reason.

CI installs graphviz, so those tests run there; this test reruns them in a child pytest whose PATH
is empty, as on a fresh machine, so the skips are checked on every run too.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Every test module that renders with dot (a new one belongs here too).
RENDERING_TESTS = [
    "tests/docs/test_docs.py::test_python_blocks_run_and_print_what_the_page_shows",
    "tests/docs/test_docs.py::test_cli_commands_shown_are_accepted",
    "tests/docs/test_figures.py",
    "tests/viz/test_viz_graph.py",
    "tests/cli/test_cli_commands.py::test_graph_writes_svg",
]


def test_tests_that_need_dot_skip_with_the_reason_where_it_is_missing() -> None:
    env = dict(os.environ, PATH="")
    child = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *RENDERING_TESTS],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    report = child.stdout + child.stderr
    assert child.returncode == 0, report
    assert "needs the program 'dot', which is not on PATH (graphviz: apt-get install graphviz" in report, report
    skipped = [line for line in report.splitlines() if line.startswith("SKIPPED")]
    counts = sum(int(line.split("[", 1)[1].split("]", 1)[0]) for line in skipped if "'dot'" in line)
    assert counts >= 8, report  # README, index, tensors-and-autograd, experiments' graph command, figures, viz x2, CLI svg
