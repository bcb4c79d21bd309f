"""Curves a teacher can read: metrics to show, zoomed or fixed y-limits, one loss axis per loss,
a legend for 9-12 runs with final accuracies, and grid folders."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tinygrad_mnist.viz import curves_figure, plot_curves

pytest.importorskip("matplotlib")


def run(epochs=20, final=0.97, loss_scale=1.0, loss=None, seed=0):
    """A run whose test accuracy climbs from 10% to about ``final``."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, epochs + 1)
    accuracy = final - (final - 0.1) * np.exp(-t) + rng.normal(0, 0.001, epochs)
    metrics = {"epoch": t, "train_loss": loss_scale * np.exp(-t / 4) + 0.01, "train_accuracy": accuracy + 0.01,
               "test_loss": loss_scale * np.exp(-t / 4) + 0.02, "test_accuracy": accuracy}
    if loss:
        metrics["loss"] = loss
    return metrics


def write_run_dir(folder, metrics, loss):
    folder.mkdir(parents=True)
    columns = [k for k in metrics if k != "loss"]
    lines = [",".join(columns)] + [",".join(str(metrics[c][i]) for c in columns) for i in range(len(metrics["epoch"]))]
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
    (folder / "config.json").write_text(json.dumps({"loss": loss, "lr": 0.1}))


def test_the_accuracy_axis_zooms_on_where_the_runs_differ():
    runs = [(f"run {k}", run(final=f)) for k, f in enumerate([0.96, 0.97, 0.98])]
    figure = curves_figure(runs)
    low, high = figure.axes[1].get_ylim()
    assert 0.94 < low < 0.96 and 0.98 < high <= 1.0  # not 0.1-1.0: the first epochs lie below
    assert "zoomed" in figure.axes[1].get_ylabel()
    unzoomed = curves_figure(runs, zoom=False).axes[1].get_ylim()
    assert unzoomed[0] < 0.65  # the first epoch (about 63%) is in the frame
    fixed = curves_figure(runs, ylim={"accuracy": (0.9, 1.0)}).axes[1].get_ylim()
    assert fixed == (0.9, 1.0)


def test_metrics_and_splits_choose_the_panels_and_curves():
    figure = curves_figure([("a", run()), ("b", run(seed=1))], metrics=["accuracy"], splits=["test"])
    assert [axis.get_title() for axis in figure.axes] == ["accuracy (test)"]
    assert len(figure.axes[0].get_lines()) == 2
    both = curves_figure([("a", run())])
    assert [axis.get_title() for axis in both.axes] == ["loss (train, test)", "accuracy (train, test)"]
    with pytest.raises(ValueError, match="metrics must be some of loss, accuracy; got acc"):
        curves_figure([("a", run())], metrics=["acc"])
    with pytest.raises(ValueError, match="splits must be some of train, val, test"):
        curves_figure([("a", run())], splits=["dev"])
    with pytest.raises(ValueError, match="low must be below high"):
        curves_figure([("a", run())], ylim={"accuracy": (1.0, 0.5)})


def test_runs_with_different_losses_get_one_loss_axis_each():
    runs = [(f"{act}-{loss}", run(loss=loss, loss_scale=scale, seed=i))
            for i, (act, (loss, scale)) in enumerate(
                [(a, l) for a in ("sigmoid", "relu", "gelu") for l in (("ce", 1.0), ("hinge", 40.0), ("euclidean", 0.5))])]
    figure = curves_figure(runs)
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == ["ce loss (train)", "euclidean loss (train)", "hinge loss (train)", "accuracy (test)"]
    assert [len(axis.get_lines()) for axis in figure.axes] == [3, 3, 3, 9]
    hinge_top = figure.axes[2].get_ylim()[1]
    ce_top = figure.axes[0].get_ylim()[1]
    assert hinge_top > 10 * ce_top  # each loss on its own scale


def test_twelve_runs_get_a_legend_of_three_rows_with_each_final_accuracy():
    runs = [(f"lr={lr} m={m}", run(final=0.95 + 0.003 * k, seed=k)) for k, (lr, m) in enumerate(
        (lr, m) for lr in (0.1, 0.01, 0.001) for m in (0.0, 0.5, 0.9, 0.99))]
    figure = curves_figure(runs)
    (legend,) = figure.legends
    texts = [text.get_text() for text in legend.get_texts()]
    assert len(texts) == 12 and legend._ncols == 4
    assert texts[0].startswith("lr=0.1 m=0.0: test 9") and texts[0].endswith("%")
    assert [len(axis.get_lines()) for axis in figure.axes] == [12, 12]  # one split per panel
    colors = {tuple(line.get_color()) if not isinstance(line.get_color(), str) else line.get_color()
              for line in figure.axes[1].get_lines()}
    assert len(colors) == 12


def test_a_grid_folder_is_accepted_like_its_runs(tmp_path):
    for name, loss in (("relu-ce", "ce"), ("relu-hinge", "hinge")):
        write_run_dir(tmp_path / "grid" / name, run(loss_scale=1.0 if loss == "ce" else 30.0), loss)
    (tmp_path / "grid" / "results.md").write_text("table")
    out = plot_curves(tmp_path / "grid", tmp_path / "c.png")
    assert out.read_bytes()[:4] == b"\x89PNG"
    titles = [axis.get_title() for axis in curves_figure([tmp_path / "grid"]).axes]
    assert titles == ["ce loss (train, test)", "hinge loss (train, test)", "accuracy (train, test)"]
