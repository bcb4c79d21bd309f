"""Draw the graph of recorded ops behind a tensor with graphviz: what ``backward()`` will walk.

One node per tensor. Op results are rounded boxes (the op's name, shape and dtype); leaves are
square boxes: parameters (leaves with ``requires_grad=True``) in green, inputs and constants in
grey. The drawn tensor itself is yellow. A value or gradient holding NaN or Inf is filled red and says so, which
shows where a NaN first appears. Arrows follow the data, from an op's inputs to its result.

With ``show_grads=True`` every node shows its gradient: ``draw_graph`` runs a backward pass of its
own that keeps the graph and leaves ``.grad`` alone (``autograd.backward_steps``), so it can be
called before ``backward()``, which frees the graph it walks (after it only the output node is left
to draw, marked "graph freed", and only the leaves' ``.grad`` can be shown).
"""
from __future__ import annotations

import functools
import html
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Tuple, Union

import graphviz
import numpy as np

from ..atomic import atomic_write_bytes
from ..autograd import teaching
from ..autograd.engine import GraphFreedError
from ..autograd.toposort import toposort
from ..autograd.watch import backward_steps, step_gradients
from ..errors import UserError
from ..tensor import Tensor

RANKDIRS = ("BT", "TB", "LR", "RL")
# Suffixes save_graph understands, and the graphviz output format each one means.
GRAPH_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}

_NODE_STYLES = {
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#dce8f7", "color": "#4a78b0"},
    "output": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fde9b0", "color": "#b8860b",
               "penwidth": "2"},
    "parameter": {"shape": "box", "style": "filled", "fillcolor": "#d4efcc", "color": "#3f8f3f",
                  "penwidth": "1.5"},
    "constant": {"shape": "box", "style": "filled", "fillcolor": "#eeeeee", "color": "#8c8c8c"},
}
# Overrides the colours of any kind of node whose value or gradient is not finite.
_NONFINITE_STYLE = {"fillcolor": "#ff9e9e", "color": "#c00000", "penwidth": "2.5"}
_FREED_STYLE = {"style": "rounded,filled,dashed"}

_DETAIL_FONT_SIZE = 9
_LISTED_ENTRIES = 4  # a tensor this small has its entries written out, a larger one min/mean/max
_ALERT_COLOR = "#a00000"


class DotNotFoundError(UserError, RuntimeError):
    """Graphviz's ``dot`` program, needed to render SVG/PNG/PDF, is not installed or not on PATH.

    The DOT text needs no program, so it is a fallback:

    >>> import tempfile
    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([1.0], requires_grad=True)
    >>> folder = Path(tempfile.mkdtemp())
    >>> try:
    ...     path = save_graph(x * 2, folder / "graph.svg")
    ... except DotNotFoundError:
    ...     path = save_graph(x * 2, folder / "graph.dot")
    >>> path.exists()
    True
    """


Names = Union[Mapping, Iterable[Tuple[str, Tensor]], None]


