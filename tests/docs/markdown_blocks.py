"""Fenced code blocks of the documentation's Markdown pages, as the docs tests need them.

A block is executed when its language is ``python``, unless the line right before it (blank lines
aside) is ``<!-- not-executed: reason -->``. A ``text`` block whose fence carries
``title="Output"`` right after a python block is the output that block must print. Fences may be
indented (inside admonitions and lists); the indentation is removed from the code.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)(?P<rest>.*)$")
_NOT_EXECUTED = re.compile(r"^\s*<!--\s*not-executed:(?P<reason>.*?)-->\s*$")


@dataclass
class Block:
    """One fenced code block: its language, fence options, code and where it starts (1-based line)."""

    language: str
    options: str
    code: str
    line: int
    skip_reason: Optional[str] = None

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
    previous_text_line = ""
    index = 0
    while index < len(lines):
        match = _FENCE_OPEN.match(lines[index])
        if not match:
            if lines[index].strip():
                previous_text_line = lines[index]
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
        skip = _NOT_EXECUTED.match(previous_text_line)
        blocks.append(
            Block(
                language=match.group("lang"),
                options=match.group("rest").strip(),
                code="\n".join(code_lines) + "\n",
                line=start + 1,
                skip_reason=skip.group("reason").strip() if skip else None,
            )
        )
        previous_text_line = lines[end]
        index = end + 1
    return blocks


def pages() -> List[Path]:
    """Every Markdown page of the site, sorted, so test ids are stable."""
    return sorted(DOCS_DIR.rglob("*.md"))


def page_id(path: Path) -> str:
    """A page's path relative to docs/, for test ids and messages."""
    return path.relative_to(DOCS_DIR).as_posix()
