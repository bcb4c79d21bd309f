"""The walkthrough notebook runs from top to bottom and shows what its stored outputs show."""
from __future__ import annotations

import doctest
import html
import json
from pathlib import Path

import pytest

from notebook_runner import run_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "walkthrough.ipynb"
_CHECKER = doctest.OutputChecker()


def stored_outputs():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return [cell["outputs"] for cell in notebook["cells"] if cell["cell_type"] == "code"]


def printed(outputs) -> str:
    return "".join("".join(o["text"]) if isinstance(o["text"], list) else o["text"]
                   for o in outputs if o["output_type"] == "stream")


def shown(outputs):
    return [sorted(o["data"]) for o in outputs if o["output_type"] != "stream"]


@pytest.mark.requires_program("dot")
def test_the_walkthrough_notebook_runs_and_shows_its_stored_outputs(mnist_dir):
    pytest.importorskip("matplotlib")
    ran = run_notebook(NOTEBOOK, env={"TINYGRAD_MNIST_DATA": str(mnist_dir)})
    stored = stored_outputs()
    assert len(ran) == len(stored)
    for number, (new, old) in enumerate(zip(ran, stored), start=1):
        assert _CHECKER.check_output(printed(old), printed(new), doctest.NORMALIZE_WHITESPACE), (
            f"cell {number} printed\n{printed(new)}\nbut the notebook shows\n{printed(old)}"
            "\n(python tests/examples/notebook_runner.py examples/walkthrough.ipynb --write stores new outputs)")
        assert shown(new) == shown(old), f"cell {number} displays {shown(new)}, the notebook {shown(old)}"
    displays = [o["data"] for cell in ran for o in cell if o["output_type"] != "stream"]
    svgs = [html.unescape(d["image/svg+xml"]) for d in displays if "image/svg+xml" in d]
    assert len(svgs) == 3 and "grad [[-0.06371, -0.1911], [0.0476, 0.1428]]" in svgs[0]
    assert "step 5: grad [3.074, -3]" in svgs[1] and "3: + [0.0296, -0.0001473]" in svgs[1]  # h's 2nd share
    htmls = [d["text/html"] for d in displays if "text/html" in d]
    assert any("<table>" in h and "(100, 64)" in h for h in htmls)  # the summary with output shapes
    assert any("image/png" in d for d in displays)  # the learning curves


def test_the_runner_displays_the_last_expression_and_reports_the_failing_cell(tmp_path):
    notebook = {"cells": [
        {"cell_type": "code", "source": ["x = 2\n", "print('hi')\n", "x * 21"], "outputs": [], "metadata": {}},
        {"cell_type": "code", "source": ["x;"], "outputs": [], "metadata": {}},
        {"cell_type": "code", "source": ["1 / 0"], "outputs": [], "metadata": {}},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook))
    with pytest.raises(RuntimeError, match="cell 3 raised ZeroDivisionError"):
        run_notebook(path)
    notebook["cells"].pop()
    path.write_text(json.dumps(notebook))
    first, second = run_notebook(path)
    assert first[0]["text"] == "hi\n" and first[1]["data"]["text/plain"] == "42"
    assert second == []
