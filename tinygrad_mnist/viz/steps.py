"""The backward pass step by step: a text table and drawings numbered in the engine's own order.

Everything here is read from a real backward pass (``autograd.backward_steps``, which records what
the engine does while it runs): which node is visited at which step, the gradient it receives, what
its op sends to each input, and where a share is added to what an input already had (a tensor used
more than once). In the drawings the arrows of the backward pass point the way gradients flow, from
an op down to its inputs, and carry "step: share".
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import graphviz
import numpy as np

from ..autograd.watch import BackwardStep, backward_steps
from ..tensor import Tensor
from .graph import (
    GRAPH_FORMATS, Names, _describe, _inputs_of, _names_by_id, _placeholder, _stats_text,
    graph_order, new_digraph, save_rendered,
)

_DONE_STYLE = {"penwidth": "2"}
_CURRENT_STYLE = {"fillcolor": "#ffc266", "color": "#c05800", "penwidth": "3"}
_PENDING_STYLE = {"fillcolor": "#ffffff"}  # plus a dashed outline, see _pending_style
_FLOW_COLOR = "#c05800"
_LATER_COLOR = "#bbbbbb"


def backward_table(tensor: Tensor, names: Names = None, grad_output=None) -> str:
    """The backward pass of ``tensor`` as a text table, one numbered step per visited node.

    Each row gives the node (its name, or its op, and shape), the complete gradient it received
    and, for an op, the share its rule sent to each input; a share added to an earlier one is shown
    as "+ share = total". A leaf's row is where ``backward()`` would store the gradient. The pass
    keeps the graph and leaves ``.grad`` alone (see ``autograd.backward_steps``). Arrays of up to 4
    entries are written out, larger ones as min/mean/max.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    >>> print(backward_table((x * x).sum()))
    step  node      receives  sends to its inputs
       1  Sum ()    1         Mul: [1, 1]
       2  Mul (2,)  [1, 1]    x: [1, 2]
                              x: + [1, 2] = [2, 4]
       3  x (2,)    [2, 4]    (leaf: backward() adds this to x.grad)
    """
    steps = backward_steps(tensor, grad_output)
    labels = _node_labels(tensor, steps, names)
    rows = [("step", "node", "receives", "sends to its inputs")]
    for step in steps:
        node = step.node
        first = (f"{step.number:>4}", f"{labels[id(node)]} {_shape(node)}", _stats_text(step.gradient))
        sends = [_share_text(share, labels) for share in step.shares]
        if node._ctx is None:
            sends = [f"(leaf: backward() adds this to {labels[id(node)]}.grad)"]
        elif not sends:
            sends = ["(no input needs a gradient)"]
        rows.append(first + (sends[0],))
        rows.extend(("", "", "", text) for text in sends[1:])
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{row[0]:>{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}".rstrip() for row in rows]
    return "\n".join(lines)


def draw_backward(
    tensor: Tensor,
    step: Optional[int] = None,
    names: Names = None,
    rankdir: str = "BT",
    grad_output=None,
    steps: Optional[Sequence[BackwardStep]] = None,
) -> graphviz.Digraph:
    """Draw ``tensor``'s graph with its backward pass on it; return a ``graphviz.Digraph``.

    Every node visited says at which step and what gradient it received; every edge the gradient
    flows back along points from the op to its input and carries "step: share" ("+" where the share
    is added to an earlier one). With ``step=k`` the drawing shows the pass after its k-th step:
    the node of step k is orange, later nodes are dashed and show what they have received so far,
    later edges are grey. ``[draw_backward(loss, step=k) for k in ...]`` is the pass as a sequence of
    pictures (``save_backward_steps`` writes them). ``steps`` reuses a recorded pass.

    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    >>> source = draw_backward((x * x).sum()).source
    >>> "step 3" in source, 'label="2: + [1, 2]"' in source
    (True, True)
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_backward expects a Tensor, got {type(tensor).__name__}")
    steps = list(backward_steps(tensor, grad_output) if steps is None else steps)
    last = len(steps) if step is None else step
    if not 0 <= last <= len(steps):
        raise ValueError(f"step must be between 0 and {len(steps)} (the pass has {len(steps)} steps), got {step}")
    given_names = _names_by_id(names)
    order = graph_order(tensor)
    node_ids = {id(node): f"t{i}" for i, node in enumerate(order)}
    visited = {id(s.node): s for s in steps}
    # What each node has received by the end of step ``last``: a later step's total is not known yet.
    so_far: Dict[int, np.ndarray] = {}
    for s in steps[:last]:
        for share in s.shares:
            so_far[id(share.input)] = share.total

    body = []
    for node in order:
        name = given_names.get(id(node), node.name)
        own = visited.get(id(node))
        extra, style = [], None
        if own is not None and own.number <= last:
            extra = [f"step {own.number}: grad {_stats_text(own.gradient)}"]
            style = _CURRENT_STYLE if own.number == last and step is not None else _DONE_STYLE
            if sum(1 for s in steps for share in s.shares if share.input is node) > 1:
                extra.append("(sum of the shares it received)")
        elif own is not None:
            style = dict(_PENDING_STYLE, style="rounded,filled,dashed" if node._ctx is not None else "filled,dashed")
            extra = [f"step {own.number}"]
            if id(node) in so_far:
                extra.append(f"so far {_stats_text(so_far[id(node)])}")
        label, attribute_text = _describe(node, name, node is tensor, False, extra, style)
        body.append(f"\t{node_ids[id(node)]} [label={label} {attribute_text}]\n")
    for node in order:
        own = visited.get(id(node))
        shares = {} if own is None else {share.position: share for share in own.shares}
        for position, parent in enumerate(_inputs_of(node)):
            edge = f"\t{node_ids[id(parent)]} -> {node_ids[id(node)]}"
            share = shares.get(position)
            if share is None:  # no gradient flows along this edge (a constant, an input)
                body.append(f'{edge} [color="{_LATER_COLOR}" style="dotted" arrowhead="none"]\n')
            elif own.number <= last:
                text = f"{own.number}: {'+ ' if share.added else ''}{_stats_text(share.gradient)}"
                width = "2.5" if own.number == last and step is not None else "1.5"
                body.append(f'{edge} [label="{html.escape(text)}" dir="back" color="{_FLOW_COLOR}" '
                            f'fontcolor="{_FLOW_COLOR}" fontsize="9" penwidth="{width}"]\n')
            else:
                body.append(f'{edge} [dir="back" color="{_LATER_COLOR}"]\n')
    return new_digraph(body, rankdir)


