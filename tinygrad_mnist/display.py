"""HTML for notebooks: how a Tensor shows itself in Jupyter (``Tensor._repr_html_``).

A leaf module (NumPy and the standard library only), so that ``tensor.py`` can use it without
importing anything built on the Tensor.
"""
from __future__ import annotations

import html

import numpy as np

# Values beyond this many entries are abbreviated with "..." (NumPy's own summarisation).
SHOWN_ENTRIES = 60
_STYLE = "font-family: monospace; font-size: 12px; border-left: 3px solid {color}; padding: 2px 8px; margin: 2px 0"


def _grad_status(tensor) -> str:
    """Where the tensor stands for autograd, in words."""
    if tensor._ctx is not None:
        freed = "" if tensor._ctx.parents is not None else ", its graph freed by backward()"
        return f"result of {tensor._ctx.name}{freed}; requires grad"
    if tensor.requires_grad:
        grad = tensor.grad
        if grad is None:
            return "leaf, requires grad; .grad is None (no backward() yet, or zero_grad())"
        one_line = " ".join(values_text(np.asarray(getattr(grad, "data", grad)), 2).split())
        return f"leaf, requires grad; .grad = {html.escape(one_line)}"
    return "constant (does not require grad)"


def values_text(values: np.ndarray, edge_items: int = 3) -> str:
    """The values as NumPy prints them, abbreviated beyond ``SHOWN_ENTRIES`` entries."""
    return np.array2string(values, precision=4, threshold=SHOWN_ENTRIES, edgeitems=edge_items, separator=", ")


def tensor_html(tensor) -> str:
    """A small HTML card: name, shape, dtype, autograd status and the (abbreviated) values.

    >>> from tinygrad_mnist import Tensor
    >>> card = tensor_html(Tensor([[1.0, 2.0]], requires_grad=True, name="w"))
    >>> "(1, 2)" in card and "float32" in card and "requires grad" in card and "<b>w</b>" in card
    True
    """
    data = tensor.data
    color = "#3f8f3f" if tensor.requires_grad else "#8c8c8c"
    problems = ""
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        problems = (f' <span style="color:#c00000"><b>{int(np.isnan(data).sum())} NaN, '
                    f"{int(np.isinf(data).sum())} Inf</b></span>")
    name = f"<b>{html.escape(tensor.name)}</b> " if getattr(tensor, "name", None) else ""
    shape = "scalar" if data.ndim == 0 else str(data.shape)
    return (
        f'<div style="{_STYLE.format(color=color)}">'
        f"{name}Tensor {shape} {data.dtype}{problems}<br>"
        f'<span style="color:#555555">{_grad_status(tensor)}</span>'
        f'<pre style="margin: 2px 0">{html.escape(values_text(data))}</pre></div>'
    )


def table_html(header, rows, footer=()) -> str:
    """A plain HTML table (a module summary); cells are escaped, numbers right-aligned.

    >>> table_html(["a", "b"], [["x", 1]]).count("<td")
    2
    """
    def cell(value, tag: str) -> str:
        align = "right" if isinstance(value, (int, float)) else "left"
        text = f"{value:,}" if isinstance(value, int) else str(value)
        return f'<{tag} style="text-align:{align}; font-family: monospace">{html.escape(text)}</{tag}>'

    lines = ["<table>", "<tr>" + "".join(cell(h, "th") for h in header) + "</tr>"]
    lines += ["<tr>" + "".join(cell(value, "td") for value in row) + "</tr>" for row in rows]
    lines += [f'<tr><td colspan="{len(header)}">{html.escape(text)}</td></tr>' for text in footer]
    return "\n".join(lines + ["</table>"])
