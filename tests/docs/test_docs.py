"""The documentation cannot rot: every python block runs, shown output matches, the site builds.

* Each page's ``python`` blocks run in order in one namespace, with a fresh temporary folder as
  the working directory and ``MPLBACKEND=Agg``, the way a reader would paste them one after the
  other. Tables of spellings (marked ``<!-- spellings: run -->`` or ``refused``) run in the same
  namespace, in page order: each row's right column is executed; in a ``refused`` table the left
  column must first fail with a one-line error that names the right column's spelling. A table
  headed "PyTorch" without a marker fails the test, so no row of one goes unexecuted. A ``text`` block titled "Output" after a python block must match what that block printed
  (doctest rules: ``...`` matches anything, whitespace is normalised). Warnings count as output,
  printed once per place as an interactive session prints them.
* The README's blocks are held to the same rules as the pages'.
* A block is skipped only when ``<!-- not-executed: reason -->`` stands right before it. A block
  marked ``<!-- requires-program: dot -->`` needs that program: where it is missing, the page (or
  the command) is skipped with the reason, through the suite's ``requires_program`` marker.
* Every ``tinygrad-mnist`` command in a shell block is run with ``--dry-run`` (which checks every
  argument), so no page shows an option or value the CLI does not accept; a ``toml`` block whose
  first line is ``# NAME.toml`` is written to that file first, so configs shown are checked too
  (one headed by a repository path, ``# examples/experiments/X.toml``, must match that file).
  Every ``--option`` in inline code must be an option of some subcommand, and every experiment
  config in ``examples/experiments`` is listed in the experiments guide.
* ``mkdocs build --strict`` succeeds (a warning, such as a broken link or reference, fails it)
  and the built pages load nothing from the network.
"""
from __future__ import annotations

import contextlib
import doctest
import importlib.util
import io
import os
import re
import shlex
import subprocess
import sys
import traceback
import warnings
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest

from .markdown_blocks import DOCS_DIR, TableRow, parse_blocks, parse_table_rows, page_id, pages

REPO = DOCS_DIR.parent
_CHECKER = doctest.OutputChecker()
_OUTPUT_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _requires(programs) -> List[pytest.MarkDecorator]:
    return [pytest.mark.requires_program(*sorted(set(programs)))] if programs else []


def _pages_with(language: str) -> List:
    """Pages with blocks of ``language`` (for python: or spelling tables), each marked with the
    programs its executed blocks need."""
    found = []
    for page in pages():
        text = page.read_text(encoding="utf-8")
        blocks = [b for b in parse_blocks(text) if b.language == language]
        if blocks or (language == "python" and parse_table_rows(text)[0]):
            programs = [name for b in blocks if b.skip_reason is None for name in b.programs]
            found.append(pytest.param(page, marks=_requires(programs), id=page_id(page)))
    return found


def _run_block(code: str, line: int, page: Path, namespace: Dict) -> str:
    """Execute one block; return what it printed to stdout and stderr."""
    # Leading newlines make tracebacks (and anomaly mode's "created at") point at the page's lines.
    compiled = compile("\n" * (line - 1) + code, str(page), "exec")
    captured = io.StringIO()

    def show_warning(message, category, filename, lineno, file=None, line=None):
        captured.write(warnings.formatwarning(message, category, filename, lineno, line))

    try:
        # Warnings are printed as a reader's interpreter would print them (once per place),
        # whatever pytest's own warning capture does.
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured), warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = show_warning
            exec(compiled, namespace)
    except Exception:
        pytest.fail(
            f"{page_id(page)}:{line}: the code block raised\n{traceback.format_exc()}\n"
            f"--- output before the error ---\n{captured.getvalue()}",
            pytrace=False,
        )
    return captured.getvalue()


