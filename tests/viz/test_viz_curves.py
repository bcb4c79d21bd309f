"""plot_curves (and the metrics.csv reader it uses): run directories, metric dicts, the picture, and clear errors."""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

from tinygrad_mnist.train import read_metrics_csv
from tinygrad_mnist.viz import plot_curves

pytest.importorskip("matplotlib")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HEADER = "epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds"


def write_run(folder, losses, with_val=False):
    """A run directory whose metrics.csv follows the training contract."""
    folder.mkdir(parents=True)
    header = HEADER + (",val_loss,val_accuracy" if with_val else "")
    rows = [header]
    for epoch, loss in enumerate(losses, start=1):
        row = f"{epoch},0.1,{loss},{1 - loss / 3:.4f},{loss * 1.1},{1 - loss / 2.8:.4f},1.5"
        rows.append(row + (f",{loss * 1.05},{1 - loss / 2.9:.4f}" if with_val else ""))
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    return folder


def metrics(losses):
    losses = np.asarray(losses, dtype=float)
    return {"epoch": list(range(1, len(losses) + 1)), "train_loss": losses, "train_accuracy": 1 - losses / 3,
            "test_loss": losses * 1.1, "test_accuracy": 1 - losses / 2.8}


def svg_texts(path):
    return {element.text for element in ElementTree.parse(path).getroot().iter() if element.text}


def test_two_run_directories_give_a_non_trivial_png(tmp_path):
    slow = write_run(tmp_path / "runs" / "slow", [2.0, 1.5, 1.1, 0.9, 0.8])
    fast = write_run(tmp_path / "runs" / "fast", [1.2, 0.5, 0.3, 0.25, 0.2], with_val=True)
    out = plot_curves([slow, str(fast)], tmp_path / "curves.png", title="slow vs fast")
    assert out == tmp_path / "curves.png"
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 20_000
    from matplotlib.image import imread

    pixels = imread(out)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 800
    colors = np.unique(pixels[..., :3].reshape(-1, 3).round(2), axis=0)
    assert len(colors) > 50  # curves, text and two run colours, not a blank canvas
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "runs"]  # no temporary file left


def test_labels_come_from_folder_names_and_pairs(tmp_path):
    import matplotlib

    alpha = write_run(tmp_path / "alpha", [1.0, 0.5])
    clash_a = write_run(tmp_path / "a" / "seed0", [1.0, 0.6])
    clash_b = write_run(tmp_path / "b" / "seed0", [1.0, 0.7])
    runs = [alpha, clash_a, clash_b, ("momentum 0.9", metrics([0.9, 0.4])), ("relabelled", alpha)]
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # keep text as text, to read it back
        out = plot_curves(runs, tmp_path / "curves.svg", title="label check")
    texts = svg_texts(out)
    labels = {text.split(": test ")[0] for text in texts if ": test " in text}  # each with its final accuracy
    assert labels == {"alpha", "a/seed0", "b/seed0", "momentum 0.9", "relabelled"}
    assert {"label check", "loss (train)", "accuracy (test)"} <= texts  # 5 runs: one split per panel
    assert "val" not in texts  # no run has a validation split


def test_a_diverged_run_is_marked_and_inf_does_not_break_the_plot(tmp_path):
    import matplotlib

    broken = metrics([1.0, 0.8, 0.7])
    broken["train_loss"] = [1.0, np.inf, np.nan]
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        out = plot_curves([("lr=10", broken), ("lr=0.1", metrics([1.0, 0.6, 0.4]))], tmp_path / "c.svg")
    assert {text.split(":")[0] for text in svg_texts(out)} >= {"lr=10 (diverged)", "lr=0.1"}


def test_a_grid_of_sixteen_runs_and_a_single_run_directory(tmp_path):
    rng = np.random.default_rng(0)
    runs = [(f"lr={lr} m={m}", metrics(np.exp(-rng.random() * np.arange(12)) + 0.05))
            for lr in (0.01, 0.1, 0.5, 1.0) for m in (0.0, 0.5, 0.9, 0.99)]
    assert plot_curves(runs, tmp_path / "grid.png").read_bytes()[:8] == PNG_MAGIC
    single = write_run(tmp_path / "only", [1.0, 0.5, 0.4])
    assert plot_curves(single, tmp_path / "one.pdf").read_bytes()[:5] == b"%PDF-"


def test_an_existing_picture_is_replaced(tmp_path):
    out = tmp_path / "curves.png"
    out.write_bytes(b"old")
    plot_curves([("run", metrics([1.0, 0.5]))], out)
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_missing_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    for name in [name for name in sys.modules if name == "matplotlib" or name.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "tinygrad_mnist\[plot\]"'):
        plot_curves([("run", metrics([1.0, 0.5]))], tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()


def test_bad_runs_get_clear_errors(tmp_path):
    out = tmp_path / "c.png"
    with pytest.raises(FileNotFoundError, match="no metrics.csv"):
        plot_curves([tmp_path / "nowhere"], out)
    with pytest.raises(ValueError, match="at least one run"):
        plot_curves([], out)
    with pytest.raises(TypeError, match=r"\(label, metrics\)"):
        plot_curves(metrics([1.0]), out)
    with pytest.raises(TypeError, match="run directory or a"):
        plot_curves([42], out)
    with pytest.raises(ValueError, match="no metric columns"):
        plot_curves([("run", {"epoch": [1, 2]})], out)
    with pytest.raises(ValueError, match="different lengths"):
        plot_curves([("run", {"train_loss": [1.0, 0.5], "test_loss": [1.0]})], out)
    with pytest.raises(ValueError, match="no epochs yet"):
        plot_curves([("run", {"train_loss": []})], out)
    with pytest.raises(ValueError, match="suffixes"):
        plot_curves([("run", metrics([1.0]))], tmp_path / "c.unknown")
    assert list(tmp_path.iterdir()) == []


def test_read_metrics_csv_turns_empty_cells_into_nan_and_names_bad_cells(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,lr,train_loss,test_loss\n1,0.1,0.5,\n2,0.1,nan,0.4\n")
    rows = read_metrics_csv(path)
    assert [row["epoch"] for row in rows] == [1, 2] and sorted(rows[0]) == ["epoch", "lr", "test_loss", "train_loss"]
    assert np.isnan(rows[0]["test_loss"]) and rows[1]["test_loss"] == 0.4 and np.isnan(rows[1]["train_loss"])
    path.write_text("epoch,train_loss\n1,0.5\n2,lots\n")
    with pytest.raises(ValueError, match="line 3: column train_loss holds 'lots'"):
        read_metrics_csv(path)
    with pytest.raises(ValueError, match="line 3: column train_loss holds 'lots'"):
        plot_curves([tmp_path], tmp_path / "c.png")  # the plot reads run directories with the same reader
    path.write_text("")
    with pytest.raises(ValueError, match="is empty"):
        read_metrics_csv(path)


def test_loss_panel_turns_logarithmic_when_losses_span_decades():
    from tinygrad_mnist.viz.curves import _spans_decades

    hinge = ("hinge", {"epoch": [1, 2], "train_loss": [45.0, 2.0]})
    ce = ("ce", {"epoch": [1, 2], "train_loss": [0.3, 0.02], "test_loss": [0.2, float("nan")]})
    assert _spans_decades([hinge, ce], "loss")
    assert not _spans_decades([ce], "loss")  # 0.3 / 0.02 is about one decade
    assert not _spans_decades([("empty", {"epoch": [], "train_loss": []})], "loss")