def save_backward_steps(tensor: Tensor, folder, format: str = "svg", names: Names = None,  # noqa: A002
                        grad_output=None) -> List[Path]:
    """Write one drawing per step of ``tensor``'s backward pass into ``folder`` (``step-01.svg``,
    ...), plus ``steps.txt`` with the table; return the drawings' paths. SVG and PNG need ``dot``.

    >>> import tempfile
    >>> from tinygrad_mnist import Tensor
    >>> x = Tensor([1.0], requires_grad=True, name="x")
    >>> paths = save_backward_steps((x * 2).sum(), tempfile.mkdtemp(), format="dot")
    >>> [path.name for path in paths]
    ['step-1.dot', 'step-2.dot', 'step-3.dot']
    """
    if "." + format.lower().lstrip(".") not in GRAPH_FORMATS:
        raise ValueError(f"unknown graph format {format!r}; use one of svg, png, pdf, dot, gv")
    steps = backward_steps(tensor, grad_output)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    digits = len(str(len(steps)))
    paths = []
    for number in range(1, len(steps) + 1):
        graph = draw_backward(tensor, step=number, names=names, steps=steps)
        paths.append(save_rendered(graph, folder / f"step-{number:0{digits}d}.{format.lower().lstrip('.')}"))
    (folder / "steps.txt").write_text(backward_table(tensor, names, grad_output) + "\n", encoding="utf-8")
    return paths


def _node_labels(tensor: Tensor, steps: Sequence[BackwardStep], names: Names) -> Dict[int, str]:
    """A short name per node of the pass: the given or own name, else the op, else the leaf's
    placeholder; a name that occurs more than once is numbered in the forward order (#1 is first)."""
    given = _names_by_id(names)
    in_pass = {id(s.node) for s in steps} | {id(share.input) for s in steps for share in s.shares}
    labels: Dict[int, str] = {}
    for node in graph_order(tensor):
        if id(node) in in_pass:
            labels[id(node)] = given.get(id(node)) or node.name or node.op or _placeholder(node)
    counts: Dict[str, int] = {}
    for text in labels.values():
        counts[text] = counts.get(text, 0) + 1
    seen: Dict[str, int] = {}
    for key, text in labels.items():
        if counts[text] > 1:
            seen[text] = seen.get(text, 0) + 1
            labels[key] = f"{text}#{seen[text]}"
    return labels


def _share_text(share, labels: Dict[int, str]) -> str:
    target = labels[id(share.input)]
    if share.added:
        return f"{target}: + {_stats_text(share.gradient)} = {_stats_text(share.total)}"
    return f"{target}: {_stats_text(share.gradient)}"


def _shape(node: Tensor) -> str:
    return "()" if node.ndim == 0 else str(node.shape)
