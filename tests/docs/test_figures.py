"""The committed figures in docs/figures are up to date and used.

Each SVG records the SHA-256 of the DOT source it was rendered from (docs/scripts/make_figures.py
writes it). Redrawing every graph must give the same DOT source: if a drawing changes (in the
figure script or in ``draw_graph``), this fails until the figures are regenerated with
``python docs/scripts/make_figures.py``. Comparing DOT sources rather than SVG bytes keeps the
check independent of the installed graphviz version.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from .markdown_blocks import DOCS_DIR, pages

SCRIPT = DOCS_DIR / "scripts" / "make_figures.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("make_figures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_figures = _load_script()


@pytest.mark.parametrize("name", sorted(make_figures.FIGURES))
def test_committed_figure_matches_its_source(name: str) -> None:
    path = make_figures.FIGURES_DIR / f"{name}.svg"
    assert path.is_file(), f"{path} is missing: run python docs/scripts/make_figures.py"
    committed = make_figures.embedded_hash(path.read_text(encoding="utf-8"))
    assert committed == make_figures.source_hash(make_figures.FIGURES[name]()), (
        f"docs/figures/{name}.svg is out of date: run python docs/scripts/make_figures.py and commit the SVG"
    )


def test_every_figure_is_shown_and_every_shown_figure_exists() -> None:
    shown = set()
    for page in pages():
        for match in re.finditer(r"!\[[^\]]*\]\(([^)]+\.svg)\)", page.read_text(encoding="utf-8")):
            target = (page.parent / match.group(1)).resolve()
            assert target.is_file(), f"{page.name} shows {match.group(1)}, which does not exist"
            shown.add(target)
    committed = {p.resolve() for p in make_figures.FIGURES_DIR.glob("*.svg")}
    assert committed == {(make_figures.FIGURES_DIR / f"{n}.svg").resolve() for n in make_figures.FIGURES}
    assert committed <= shown, f"figures no page shows: {sorted(p.name for p in committed - shown)}"


@pytest.mark.requires_program("dot")
def test_render_records_the_source_hash_that_check_compares(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(make_figures, "FIGURES_DIR", tmp_path)
    assert make_figures.stale_figures() == list(make_figures.FIGURES)
    assert make_figures.main([]) == 0
    assert make_figures.stale_figures() == []
    svg = (tmp_path / "double-backward.svg").read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "<svg" in svg
    assert make_figures.main(["--check"]) == 0
    Path(tmp_path / "double-backward.svg").write_text(svg.replace(make_figures.embedded_hash(svg), "0" * 64))
    assert make_figures.main(["--check"]) == 1
