"""Learning curves: loss and accuracy per epoch for one run or a grid of runs, in one picture.

matplotlib is optional (``pip install "tinygrad_mnist[plot]"``); it is imported only when a plot is
drawn, and through its object API with the Agg canvas, so the caller's pyplot backend and open
figures are left alone.
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..atomic import atomic_write_bytes
from ..metrics_csv import read_metrics_csv

# (split, line style) in drawing order; a split is drawn when its <split>_loss/_accuracy column exists.
SPLIT_STYLES = (("train", "-"), ("val", ":"), ("test", "--"))
PANELS = ("loss", "accuracy")
METRIC_COLUMNS = tuple(f"{split}_{metric}" for split, _ in SPLIT_STYLES for metric in PANELS)

Run = Union[str, Path, Tuple[str, Union[str, Path, Mapping[str, Sequence[float]]]]]


def plot_curves(runs: Union[str, Path, Sequence[Run]], out_path, title: Optional[str] = None) -> Path:
    """Plot loss and accuracy per epoch of each run side by side and save the figure; return its path.

    ``runs`` is a run directory (holding ``metrics.csv``), or a list whose items are run directories
    (labelled by their folder name) or ``(label, metrics)`` pairs, where ``metrics`` is a run
    directory or a dict of lists with the columns of metrics.csv (``epoch``, ``train_loss``,
    ``train_accuracy``, ``test_loss``, ``test_accuracy``, optionally ``val_loss``/``val_accuracy``).
    Train is solid, validation dotted, test dashed; each run keeps one colour in both panels. A run
    whose training loss became NaN or Inf is marked "(diverged)". The format follows the suffix of
    ``out_path`` (.png, .svg, .pdf, ...) and the file is replaced atomically.

    >>> import tempfile
    >>> metrics = {"epoch": [1, 2], "train_loss": [0.9, 0.5], "train_accuracy": [0.7, 0.85],
    ...            "test_loss": [0.8, 0.6], "test_accuracy": [0.75, 0.8]}
    >>> plot_curves([("sgd", metrics)], Path(tempfile.mkdtemp()) / "curves.png").suffix
    '.png'
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
    except ImportError:
        raise ImportError('plot_curves needs matplotlib; install it with: pip install "tinygrad_mnist[plot]"') from None

    out_path = Path(out_path)
    loaded = _load_runs(runs)
    colors = _run_colors(len(loaded))
    legend_rows = math.ceil(len(loaded) / _legend_columns(len(loaded)))
    figure = Figure(figsize=(11.0, 4.4 + 0.22 * legend_rows), layout="constrained")
    canvas = FigureCanvasAgg(figure)
    file_format = out_path.suffix.lower().lstrip(".")
    if file_format not in canvas.get_supported_filetypes():
        choices = ", ".join("." + name for name in sorted(canvas.get_supported_filetypes()))
        raise ValueError(f"cannot save curves as {out_path.name!r}: give out_path one of the suffixes {choices}")

    _draw_panels(figure.subplots(1, 2), loaded, colors)
    figure.legend(
        handles=[Line2D([], [], color=color, linewidth=2.5, label=label) for color, (label, _) in zip(colors, loaded)],
        loc="outside lower center", ncols=_legend_columns(len(loaded)), fontsize=9, frameon=False,
    )
    if title:
        figure.suptitle(title)

    buffer = io.BytesIO()
    figure.savefig(buffer, format=file_format, dpi=110)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_path, buffer.getvalue())
    return out_path


