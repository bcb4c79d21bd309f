"""A griffe extension that makes this project's docstrings render as Markdown in the API reference.

The docstrings are written for ``help()`` and doctest first: Google-style sections, bare ``>>>``
examples, and here and there reST (``:func:`name```, ``Example::`` before an indented block).
mkdocstrings reads docstrings as Markdown, where bare doctest lines run together into one
paragraph and reST roles show up literally. This extension rewrites each docstring before it is
parsed:

* a run of doctest lines (``>>>`` up to the next blank line) outside an ``Example(s):`` section
  becomes a fenced ``pycon`` block; a section titled ``Example:`` is renamed ``Examples:``, the
  title griffe renders as code (it reads ``Example:`` as an admonition of Markdown text);
* ``text::`` followed by an indented block becomes ``text:`` and a fenced ``python`` block;
* ``:func:`~pkg.name``` and the other reST roles become inline code.

It also gives a module-level constant the ``#:`` comment lines right above it as its docstring
(the Sphinx convention some modules here use), when it has no docstring of its own.

mkdocs.yml loads it by path (``extensions: [docs/scripts/griffe_markdown_docstrings.py]``).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import List, Optional

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|data|attr|mod|obj|exc|const):`(~?)([^`]+)`")
_DOCTEST_FLAGS = re.compile(r"\s*#\s*doctest:.*$")
_EXAMPLES_SECTION = re.compile(r"^\s*Examples?:\s*$")
_FENCE = "```"


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip())


def _replace_role(match: re.Match) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


def to_markdown(text: str) -> str:
    """Rewrite one docstring as described in the module docstring.

    >>> to_markdown("See :func:`~tinygrad_mnist.grad` and :class:`tinygrad_mnist.Tensor`.")
    'See `grad` and `tinygrad_mnist.Tensor`.'
    >>> to_markdown("Example:\\n    >>> 1 + 1\\n    2")
    'Examples:\\n    >>> 1 + 1\\n    2'
    """
    lines = text.split("\n")
    out: List[str] = []
    in_fence = False
    examples_indent = None  # indentation of the current "Example(s):" section title, if inside one
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(_FENCE):
            in_fence = not in_fence
            out.append(line)
            i += 1
            continue
        if in_fence:
            out.append(line)
            i += 1
            continue
        if stripped and examples_indent is not None and _indent_of(line) <= examples_indent:
            examples_indent = None
        if _EXAMPLES_SECTION.match(line):
            examples_indent = _indent_of(line)
            # griffe reads a singular "Example:" as an admonition of Markdown text, where doctest
            # lines run together; "Examples:" is the section it renders as code.
            out.append(line.replace("Example:", "Examples:"))
            i += 1
            continue
        if stripped.startswith(">>>") and examples_indent is None:
            pad = line[: _indent_of(line)]
            out.append(pad + _FENCE + "pycon")
            while i < len(lines) and lines[i].strip():
                out.append(_DOCTEST_FLAGS.sub("", lines[i]))
                i += 1
            out.append(pad + _FENCE)
            continue
        if stripped.endswith("::") and examples_indent is None:
            block_start = i + 1
            while block_start < len(lines) and not lines[block_start].strip():
                block_start += 1
            base = _indent_of(line)
            if block_start < len(lines) and _indent_of(lines[block_start]) > base:
                end = block_start
                while end < len(lines) and (not lines[end].strip() or _indent_of(lines[end]) > base):
                    end += 1
                while end > block_start and not lines[end - 1].strip():
                    end -= 1
                block = lines[block_start:end]
                inner = min(_indent_of(b) for b in block if b.strip())
                pad = line[:base]
                title = _ROLE.sub(_replace_role, line.rstrip()[:-1])
                if title.strip():
                    out += [title, ""]
                language = "pycon" if block[0].strip().startswith(">>>") else "python"
                out.append(pad + _FENCE + language)
                out += [(pad + b[inner:]) if b.strip() else "" for b in block]
                out.append(pad + _FENCE)
                i = end
                continue
        out.append(_ROLE.sub(_replace_role, line))
        i += 1
    return "\n".join(out)


@lru_cache(maxsize=None)
def _source_lines(path: str) -> List[str]:
    return Path(path).read_text(encoding="utf-8").splitlines()


def comment_docstring(lines: List[str], lineno: int) -> Optional[str]:
    """The ``#:`` comment lines right above line ``lineno`` (1-based), joined, or None.

    >>> comment_docstring(["#: The answer.", "#: Always.", "ANSWER = 42"], 3)
    'The answer.\\nAlways.'
    """
    found = []
    index = lineno - 2
    while index >= 0 and lines[index].strip().startswith("#:"):
        found.append(lines[index].strip()[2:].strip())
        index -= 1
    return "\n".join(reversed(found)) or None


class MarkdownDocstrings(griffe.Extension):
    """Rewrite every loaded object's docstring with :func:`to_markdown`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is None and obj.is_attribute and obj.lineno and isinstance(obj.filepath, Path):
            text = comment_docstring(_source_lines(str(obj.filepath)), obj.lineno)
            if text:
                obj.docstring = griffe.Docstring(text, lineno=obj.lineno, parent=obj)
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
