"""Fenced code blocks of the documentation's Markdown pages (and the README), as the docs tests need them.

A block is executed when its language is ``python``, unless the comment lines right before it (blank
lines aside) include ``<!-- not-executed: reason -->``. A block that needs a system program to run
(``save_graph`` to SVG, the ``graph`` command writing one) is marked ``<!-- requires-program: dot -->``
the same way; its test is skipped, saying why, where the program is missing. A ``text`` block whose
fence carries ``title="Output"`` right after a python block is the output that block must print.
Fences may be indented (inside admonitions and lists); the indentation is removed from the code.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

REPO = Path(__file__).resolve().parents[2]
DOCS_DIR = REPO / "docs"
README = REPO / "README.md"
_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)(?P<rest>.*)$")
_COMMENT = re.compile(r"^\s*<!--(?P<body>.*?)-->\s*$")
_NOT_EXECUTED = re.compile(r"\s*not-executed:(?P<reason>.*)")
_REQUIRES_PROGRAM = re.compile(r"\s*requires-program:(?P<programs>.*)")


@dataclass
class Block:
    """One fenced code block: its language, fence options, code and where it starts (1-based line)."""

    language: str
    options: str
    code: str
    line: int
    skip_reason: Optional[str] = None
    programs: Tuple[str, ...] = ()

    @property
    def is_output(self) -> bool:
        return self.language == "text" and 'title="Output"' in self.options


def parse_blocks(text: str) -> List[Block]:
    """All fenced blocks of a Markdown text, in order.

    >>> [(b.language, b.code, b.line) for b in parse_blocks("a\\n```python\\nx = 1\\n```\\n")]
    [('python', 'x = 1\\n', 3)]
    """
    lines = text.split("\n")
    blocks: List[Block] = []
    comments: List[str] = []  # the HTML comment lines since the last text or block
    index = 0
    while index < len(lines):
        match = _FENCE_OPEN.match(lines[index])
        if not match:
            comment = _COMMENT.match(lines[index])
            if comment:
                comments.append(comment.group("body"))
            elif lines[index].strip():
                comments = []
            index += 1
            continue
        indent, fence = match.group("indent"), match.group("fence")
        start = index + 1
        end = start
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        if end == len(lines):
            raise ValueError(f"line {index + 1}: the code block opened here is never closed with {fence}")
        code_lines = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[start:end]]
        skip_reason, programs = None, []
        for body in comments:
            skip = _NOT_EXECUTED.fullmatch(body)
            needs = _REQUIRES_PROGRAM.fullmatch(body)
            if skip:
                skip_reason = skip.group("reason").strip()
            if needs:
                programs += needs.group("programs").split()
        blocks.append(
            Block(
                language=match.group("lang"),
                options=match.group("rest").strip(),
                code="\n".join(code_lines) + "\n",
                line=start + 1,
                skip_reason=skip_reason,
                programs=tuple(programs),
            )
        )
        comments = []
        index = end + 1
    return blocks


def pages() -> List[Path]:
    """Every Markdown page of the site, sorted so test ids are stable, then the README (its code
    blocks are held to the same rules, though it is not part of the site)."""
    return sorted(DOCS_DIR.rglob("*.md")) + [README]


def page_id(path: Path) -> str:
    """A page's path relative to docs/ (the README's relative to the repository), for test ids and messages."""
    return path.relative_to(DOCS_DIR).as_posix() if DOCS_DIR in path.parents else path.relative_to(REPO).as_posix()


# ---- tables whose rows are code ---------------------------------------------------------------------
_TABLE_MARKER = re.compile(r"\s*spellings:\s*(?P<mode>\w+)\s*")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_CODE_SPAN = re.compile(r"`([^`]+)`")
#: What a marked table's rows mean to the docs test: ``run`` executes the right column's code;
#: ``refused`` runs the left column's code, which must fail with a one-line error naming the right
#: column's spelling, then runs the right column's code.
TABLE_MODES = ("run", "refused")


@dataclass
class TableRow:
    """One body row of a table marked ``<!-- spellings: MODE -->``: the code spans of its two columns."""

    mode: str
    left: List[str]
    right: List[str]
    line: int


def _cells(line: str) -> List[str]:
    return [cell.strip().replace("\\|", "|") for cell in _CELL_SPLIT.split(line.strip().strip("|"))]


def parse_table_rows(text: str) -> Tuple[List[TableRow], List[int]]:
    """The rows of marked tables, and the (1-based) header lines of tables whose first header cell
    is "PyTorch" but that carry no marker (a spelling table the docs test would not run).

    >>> rows, unmarked = parse_table_rows("<!-- spellings: run -->\\n| PyTorch | here |\\n| - | - |\\n| `a()` | `b()` |\\n")
    >>> [(r.mode, r.left, r.right, r.line) for r in rows], unmarked
    ([('run', ['a()'], ['b()'], 4)], [])
    """
    lines = text.split("\n")
    rows: List[TableRow] = []
    unmarked: List[int] = []
    mode: Optional[str] = None
    fence: Optional[str] = None
    index = 0
    while index < len(lines):
        line = lines[index]
        opening = _FENCE_OPEN.match(line)
        if fence is not None:
            if line.strip() == fence:
                fence = None
            index += 1
            continue
        if opening:
            fence, mode = opening.group("fence"), None
            index += 1
            continue
        comment = _COMMENT.match(line)
        marker = _TABLE_MARKER.fullmatch(comment.group("body")) if comment else None
        if marker:
            mode = marker.group("mode")
            if mode not in TABLE_MODES:
                raise ValueError(f"line {index + 1}: unknown table mode {mode!r} (choose from {', '.join(TABLE_MODES)})")
        elif line.lstrip().startswith("|"):
            header = _cells(line)
            if mode is None and header and header[0].strip("* ") == "PyTorch":
                unmarked.append(index + 1)
            index += 2  # the header and the | --- | line
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                if mode is not None:
                    cells = _cells(lines[index])
                    left, right = (cells + ["", ""])[:2]
                    rows.append(TableRow(mode, _CODE_SPAN.findall(left), _CODE_SPAN.findall(right), index + 1))
                index += 1
            mode = None
            continue
        elif line.strip():
            mode = None
        index += 1
    return rows, unmarked