def _draw_panels(axes, loaded, colors) -> None:
    """Loss on the left, accuracy on the right; the line-style key sits in the loss panel."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    # Markers help read a few short runs and only clutter a grid or a long run.
    crowded = len(loaded) > 6 or max(len(metrics["epoch"]) for _, metrics in loaded) > 30
    for color, (_, metrics) in zip(colors, loaded):
        for axis, metric in zip(axes, PANELS):
            for split, line_style in SPLIT_STYLES:
                values = metrics.get(f"{split}_{metric}")
                if values is not None:
                    axis.plot(metrics["epoch"], values, linestyle=line_style, color=color,
                              linewidth=1.3 if crowded else 1.6, marker=None if crowded else "o", markersize=3)
    for axis, metric in zip(axes, PANELS):
        axis.set_title(metric)
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(True, alpha=0.3)
    if _spans_decades(loaded, "loss"):
        # Losses of different kinds (hinge ~1, cross-entropy ~0.01) or a long fall from a large start:
        # on a linear axis all but the largest curve would sit flat on zero.
        axes[0].set_yscale("log")
        axes[0].set_ylabel("loss (log scale)")
    accuracy_scale = _accuracy_scale(loaded)
    if accuracy_scale is not None:
        axes[1].yaxis.set_major_formatter(PercentFormatter(xmax=accuracy_scale))
    present = [(split, style) for split, style in SPLIT_STYLES
               if any(f"{split}_{metric}" in metrics for _, metrics in loaded for metric in PANELS)]
    # Loss curves fall from the upper left, so the upper right corner is usually free.
    axes[0].legend(
        handles=[Line2D([], [], color="black", linestyle=style, label=split) for split, style in present],
        loc="upper right", fontsize=9, framealpha=0.85,
    )


def _spans_decades(loaded, metric: str, decades: float = 2.0) -> bool:
    """Whether the positive finite values of ``metric`` over all runs span more than ``decades``."""
    values = np.concatenate([np.asarray(metrics[key], dtype=float) for _, metrics in loaded
                             for key in metrics if key.endswith("_" + metric)] or [np.empty(0)])
    values = values[np.isfinite(values) & (values > 0)]
    return values.size > 0 and bool(values.max() / values.min() > 10**decades)


def _load_runs(runs) -> List[Tuple[str, Dict[str, np.ndarray]]]:
    if isinstance(runs, (str, Path)):
        runs = [runs]
    elif isinstance(runs, Mapping):
        raise TypeError(
            "runs must be a run directory or a list of run directories / (label, metrics) pairs; "
            "for one dict of metrics pass [(\"my run\", metrics)]"
        )
    runs = list(runs)
    if not runs:
        raise ValueError("plot_curves needs at least one run (a run directory or a (label, metrics) pair)")
    loaded = []
    for item in runs:
        if isinstance(item, (str, Path)):
            label, source = None, item
        elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
            label, source = item
        else:
            raise TypeError(
                f"each run must be a run directory or a (label, metrics) pair, got {type(item).__name__}: {item!r:.80}"
            )
        if isinstance(source, (str, Path)):
            metrics = _metrics_of_run_dir(Path(source))
        elif isinstance(source, Mapping):
            metrics = _metrics_of_mapping(label, source)
        else:
            raise TypeError(f"metrics of run {label!r} must be a run directory or a dict of lists, got {type(source).__name__}")
        loaded.append((label, metrics))
    labels = _run_labels([label for label, _ in loaded], runs)
    plotted = []
    for label, (_, metrics) in zip(labels, loaded):
        metrics = _checked(label, metrics)
        train_loss = metrics.get("train_loss")
        if train_loss is not None and not np.isfinite(train_loss).all():
            label += " (diverged)"
        # Inf would stretch the axes to nothing; as NaN it is simply a gap in the line.
        plotted.append((label, {name: np.where(np.isfinite(v), v, np.nan) for name, v in metrics.items()}))
    return plotted


def _metrics_of_run_dir(run_dir: Path) -> Dict[str, np.ndarray]:
    csv_path = run_dir / "metrics.csv"
    if not csv_path.is_file():
        raise FileNotFoundError(
            f"no metrics.csv in {run_dir}; pass the directory of a training run (it holds config.json and metrics.csv)"
        )
    rows = read_metrics_csv(csv_path)
    if not rows:
        # No epoch yet: the columns still say what there is, so the error below can say "no epochs".
        with open(csv_path, encoding="utf-8") as handle:
            return {name: np.empty(0) for name in handle.readline().strip().split(",") if _plotted(name)}
    return {name: np.asarray([row[name] for row in rows], dtype=np.float64) for name in rows[0] if _plotted(name)}


def _plotted(column: str) -> bool:
    return column == "epoch" or column in METRIC_COLUMNS


def _metrics_of_mapping(label, source: Mapping) -> Dict[str, np.ndarray]:
    metrics = {}
    for name, values in source.items():
        if name == "epoch" or name in METRIC_COLUMNS:
            try:
                metrics[name] = np.asarray(values, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError):
                raise ValueError(f"metrics of run {label!r}: column {name} must be a list of numbers") from None
    return metrics


def _checked(where: str, metrics: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Require at least one metric column and equal lengths; number the epochs 1.. if not given."""
    series = {name: values for name, values in metrics.items() if name in METRIC_COLUMNS}
    if not series:
        raise ValueError(f"run {where} has no metric columns; expected some of {', '.join(METRIC_COLUMNS)}")
    lengths = {name: len(values) for name, values in metrics.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"run {where}: columns have different lengths {lengths}; give one value per epoch in each")
    count = next(iter(lengths.values()))
    if count == 0:
        raise ValueError(f"run {where} has no epochs yet (its metrics are empty)")
    epochs = metrics.get("epoch")
    checked = {"epoch": epochs if epochs is not None else np.arange(1, count + 1, dtype=np.float64)}
    checked.update(series)
    return checked


def _run_labels(given: List, runs: List) -> List[str]:
    """Folder names label run directories; where two folders share a name, their parent is added."""
    folder_names = [label if label is not None else Path(item).resolve().name for label, item in zip(given, runs)]
    labels = []
    for label, item, folder_name in zip(given, runs, folder_names):
        if label is None and folder_names.count(folder_name) > 1:
            path = Path(item).resolve()
            folder_name = f"{path.parent.name}/{path.name}"
        labels.append(folder_name)
    return labels


def _run_colors(count: int) -> list:
    """Distinct colours: tab10 up to 10 runs, tab20 (dark shades first) up to 20, then viridis."""
    from matplotlib import colormaps

    if count <= 10:
        return [colormaps["tab10"](i) for i in range(count)]
    if count <= 20:
        shades = [colormaps["tab20"](i) for i in range(20)]
        return (shades[0::2] + shades[1::2])[:count]
    return [colormaps["viridis"](i / (count - 1)) for i in range(count)]


def _legend_columns(count: int) -> int:
    return min(count, 4)


def _accuracy_scale(loaded) -> Optional[float]:
    """1.0 when accuracies are fractions, 100.0 when percentages, None when there are none."""
    values = [v for _, metrics in loaded for name, series in metrics.items() if name.endswith("_accuracy")
              for v in series[np.isfinite(series)]]
    if not values:
        return None
    return 1.0 if max(values) <= 1.0 else 100.0
