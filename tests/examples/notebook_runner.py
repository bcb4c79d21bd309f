"""A small notebook runner: execute an .ipynb's code cells as Jupyter would, without a kernel.

Cells run in order in one namespace, in a temporary working directory, with matplotlib's Agg
backend. Like IPython, a cell's last expression is displayed (unless the line ends with ``;``) and
``display(obj)`` is available; an object is shown through its ``_repr_mimebundle_`` (graphviz
drawings), ``_repr_html_`` (tensors, modules, summaries) or, for a matplotlib figure, as a PNG,
always with ``text/plain``. Printed text becomes a stream output.

No jupyter packages are needed, so the test runs offline with the dev extra alone. Run as a script
to store fresh outputs in the notebook (what a reader sees on a page that renders notebooks):

    python tests/examples/notebook_runner.py examples/walkthrough.ipynb --write
"""
from __future__ import annotations

import argparse
import ast
import base64
import contextlib
import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Dict, List


def mime_bundle(value) -> Dict[str, str]:
    """What a notebook would show for ``value``: {mime type: text}."""
    bundle: Dict[str, str] = {}
    if type(value).__name__ == "Figure" and hasattr(value, "savefig"):  # matplotlib, as the inline backend
        buffer = io.BytesIO()
        value.savefig(buffer, format="png", dpi=80)
        bundle["image/png"] = base64.b64encode(buffer.getvalue()).decode("ascii")
    elif hasattr(value, "_repr_mimebundle_"):
        shown = value._repr_mimebundle_(include=["image/svg+xml"])
        bundle.update({k: v.decode() if isinstance(v, bytes) else v for k, v in shown.items()})
    elif getattr(value, "_repr_html_", None) is not None and value._repr_html_() is not None:
        bundle["text/html"] = value._repr_html_()
    # A default repr holds a memory address, which would change the file on every run.
    bundle["text/plain"] = re.sub(r" at 0x[0-9a-f]+", "", repr(value))
    return bundle


def _split_last_expression(source: str):
    """(statements, last expression or None): the last expression is displayed, as in IPython."""
    tree = ast.parse(source)
    stripped = source.rstrip()
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not stripped.endswith(";"):
        last = ast.Expression(tree.body.pop().value)
        return tree, last
    return tree, None


def run_notebook(path: Path, env: Dict[str, str] | None = None) -> List[List[dict]]:
    """Execute every code cell of ``path``; return the outputs of each code cell (nbformat 4 dicts).

    An exception in a cell propagates, with the cell's number added to its message.
    """
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    all_outputs: List[List[dict]] = []
    namespace: Dict[str, object] = {"__name__": "__main__"}
    current: List[dict] = []

    def display(value) -> None:
        current.append({"output_type": "display_data", "data": mime_bundle(value), "metadata": {}})

    namespace["display"] = display
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as workdir:
        os.environ.update({"MPLBACKEND": "Agg", **(env or {})})
        os.chdir(workdir)
        try:
            for number, cell in enumerate(code_cells, start=1):
                current = []
                source = "".join(cell["source"])
                tree, last = _split_last_expression(source)
                printed = io.StringIO()
                try:
                    with contextlib.redirect_stdout(printed):
                        exec(compile(tree, f"<cell {number}>", "exec"), namespace)
                        value = None if last is None else eval(compile(last, f"<cell {number}>", "eval"), namespace)
                except Exception as error:
                    raise RuntimeError(f"cell {number} raised {type(error).__name__}: {error}") from error
                outputs = []
                if printed.getvalue():
                    outputs.append({"output_type": "stream", "name": "stdout", "text": printed.getvalue()})
                outputs += current
                if value is not None:
                    outputs.append({"output_type": "execute_result", "execution_count": number,
                                    "data": mime_bundle(value), "metadata": {}})
                all_outputs.append(outputs)
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
    return all_outputs


def write_outputs(path: Path, outputs: List[List[dict]]) -> None:
    """Store ``outputs`` (from ``run_notebook``) in the notebook's code cells, numbered 1, 2, ..."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    for number, (cell, cell_outputs) in enumerate(zip(code_cells, outputs), start=1):
        cell["execution_count"] = number
        cell["outputs"] = [
            {**o, "text": o["text"].splitlines(keepends=True)} if o["output_type"] == "stream" else o
            for o in cell_outputs
        ]
    Path(path).write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--write", action="store_true", help="store the outputs in the notebook")
    args = parser.parse_args(argv)
    notebook = args.notebook.resolve()
    outputs = run_notebook(notebook)
    if args.write:
        write_outputs(notebook, outputs)
    print(f"ran {len(outputs)} code cells of {args.notebook}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
