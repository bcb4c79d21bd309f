"""tools/make_results.py keeps the pictured runs' metrics and redraws the pictures from them alone."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

TOOL = Path(__file__).resolve().parents[2] / "tools" / "make_results.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("make_results", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_recorded_grid_is_a_pictured_grid_with_whole_runs():
    tool = load_tool()
    for grid in tool.RECORDED.iterdir():
        assert grid.name in tool.FIGURES, f"{grid} is not a pictured grid"
        for run in grid.iterdir():
            assert sorted(p.name for p in run.iterdir()) == ["config.json", "metrics.csv"]
            assert "loss" in json.loads((run / "config.json").read_text())


def test_record_then_draw_gives_the_picture_from_the_metrics_alone(tmp_path, monkeypatch):
    tool = load_tool()
    monkeypatch.setattr(tool, "RECORDED", tmp_path / "recorded")
    grid = tmp_path / "runs" / "d_small_hidden"
    for name, loss in (("relu-ce", "ce"), ("relu-hinge", "hinge")):
        (grid / name).mkdir(parents=True)
        (grid / name / "metrics.csv").write_text(
            "epoch,train_loss,train_accuracy,test_loss,test_accuracy\n1,0.9,0.8,0.8,0.85\n2,0.5,0.9,0.6,0.9\n")
        (grid / name / "config.json").write_text(json.dumps({"loss": loss}))
        (grid / name / "checkpoint.npz").write_bytes(b"not copied")
    (grid / "results.md").write_text("not a run")
    markdown = tool.figure(grid, "d_small_hidden", "D", tmp_path / "pictures")
    assert markdown == "![D](results/d_small_hidden.png)"
    assert sorted(p.name for p in (tmp_path / "recorded" / "d_small_hidden").iterdir()) == ["relu-ce", "relu-hinge"]
    assert not (tmp_path / "recorded" / "d_small_hidden" / "relu-ce" / "checkpoint.npz").exists()
    first = (tmp_path / "pictures" / "d_small_hidden.png").read_bytes()
    assert first[:4] == b"\x89PNG"
    tool.draw("d_small_hidden", tmp_path / "pictures")  # --figures-only: the same picture again
    assert (tmp_path / "pictures" / "d_small_hidden.png").read_bytes() == first
