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