_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _run_row(row: TableRow, page: Path, namespace: Dict) -> None:
    """Run one row of a spellings table (see the module docstring)."""
    where = f"{page_id(page)}:{row.line}"
    assert row.right, f"{where}: the right column has no `code` to run"
    if row.mode == "refused":
        assert len(row.left) == 1, f"{where}: a refused row needs one `code` span on the left"
        try:
            exec(compile("\n" * (row.line - 1) + row.left[0], str(page), "exec"), namespace)
        except Exception as error:  # the spelling must be refused, with any exception type that fits
            message = str(error)
        else:
            pytest.fail(f"{where}: `{row.left[0]}` ran without an error, but the table says it is refused", pytrace=False)
        assert message and "\n" not in message, f"{where}: the error is not one line: {message!r}"
        named = set(_IDENTIFIER.findall(" ".join(row.right))) - set(_IDENTIFIER.findall(row.left[0]))
        missing = sorted(word for word in named if not re.search(rf"\b{re.escape(word)}\b", message))
        assert not missing, f"{where}: the error for `{row.left[0]}` does not name {missing}: {message}"
    for code in row.right:
        _run_block(code, row.line, page, namespace)


@pytest.mark.parametrize("page", _pages_with("python"))
def test_python_blocks_run_and_print_what_the_page_shows(page: Path, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: Dict = {"__name__": "__docs__"}
    text = page.read_text(encoding="utf-8")
    blocks = parse_blocks(text)
    rows = list(parse_table_rows(text)[0])
    ran = 0
    for index, block in enumerate(blocks):
        if block.language != "python" or block.skip_reason is not None:
            continue
        while rows and rows[0].line < block.line:
            _run_row(rows.pop(0), page, namespace)
            ran += 1
        printed = _run_block(block.code, block.line, page, namespace)
        ran += 1
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if following is not None and following.is_output:
            if not _CHECKER.check_output(following.code, printed, _OUTPUT_FLAGS):
                example = doctest.Example(block.code, following.code)
                difference = _CHECKER.output_difference(example, printed, _OUTPUT_FLAGS)
                pytest.fail(
                    f"{page_id(page)}:{following.line}: the output shown differs from what the block at "
                    f"line {block.line} prints now\n{difference}",
                    pytrace=False,
                )
    for row in rows:
        _run_row(row, page, namespace)
        ran += 1
    assert ran > 0


@pytest.mark.parametrize("page", pages(), ids=page_id)
def test_spelling_tables_are_marked(page: Path) -> None:
    """A table headed "PyTorch" is a table of spellings: it must be marked so that its rows run."""
    _, unmarked = parse_table_rows(page.read_text(encoding="utf-8"))
    assert not unmarked, (
        f"{page_id(page)}: the tables at lines {unmarked} are not marked <!-- spellings: run --> or "
        "<!-- spellings: refused -->, so the docs test would not run their rows"
    )


def test_a_refused_row_must_fail_and_name_the_right_spelling() -> None:
    """Control: the table rules catch a row that runs, and an error that does not name the fix."""
    page = DOCS_DIR / "control.md"  # only named in messages, never read
    namespace: Dict = {}
    with pytest.raises(pytest.fail.Exception, match="ran without an error"):
        _run_row(TableRow("refused", ["y = 1"], ["y = 2"], 1), page, namespace)
    with pytest.raises(AssertionError, match="does not name"):
        _run_row(TableRow("refused", ["int('a')"], ["float_from('a')"], 1), page, namespace)
    _run_row(TableRow("refused", ["int('a')"], ["int('1')"], 1), page, namespace)


@pytest.mark.parametrize("page", pages(), ids=page_id)
def test_markers_and_output_blocks_are_well_formed(page: Path) -> None:
    blocks = parse_blocks(page.read_text(encoding="utf-8"))
    for index, block in enumerate(blocks):
        if block.skip_reason is not None:
            assert block.language == "python", f"{page_id(page)}:{block.line}: not-executed marks a non-python block"
            assert block.skip_reason, f"{page_id(page)}:{block.line}: not-executed needs a reason after the colon"
        if block.programs:
            assert block.language in ("python", "bash", "console", "shell", "sh"), (
                f"{page_id(page)}:{block.line}: requires-program marks a block that is not run"
            )
        if block.is_output:
            before = blocks[index - 1] if index else None
            assert before is not None and before.language == "python" and before.skip_reason is None, (
                f"{page_id(page)}:{block.line}: an Output block must follow an executed python block"
            )


def test_few_blocks_are_left_unexecuted() -> None:
    skipped = [
        f"{page_id(p)}:{b.line}" for p in pages() for b in parse_blocks(p.read_text(encoding="utf-8")) if b.skip_reason
    ]
    executed = [b for p in pages() for b in parse_blocks(p.read_text(encoding="utf-8")) if b.language == "python"]
    assert len(skipped) <= max(2, len(executed) // 10), f"too many not-executed blocks: {skipped}"


# ---- the command line ------------------------------------------------------------------------------
def _config_files(page: Path) -> Dict[str, str]:
    """The toml blocks of a page that name their file in a first-line comment (``# my.toml``)."""
    files = {}
    for block in parse_blocks(page.read_text(encoding="utf-8")):
        first = block.code.split("\n", 1)[0].strip()
        if block.language == "toml" and re.fullmatch(r"#\s*[\w./-]+\.toml", first):
            files[first.lstrip("#").strip()] = block.code
    return files


def test_config_files_shown_match_the_repository() -> None:
    """A toml block headed by a repository path (``# examples/...``) has that file's settings."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib
    shown = {name: text for page in pages() for name, text in _config_files(page).items() if "/" in name}
    assert shown, "no page shows a repository config file any more; drop this test or the headers"
    for name, text in shown.items():
        assert (REPO / name).is_file(), f"a page shows {name}, which does not exist"
        assert tomllib.loads(text) == tomllib.loads((REPO / name).read_text(encoding="utf-8")), (
            f"the settings shown for {name} differ from the file"
        )


def test_every_experiment_config_is_listed() -> None:
    text = (DOCS_DIR / "guides" / "experiments.md").read_text(encoding="utf-8")
    for config in sorted((REPO / "examples" / "experiments").glob("*.toml")):
        assert f"`{config.name}`" in text, f"guides/experiments.md does not list {config.name}"
    for listed in re.findall(r"`(\w+\.toml)`", text):
        assert listed == "my.toml" or (REPO / "examples" / "experiments" / listed).is_file(), f"{listed} does not exist"


def _shell_commands() -> List:
    """(page, line, argv) of every ``tinygrad-mnist ...`` command in bash/console/shell blocks (also
    after ``&&`` and as ``.venv/bin/tinygrad-mnist``), marked with the programs its block needs."""
    found = []
    for page in pages():
        for block in parse_blocks(page.read_text(encoding="utf-8")):
            if block.language not in ("bash", "console", "shell", "sh"):
                continue
            for offset, raw in enumerate(block.code.replace("\\\n", " ").split("\n")):
                for command in raw.lstrip("$ ").split("&&"):
                    words = shlex.split(command, comments=True)
                    if words and Path(words[0]).name == "tinygrad-mnist":
                        line = block.line + offset
                        found.append(pytest.param(page, line, words[1:], marks=_requires(block.programs),
                                                  id=f"{page_id(page)}:{line}"))
    return found


def _stand_in_run(path: Path) -> None:
    """A small finished run at ``path`` (for commands that read one), trained on synthetic data."""
    from tinygrad_mnist import train
    from tinygrad_mnist.data import Splits

    rng = np.random.default_rng(0)
    x = rng.random((40, 784), dtype=np.float32)
    y = np.arange(40) % 10
    config = train.TrainConfig(hidden=[8], epochs=1, batch_size=20, progress=False, disp_freq=0)
    train.fit(config, out_dir=path, data=Splits(x, y, None, None, x[:20], y[:20]), log=lambda line: None)


def _stand_in_grid(path: Path) -> None:
    """A small finished grid at ``path`` (for ``grid --resume``), trained on synthetic data."""
    from tinygrad_mnist import train
    from tinygrad_mnist.data import Splits
    from tinygrad_mnist.experiments import run_grid

    rng = np.random.default_rng(0)
    x = rng.random((40, 784), dtype=np.float32)
    y = np.arange(40) % 10
    config = train.TrainConfig(hidden=[8], epochs=1, batch_size=20, progress=False, disp_freq=0)
    run_grid(config, {"seed": [0, 1]}, path, data=Splits(x, y, None, None, x[:20], y[:20]), log=lambda line: None)


def _paths_read_by(argv: List[str]) -> List[str]:
    """The run folders or checkpoints a command reads (they must exist even for --dry-run)."""
    command, rest = argv[0], argv[1:]
    if command in ("train", "grid"):
        return [rest[i + 1] for i, word in enumerate(rest[:-1]) if word == "--resume"]
    if command in ("eval", "plot"):
        takes_value = {"--data-dir", "--out", "--title"}
        paths, skip = [], False
        for word in rest:
            if skip:
                skip = False
            elif word in takes_value:
                skip = True
            elif not word.startswith("-"):
                paths.append(word)
        return paths
    return []


_COMMANDS = _shell_commands()


@pytest.mark.parametrize("page, line, argv", _COMMANDS)
def test_cli_commands_shown_are_accepted(page: Path, line: int, argv: List[str], tmp_path, monkeypatch, capsys) -> None:
    from tinygrad_mnist.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(REPO / "examples")
    for name, text in _config_files(page).items():
        if "/" not in name:  # files under examples/ are the repository's own, linked above
            (tmp_path / name).write_text(text, encoding="utf-8")
    for path in _paths_read_by(argv):
        if not Path(path).exists():
            if argv[0] == "grid":
                _stand_in_grid(Path(path))
            else:
                _stand_in_run(Path(path.removesuffix("/checkpoint.npz")))
    for i, word in enumerate(argv[:-1]):
        if word == "--data-dir":
            Path(argv[i + 1]).mkdir(parents=True, exist_ok=True)
    status = main(argv if "--help" in argv else argv + ["--dry-run"])
    assert status == 0, f"{page_id(page)}:{line}: tinygrad-mnist {shlex.join(argv)}\n{capsys.readouterr().err}"


def test_inline_options_exist() -> None:
    """Every `--option` written in inline code is an option of some tinygrad-mnist subcommand."""
    from tinygrad_mnist.cli import build_parser

    parser = build_parser()
    known = set(parser._option_string_actions)
    for action in parser._actions:
        for sub in getattr(action, "choices", None) or {}:
            if hasattr(action.choices[sub], "_option_string_actions"):
                known |= set(action.choices[sub]._option_string_actions)
    unknown = []
    for page in pages():
        text = re.sub(r"^\s*(```|~~~).*?^\s*\1", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
        for match in re.finditer(r"`(--[a-z][a-z0-9-]*)", text):
            if match.group(1) not in known:
                unknown.append(f"{page_id(page)}: {match.group(1)}")
    assert not unknown, f"options the CLI does not have: {unknown}"


# ---- the site ----------------------------------------------------------------------------------------
def _missing_site_tool() -> str:
    """The first package of the docs extra that is not installed, or ""."""
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers"):
        if importlib.util.find_spec(module) is None:
            return module
    return ""


@pytest.mark.skipif(bool(_missing_site_tool()), reason=f'{_missing_site_tool()} is not installed: pip install -e ".[docs]"')
def test_site_builds_strict_and_offline(tmp_path) -> None:
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{log}"
    assert "WARNING" not in log, log
    external = []
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        for match in re.finditer(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(https?:)?//[^"]*"', text):
            if "rel=\"canonical\"" not in match.group(0):
                external.append(f"{html.relative_to(site)}: {match.group(0)}")
    assert not external, "pages load resources from the network:\n" + "\n".join(external)
    # Every guide made it into the site, with its figures.
    for guide in ("tensors-and-autograd", "coming-from-pytorch", "reverse-mode", "how-the-jit-works", "writing-a-model",
                  "custom-ops", "functional-autodiff", "experiments"):
        assert (site / "guides" / guide / "index.html").is_file()
    assert list((site / "figures").glob("*.svg"))