def draw_graph(
    tensor: Tensor,
    names: Names = None,
    show_values: bool = False,
    show_grads: bool = False,
    rankdir: str = "BT",
    grad_output=None,
    groups: Optional[Mapping[int, str]] = None,
) -> graphviz.Digraph:
    """Return a ``graphviz.Digraph`` of the ops that produced ``tensor``.

    ``names`` labels leaves (and, if given, intermediate tensors): a dict name -> Tensor such as
    ``dict(model.named_parameters())``, a dict Tensor -> name, or an iterable of (name, Tensor)
    pairs. Unnamed tensors fall back to their ``.name``, then to "parameter" (a leaf that requires
    grad), "const" (a one-element leaf, shown with its value) or "input".
    ``show_values`` adds each value (up to 4 entries, else min/mean/max). ``show_grads`` adds each
    node's gradient, d(tensor)/d(node), computed by a backward pass that keeps the graph and leaves
    ``.grad`` alone, so draw before ``backward()``; a non-scalar ``tensor`` needs ``grad_output`` (the
    gradient to start from). Where the graph was already freed, the leaves' ``.grad`` is shown. A leaf
    whose ``.grad`` holds something else (earlier passes added up) shows that too.
    ``rankdir`` "BT" puts inputs at the bottom and the result on top ("LR": left to right).
    ``groups`` maps ``id(tensor)`` to a title: the tensors of one title are boxed together (the ops
    a layer made, such as a batch norm's; see :func:`layer_groups`).

    The DOT text is ``graph.source`` (no graphviz program needed); ``graph.pipe(format="svg")`` or
    ``save_graph`` render it when the ``dot`` program is installed. In a notebook the graph displays
    itself.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    >>> y = Tensor([3.0, 4.0], name="y")
    >>> graph = draw_graph((x * y + x).sum())
    >>> graph.source.count("->")  # x->Mul, y->Mul, Mul->Add, x->Add, Add->Sum
    5
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph expects a Tensor, got {type(tensor).__name__}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    given_names = _names_by_id(names)
    order = graph_order(tensor)
    node_ids = {id(t): f"t{i}" for i, t in enumerate(order)}
    computed = _computed_gradients(tensor, grad_output, order) if show_grads else None

    # The node and edge lines are written directly: graphviz's per-attribute quoting made a
    # 100,000-op graph take seconds, and every value here is either an HTML label or a constant.
    body = []
    boxes: Dict[str, List[str]] = {}
    for node in order:
        name = given_names.get(id(node), node.name)
        details = _gradient_details(node, computed) if show_grads else []
        label, attribute_text = _describe(node, name, node is tensor, show_values, details)
        line = f"\t{node_ids[id(node)]} [label={label} {attribute_text}]\n"
        title = (groups or {}).get(id(node))
        if title is None:
            body.append(line)
        else:
            boxes.setdefault(title, []).append("\t" + line)
    for number, (title, lines) in enumerate(boxes.items()):
        body.append(f"\tsubgraph cluster_{number} {{\n\t\tlabel={_html_label(title, [], [])} "
                    'style="rounded,dashed" color="#888888" fontname="Helvetica" fontsize="10"\n')
        body.extend(lines)
        body.append("\t}\n")
    for node in order:
        child = node_ids[id(node)]
        body.extend(f"\t{node_ids[id(parent)]} -> {child}\n" for parent in _inputs_of(node))
    return new_digraph(body, rankdir)


def graph_order(tensor: Tensor) -> List[Tensor]:
    """Every tensor behind ``tensor``, inputs before the ops that use them, each op's inputs in
    argument order (the drawings' order; ``backward`` visits them the other way round)."""
    # The package's graph walker lists users first and takes parents last-first, so both its input
    # and its output are reversed.
    return toposort([tensor], lambda node: _inputs_of(node)[::-1])[::-1]


def layer_groups(model, *inputs) -> Tuple[Tensor, Dict[int, str]]:
    """Run ``model(*inputs)`` and note the ops each layer made; return ``(output, groups)`` for
    :func:`draw_graph`'s ``groups``: every layer (a module without sub-modules) whose forward made
    more than one op, such as a batch norm (mean, variance, normalisation, scale and shift), titled
    with its name and type, so a drawing of a CNN reads one box per layer.

    Each layer's ``forward`` is wrapped on the instance during the call and restored afterwards.

    >>> import numpy as np
    >>> from tinygrad_mnist import nn
    >>> model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.BatchNorm1d(4), nn.ReLU())
    >>> out, groups = layer_groups(model, Tensor(np.ones((2, 3), dtype=np.float32)))
    >>> sorted(set(groups.values()))
    ['1: BatchNorm1d']
    """
    layers = [(name, module) for name, module in model.named_modules() if not list(module.children())]
    made: List[Tuple[str, Tuple[Tensor, ...], Tensor]] = []

    def noting(name, module):
        original = module.forward

        def forward(*args, **kwargs):
            output = original(*args, **kwargs)
            made.append((f"{name}: {type(module).__name__}", args, output))
            return output

        return forward

    wrapped = []
    try:
        for name, module in layers:
            if "forward" not in vars(module):  # a module listed twice is wrapped once
                module.forward = noting(name, module)
                wrapped.append(module)
        output = model(*inputs)
    finally:
        for module in wrapped:
            del module.forward
    groups: Dict[int, str] = {}
    for title, args, result in made:
        if not isinstance(result, Tensor):
            continue
        stop = {id(a) for a in args if isinstance(a, Tensor)}
        # The layer's own part of the graph: everything behind its output up to its inputs.
        behind = toposort([result], lambda node: () if id(node) in stop else _inputs_of(node)[::-1])
        inside = [t for t in behind if id(t) not in stop]
        ops = [t for t in inside if _inputs_of(t)]
        if len(ops) > 1:
            for t in inside:
                groups.setdefault(id(t), title)
    return output, groups


def new_digraph(body: List[str], rankdir: str) -> graphviz.Digraph:
    """The ``Digraph`` every drawing of the package returns, around its node and edge lines."""
    return graphviz.Digraph(
        name="tinygrad_mnist",
        graph_attr={"rankdir": rankdir, "nodesep": "0.3", "ranksep": "0.35"},
        node_attr={"fontname": "Helvetica", "fontsize": "11", "margin": "0.12,0.05"},
        edge_attr={"color": "#555555", "arrowsize": "0.7"},
        body=body,
    )


def _computed_gradients(tensor: Tensor, grad_output, order: List[Tensor]) -> Optional[Dict[int, np.ndarray]]:
    """Every node's gradient from a backward pass that keeps the graph, or None (with a teaching
    warning when no gradient at all can be shown) where the graph is freed or needs a seed."""
    reason = None
    if not tensor.requires_grad:
        reason = "nothing in this graph requires grad (create the parameters with requires_grad=True)"
    elif grad_output is None and tensor.size != 1:
        reason = (f"the drawn tensor has shape {tensor.shape}, not a scalar: pass grad_output=<gradient of "
                  "that shape>, or draw a scalar such as its .sum()")
    else:
        try:
            return step_gradients(backward_steps(tensor, grad_output))
        except GraphFreedError:
            reason = ("backward() already freed the graph: call draw_graph(..., show_grads=True) before "
                      "backward(), it computes every gradient itself")
    if all(node.grad is None for node in order):
        teaching.warn(f"draw_graph(show_grads=True): every gradient is still None, because {reason}")
    return None


def _gradient_details(node: Tensor, computed: Optional[Dict[int, np.ndarray]]) -> List[str]:
    """The gradient lines of a node's label: the computed gradient, else (or also, when it differs)
    the leaf's ``.grad``."""
    stored = None if node.grad is None else np.asarray(getattr(node.grad, "data", node.grad))
    gradient = None if computed is None else computed.get(id(node))
    if gradient is not None:
        lines = ["grad " + _stats_text(gradient)]
        if stored is not None and (stored.shape != gradient.shape or not np.allclose(stored, gradient)):
            lines.append(".grad " + _stats_text(stored) + " (other passes added)")
        return lines
    if stored is not None:
        return ["grad " + _stats_text(stored)]
    if node.requires_grad and node._ctx is None:
        return ["grad None"]
    return []


def save_graph(tensor: Tensor, path, format: Optional[str] = None, **kwargs) -> Path:  # noqa: A002
    """Draw ``tensor``'s graph and write it to ``path``; return the path.

    The format comes from the suffix (.svg, .png, .pdf, or .dot/.gv for the DOT text) unless
    ``format`` is given. Other keyword arguments go to ``draw_graph``. SVG, PNG and PDF need the
    graphviz ``dot`` program; .dot files do not. The file is replaced atomically.

    >>> import tempfile
    >>> from tinygrad_mnist import Tensor
    >>> w = Tensor([0.5], requires_grad=True, name="w")
    >>> out = save_graph((w * w).sum(), Path(tempfile.mkdtemp()) / "graph.dot")
    >>> out.read_text().startswith("digraph")
    True
    """
    return save_rendered(draw_graph(tensor, **kwargs), path, format)


def save_rendered(graph: graphviz.Digraph, path, format: Optional[str] = None) -> Path:  # noqa: A002
    """Write a drawing of this package (any ``graphviz.Digraph``) to ``path`` as ``save_graph`` does.

    >>> import tempfile
    >>> graph = new_digraph(["a -> b"], "BT")
    >>> save_rendered(graph, Path(tempfile.mkdtemp()) / "g.gv").read_text().startswith("digraph")
    True
    """
    path = Path(path)
    graph_format = _format_for(path, format)
    if graph_format == "dot":
        data = graph.source.encode("utf-8")
    else:
        try:
            data = graph.pipe(format=graph_format)
        except graphviz.ExecutableNotFound:
            raise DotNotFoundError(
                f"rendering {path.name} as {graph_format} needs graphviz's 'dot' program, which is not on PATH; "
                "install it (apt-get install graphviz, or brew install graphviz on macOS), "
                "or save as .dot, which needs no program"
            ) from None
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    return path


def _format_for(path: Path, format_name: Optional[str]) -> str:
    supported = ", ".join(GRAPH_FORMATS)
    if format_name is None:
        graph_format = GRAPH_FORMATS.get(path.suffix.lower())
        if graph_format is None:
            raise ValueError(
                f"cannot tell the format of {str(path)!r} from its suffix; use one of {supported}, "
                "or pass format='svg' (or 'png', 'pdf', 'dot')"
            )
        return graph_format
    graph_format = GRAPH_FORMATS.get("." + format_name.lower().lstrip("."))
    if graph_format is None:
        raise ValueError(f"unknown graph format {format_name!r}; use one of svg, png, pdf, dot, gv")
    return graph_format


def _names_by_id(names: Names) -> Dict[int, str]:
    """Accept name -> Tensor or Tensor -> name (or pairs) and key the names by tensor identity.

    Identity, not equality: Tensor ``==`` is elementwise, and two equal tensors are different nodes.
    """
    if names is None:
        return {}
    pairs = names.items() if isinstance(names, Mapping) else names
    by_id: Dict[int, str] = {}
    for pair in pairs:
        try:
            first, second = pair
        except (TypeError, ValueError):
            raise TypeError(
                f"names must map names to tensors, e.g. dict(model.named_parameters()); got an item {pair!r}"
            ) from None
        if isinstance(first, str) and isinstance(second, Tensor):
            by_id[id(second)] = first
        elif isinstance(first, Tensor) and isinstance(second, str):
            by_id[id(first)] = second
        else:
            raise TypeError(
                "names must map names to tensors (or tensors to names), e.g. dict(model.named_parameters()); "
                f"got an item ({type(first).__name__}, {type(second).__name__})"
            )
    return by_id


def _inputs_of(node: Tensor) -> Tuple[Tensor, ...]:
    ctx = node._ctx
    if ctx is None or ctx.parents is None:
        return ()
    return ctx.parents


def _describe(node: Tensor, name: Optional[str], is_output: bool, show_values: bool, extra: List[str],
              style: Optional[Mapping[str, str]] = None):
    """The HTML label and the graphviz attributes (as DOT text) of one node; ``extra`` lines (its
    gradient, its step) go below the value, ``style`` overrides the colours of its kind."""
    ctx = node._ctx
    if ctx is not None:
        title = ctx.name if not name else f"{name} = {ctx.name}"
        kind = "output" if is_output else "op"
    else:
        title = name or _placeholder(node)
        kind = "parameter" if node.requires_grad else "constant"
    details = [_shape_text(node)]
    alerts: List[str] = []
    if ctx is not None and ctx.parents is None:
        details += ["(graph freed by backward)", "backward(retain_graph=True) keeps it"]
    if show_values:
        details.append("value " + _stats_text(node.data))
    value_problem = _nonfinite_text(node.data)
    if value_problem:
        alerts.append("value has " + value_problem)
    details += extra
    gradient = None if node.grad is None else np.asarray(getattr(node.grad, "data", node.grad))
    if gradient is not None:
        grad_problem = _nonfinite_text(gradient)
        if grad_problem:
            alerts.append("grad has " + grad_problem)

    attributes = dict(_NODE_STYLES[kind])
    if ctx is not None and ctx.parents is None:
        attributes.update(_FREED_STYLE)
    if style:
        attributes.update(style)
    if alerts:
        attributes.update(_NONFINITE_STYLE)
    attribute_text = " ".join(f'{key}="{value}"' for key, value in attributes.items())
    return _html_label(title, details, alerts), attribute_text


def _placeholder(leaf: Tensor) -> str:
    if leaf.requires_grad:
        return "parameter"
    if leaf.size == 1 and leaf.dtype.kind in "fiub":
        return f"const {_number(leaf.data.item())}"
    return "input"


def _shape_text(node: Tensor) -> str:
    return f"{'scalar' if node.ndim == 0 else node.shape} {_dtype_name(node.dtype)}"


@functools.lru_cache(maxsize=None)
def _dtype_name(dtype: np.dtype) -> str:
    # Cached: numpy builds the name anew on each access, a third of the time of a deep drawing.
    return dtype.name


def _number(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    return f"{value:.4g}"


def _stats_text(values: np.ndarray) -> str:
    """Up to 4 entries as themselves (``[1, -0.5]``), more as "min/mean/max" of the finite entries."""
    values = np.asarray(values)
    if values.size == 0:
        return "(empty)"
    if values.dtype.kind == "b":
        values = values.astype(np.int8)
    if values.size == 1:
        return _number(values.item())
    if values.size <= _LISTED_ENTRIES:
        rows = values.reshape(-1, values.shape[-1]) if values.ndim > 1 else values.reshape(1, -1)
        texts = ["[" + ", ".join(_number(v) for v in row.tolist()) + "]" for row in rows]
        return texts[0] if values.ndim == 1 else "[" + ", ".join(texts) + "]"
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
        if values.size == 0:
            return "(no finite entries)"
    as_float = values.astype(np.float64)
    if as_float.min() == as_float.max():
        return f"all {_number(as_float.min())}"
    low, mean, high = as_float.min(), as_float.mean(), as_float.max()
    if abs(mean) < 1e-6 * max(abs(low), abs(high)):
        mean = 0.0  # rounding noise of a mean that is 0 (a softmax gradient's rows), not a tiny number
    return f"min {_number(low)} mean {_number(mean)} max {_number(high)}"


def _nonfinite_text(values: np.ndarray) -> str:
    """E.g. "2 NaN, 1 Inf of 6", or "" when every entry is finite (or the dtype is not float)."""
    if values.dtype.kind != "f" or np.isfinite(values).all():
        return ""
    parts = []
    nan_count = int(np.isnan(values).sum())
    inf_count = int(np.isinf(values).sum())
    if nan_count:
        parts.append(f"{nan_count} NaN")
    if inf_count:
        parts.append(f"{inf_count} Inf")
    return ", ".join(parts) + f" of {values.size}"


def _html_label(title: str, details: List[str], alerts: List[str]) -> str:
    """A graphviz HTML-like label: bold title, small grey details, bold dark-red alerts."""
    lines = [f"<B>{html.escape(title, quote=False)}</B>"]
    lines += [
        f'<FONT POINT-SIZE="{_DETAIL_FONT_SIZE}" COLOR="#333333">{html.escape(text, quote=False)}</FONT>'
        for text in details
    ]
    lines += [
        f'<FONT POINT-SIZE="{_DETAIL_FONT_SIZE + 1}" COLOR="{_ALERT_COLOR}"><B>{html.escape(text, quote=False)}</B></FONT>'
        for text in alerts
    ]
    return "<" + "<BR/>".join(lines) + ">"
