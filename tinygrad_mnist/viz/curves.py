"""Learning curves: loss and accuracy per epoch for one run or a grid of runs, in one picture.

Made to be read from the back of a classroom: the accuracy axis zooms on the range the runs
actually differ in (96-98%, not 10-100%), runs trained with different losses get one loss panel per
loss (a hinge loss of 2 and a cross-entropy of 0.02 do not share an axis), and a grid of 9-12 runs
shows one split per panel (training loss, test accuracy) with each run's final accuracy in the
legend, so a colour need not be matched by eye.

matplotlib is optional (``pip install "tinygrad_mnist[plot]"``); it is imported only when a plot is
drawn, and through its object API with the Agg canvas, so the caller's pyplot backend and open
figures are left alone.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..atomic import atomic_write_bytes
from ..metrics_csv import read_metrics_csv

# (split, line style) in drawing order; a split is drawn when its <split>_loss/_accuracy column exists.
SPLIT_STYLES = (("train", "-"), ("val", ":"), ("test", "--"))
SPLITS = tuple(split for split, _ in SPLIT_STYLES)
PANELS = ("loss", "accuracy")
METRIC_COLUMNS = tuple(f"{split}_{metric}" for split, _ in SPLIT_STYLES for metric in PANELS)
# Up to this many runs every split is drawn; with more, one split per panel keeps the lines apart.
ALL_SPLITS_UP_TO = 4
LOSS_TYPE = "loss"  # the config.json key (and metrics-dict key) naming the loss a run was trained with

Run = Union[str, Path, Tuple[str, Union[str, Path, Mapping[str, Sequence[float]]]]]
Limits = Mapping[str, Tuple[float, float]]


def plot_curves(
    runs: Union[str, Path, Sequence[Run]],
    out_path,
    title: Optional[str] = None,
    metrics: Sequence[str] = PANELS,
    splits: Optional[Sequence[str]] = None,
    ylim: Optional[Limits] = None,
    zoom: bool = True,
) -> Path:
    """Plot loss and accuracy per epoch of each run side by side and save the figure; return its path.

    ``runs`` is a run directory (holding ``metrics.csv``), a grid directory (its run directories are
    plotted), or a list whose items are such directories (labelled by their folder name) or
    ``(label, metrics)`` pairs, where ``metrics`` is a run directory or a dict of lists with the
    columns of metrics.csv (``epoch``, ``train_loss``, ``train_accuracy``, ``test_loss``,
    ``test_accuracy``, optionally ``val_loss``/``val_accuracy``, and ``loss``, the loss's name).

    ``metrics`` chooses the panels ("loss", "accuracy", or both, in that order). ``splits`` chooses
    the curves ("train", "val", "test"); by default every split is drawn for up to 4 runs, and for
    more the training loss and the test (else validation) accuracy. Train is solid, validation
    dotted, test dashed; each run keeps one colour in every panel, and the legend gives its final
    accuracy. ``ylim`` fixes an axis, e.g. ``{"accuracy": (0.95, 0.99)}``; otherwise, where a panel
    compares several runs, ``zoom`` fits its axis to the range the curves take after their first
    epochs (an early point may then lie outside the frame; the axis says "zoomed"). Runs trained with different losses (the ``loss`` of
    their config.json) get one loss panel each. A run whose training loss became NaN or Inf is
    marked "(diverged)". The format follows the suffix of ``out_path`` (.png, .svg, .pdf, ...) and
    the file is replaced atomically.

    >>> import tempfile
    >>> metrics = {"epoch": [1, 2], "train_loss": [0.9, 0.5], "train_accuracy": [0.7, 0.85],
    ...            "test_loss": [0.8, 0.6], "test_accuracy": [0.75, 0.8]}
    >>> plot_curves([("sgd", metrics)], Path(tempfile.mkdtemp()) / "curves.png").suffix
    '.png'
    """
    out_path = Path(out_path)
    figure = curves_figure(runs, title, metrics, splits, ylim, zoom)
    file_format = out_path.suffix.lower().lstrip(".")
    if file_format not in figure.canvas.get_supported_filetypes():
        choices = ", ".join("." + name for name in sorted(figure.canvas.get_supported_filetypes()))
        raise ValueError(f"cannot save curves as {out_path.name!r}: give out_path one of the suffixes {choices}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=file_format, dpi=110)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_path, buffer.getvalue())
    return out_path


def curves_figure(
    runs: Union[str, Path, Sequence[Run]],
    title: Optional[str] = None,
    metrics: Sequence[str] = PANELS,
    splits: Optional[Sequence[str]] = None,
    ylim: Optional[Limits] = None,
    zoom: bool = True,
):
    """The matplotlib ``Figure`` that ``plot_curves`` saves (same arguments, without the file); a
    notebook shows it inline. Its axes can be read or changed before saving it yourself.

    >>> figure = curves_figure([("run", {"train_loss": [0.9, 0.5], "test_accuracy": [0.9, 0.95]})])
    >>> [axis.get_title() for axis in figure.axes]
    ['loss (train)', 'accuracy (test)']
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
    except ImportError:
        raise ImportError('plot_curves needs matplotlib; install it with: pip install "tinygrad_mnist[plot]"') from None

    metrics = _checked_choices("metrics", metrics, PANELS)
    if splits is not None:
        splits = _checked_choices("splits", splits, SPLITS)
    limits = _checked_limits(ylim)
    loaded = _load_runs(runs)
    chosen = _splits_per_metric(loaded, splits)
    panels = _panels(loaded, metrics)
    colors = _run_colors(len(loaded))
    columns = _legend_columns(len(loaded))
    legend_rows = math.ceil(len(loaded) / columns)
    # Up to 3 panels side by side; more (one loss panel per loss) in two rows, to stay readable.
    rows = 1 if len(panels) <= 3 else 2
    columns_of_panels = math.ceil(len(panels) / rows)
    figure = Figure(figsize=(max(5.6 * columns_of_panels, 8.0), 4.2 * rows + 0.3 + 0.24 * legend_rows),
                    layout="constrained")
    FigureCanvasAgg(figure)

    grid = figure.subplots(rows, columns_of_panels, squeeze=False).ravel()
    for unused in grid[len(panels):]:
        unused.set_visible(False)
    axes = grid[:len(panels)]
    _draw_panels(axes, panels, loaded, colors, chosen, limits, zoom)
    figure.legend(
        handles=[Line2D([], [], color=color, linewidth=2.5, label=_legend_label(label, run, chosen))
                 for color, (label, run) in zip(colors, loaded)],
        loc="outside lower center", ncols=columns, fontsize=9.5, frameon=False,
    )
    if title:
        figure.suptitle(title)
    return figure


def run_directories(paths: Sequence[Union[str, Path]]) -> List[Path]:
    """Run directories (with a metrics.csv) in ``paths``; a grid directory stands for its runs.

    >>> import tempfile
    >>> grid = Path(tempfile.mkdtemp())
    >>> for name in ("relu", "gelu"):
    ...     (grid / name).mkdir()
    ...     _ = (grid / name / "metrics.csv").write_text("epoch,train_loss" + chr(10) + "1,0.5" + chr(10))
    >>> [path.name for path in run_directories([grid])]
    ['gelu', 'relu']
    """
    found: List[Path] = []
    for text in paths:
        path = Path(text)
        if (path / "metrics.csv").is_file():
            found.append(path)
            continue
        inner = sorted(p.parent for p in path.glob("*/metrics.csv"))
        if not inner:
            raise FileNotFoundError(
                f"{text} has no metrics.csv (and no run directories with one); "
                "give run directories written by 'train' or 'grid', or a grid directory"
            )
        found.extend(inner)
    return found


def _checked_choices(what: str, given: Sequence[str], allowed: Sequence[str]) -> Tuple[str, ...]:
    given = (given,) if isinstance(given, str) else tuple(given)
    unknown = [name for name in given if name not in allowed]
    if unknown or not given:
        raise ValueError(f"{what} must be some of {', '.join(allowed)}; got {', '.join(map(str, given)) or 'none'}")
    return tuple(name for name in allowed if name in given)


def _checked_limits(ylim: Optional[Limits]) -> Dict[str, Tuple[float, float]]:
    if ylim is None:
        return {}
    if not isinstance(ylim, Mapping):
        raise TypeError('ylim must map a metric to (low, high), e.g. {"accuracy": (0.95, 0.99)}')
    limits = {}
    for metric, pair in ylim.items():
        _checked_choices("ylim's metrics", [metric], PANELS)
        try:
            low, high = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(f"ylim[{metric!r}] must be two numbers (low, high), got {pair!r}") from None
        if not low < high:
            raise ValueError(f"ylim[{metric!r}]: low must be below high, got ({low}, {high})")
        limits[metric] = (low, high)
    return limits


def _splits_per_metric(loaded, splits: Optional[Tuple[str, ...]]) -> Dict[str, Tuple[str, ...]]:
    """The splits each panel draws: those asked for, else all (few runs) or one per panel (many)."""
    present = {metric: tuple(split for split in SPLITS if any(f"{split}_{metric}" in run for _, run in loaded))
               for metric in PANELS}
    if splits is not None:
        return {metric: tuple(s for s in splits if s in present[metric]) for metric in PANELS}
    if len(loaded) <= ALL_SPLITS_UP_TO:
        return present
    preferred = {"loss": ("train", "val", "test"), "accuracy": ("test", "val", "train")}
    return {metric: next(((s,) for s in preferred[metric] if s in present[metric]), ()) for metric in PANELS}


def _panels(loaded, metrics: Tuple[str, ...]) -> List[Tuple[str, Optional[str]]]:
    """(metric, loss type) per panel: one loss panel per loss when the runs' losses differ."""
    panels: List[Tuple[str, Optional[str]]] = []
    for metric in metrics:
        types = sorted({run.get(LOSS_TYPE) for _, run in loaded if run.get(LOSS_TYPE)})
        if metric == "loss" and len(types) > 1:
            panels += [("loss", loss_type) for loss_type in types]
            if any(not run.get(LOSS_TYPE) for _, run in loaded):
                panels.append(("loss", None))
        else:
            panels.append((metric, None))
    return panels


def _in_panel(run, loss_type: Optional[str], panels) -> bool:
    split_losses = sum(1 for metric, _ in panels if metric == "loss") > 1
    return loss_type is None and not (split_losses and run.get(LOSS_TYPE)) or run.get(LOSS_TYPE) == loss_type


def _legend_label(label: str, run, chosen) -> str:
    """The run's label with its final accuracy: test, else validation, else training, among the
    splits the accuracy panel shows."""
    for split in [s for s in ("test", "val", "train") if s in (chosen["accuracy"] or SPLITS)]:
        values = run.get(f"{split}_accuracy")
        if values is not None and np.isfinite(values).any():
            last = values[np.isfinite(values)][-1]
            text = f"{last:.2%}" if np.nanmax(values) <= 1.0 else f"{last:.2f}%"
            return f"{label}: {split} {text}"
    return label


def _draw_panels(axes, panels, loaded, colors, chosen, limits, zoom: bool) -> None:
    """One panel per (metric, loss type); the line-style key sits in the first panel."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    # Markers help read a few short runs and only clutter a grid or a long run.
    crowded = len(loaded) > 6 or max(len(run["epoch"]) for _, run in loaded) > 30
    for axis, (metric, loss_type) in zip(axes, panels):
        shown = [(color, run) for color, (_, run) in zip(colors, loaded) if metric != "loss" or _in_panel(run, loss_type, panels)]
        series = []
        for color, run in shown:
            for split, line_style in SPLIT_STYLES:
                values = run.get(f"{split}_{metric}")
                if values is not None and split in chosen[metric]:
                    axis.plot(run["epoch"], values, linestyle=line_style, color=color,
                              linewidth=1.3 if crowded else 1.6, marker=None if crowded else "o", markersize=3)
                    series.append(values)
        name = metric if loss_type is None else f"{loss_type} loss"
        splits_text = ", ".join(chosen[metric])
        axis.set_title(f"{name} ({splits_text})" if splits_text else name)
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(True, alpha=0.3)
        log_scale = metric == "loss" and _spans_decades([("", {"x_loss": np.concatenate(series or [np.empty(0)])})], "loss")
        if log_scale:
            # A long fall from a large start: on a linear axis all but the first epochs sit flat on zero.
            axis.set_yscale("log")
            axis.set_ylabel("loss (log scale)")
        if metric in limits:
            axis.set_ylim(*limits[metric])
        elif zoom and not log_scale and len(shown) > 1:  # a zoom helps to compare; one run is shown whole
            window = _zoom_window(series, upper_bound=_accuracy_scale(loaded) if metric == "accuracy" else None)
            if metric == "loss" and window is not None:
                window = (max(window[0], 0.0) if min(np.nanmin(v) for v in series) >= 0 else window[0], window[1])
            if window is not None:
                axis.set_ylim(*window)
                axis.set_ylabel(f"{metric} (zoomed)")
        if metric == "accuracy":
            scale = _accuracy_scale(loaded)
            if scale is not None:
                axis.yaxis.set_major_formatter(PercentFormatter(xmax=scale))
    present = [(split, style) for split, style in SPLIT_STYLES if any(split in chosen[m] for m, _ in panels)]
    if any(len(chosen[metric]) > 1 for metric, _ in panels):  # else each panel's title names its split
        # Loss curves fall from the upper left, so the upper right corner is usually free.
        axes[0].legend(
            handles=[Line2D([], [], color="black", linestyle=style, label=split) for split, style in present],
            loc="upper right", fontsize=9, framealpha=0.85,
        )


def _zoom_window(series: List[np.ndarray], upper_bound: Optional[float]) -> Optional[Tuple[float, float]]:
    """The y range the curves take once past their first quarter of epochs (their early fall or
    rise would squash the differences that matter), with a margin; None when there is nothing."""
    tails = [values[len(values) // 4 or (1 if len(values) > 1 else 0):] for values in series]
    finite = np.concatenate([v[np.isfinite(v)] for v in tails] or [np.empty(0)])
    if finite.size == 0:
        return None
    low, high = float(finite.min()), float(finite.max())
    if high - low <= 0:
        pad = abs(high) * 0.05 or 0.05
    else:
        pad = (high - low) * 0.08
    top = high + pad
    if upper_bound is not None:
        top = min(top, upper_bound + pad / 2)
    return low - pad, top


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
    # A grid directory (no metrics.csv of its own, run directories inside) stands for its runs.
    runs = [inner for item in runs for inner in (
        run_directories([item]) if isinstance(item, (str, Path)) and not (Path(item) / "metrics.csv").is_file()
        and any(Path(item).glob("*/metrics.csv")) else [item])]
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
        plotted.append((label, {name: v if name == LOSS_TYPE else np.where(np.isfinite(v), v, np.nan)
                                for name, v in metrics.items()}))
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
    metrics = {name: np.asarray([row[name] for row in rows], dtype=np.float64) for name in rows[0] if _plotted(name)}
    loss_type = _loss_type_of(run_dir)
    if loss_type:
        metrics[LOSS_TYPE] = loss_type
    return metrics


def _loss_type_of(run_dir: Path) -> Optional[str]:
    """The loss a run was trained with, from its config.json (None when it cannot be told)."""
    try:
        loss_type = json.loads((run_dir / "config.json").read_text(encoding="utf-8")).get(LOSS_TYPE)
    except (OSError, ValueError, AttributeError):
        return None
    return loss_type if isinstance(loss_type, str) else None


def _plotted(column: str) -> bool:
    return column == "epoch" or column in METRIC_COLUMNS


def _metrics_of_mapping(label, source: Mapping) -> Dict[str, np.ndarray]:
    metrics = {}
    for name, values in source.items():
        if name == LOSS_TYPE and isinstance(values, str):
            metrics[name] = values
        elif name == "epoch" or name in METRIC_COLUMNS:
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
    lengths = {name: len(values) for name, values in metrics.items() if name != LOSS_TYPE}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"run {where}: columns have different lengths {lengths}; give one value per epoch in each")
    count = next(iter(lengths.values()))
    if count == 0:
        raise ValueError(f"run {where} has no epochs yet (its metrics are empty)")
    epochs = metrics.get("epoch")
    checked = {"epoch": epochs if epochs is not None else np.arange(1, count + 1, dtype=np.float64)}
    checked.update(series)
    if LOSS_TYPE in metrics:
        checked[LOSS_TYPE] = metrics[LOSS_TYPE]
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
    """Up to 4 runs in one row; 9-12 runs in 3 rows of 3-4, each label with its final accuracy."""
    return count if count <= 4 else (3 if count <= 9 else 4)


def _accuracy_scale(loaded) -> Optional[float]:
    """1.0 when accuracies are fractions, 100.0 when percentages, None when there are none."""
    values = [v for _, metrics in loaded for name, series in metrics.items() if name.endswith("_accuracy")
              for v in series[np.isfinite(series)]]
    if not values:
        return None
    return 1.0 if max(values) <= 1.0 else 100.0
