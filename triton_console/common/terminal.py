"""The terminal's width for plain-text output (without importing shutil and the bz2/lzma it pulls in), and
lines fitted to it: names cut with an ellipsis, long text wrapped."""

from __future__ import annotations

import os
import sys


def columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` gives it (COLUMNS, else stdout's, else 80)."""
    try:
        width = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        width = 0
    if width <= 0:
        try:
            width = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            width = 0
    return width or 80


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells: a longer one ends in an ellipsis (names in a column)."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def wrapped(text: str, width: int, indent: str = "", first: str | None = None) -> list[str]:
    """``text`` as lines of at most ``width`` cells, every one after the first indented by ``indent`` (the first
    by ``first``, default the same): a long reason or error keeps every word instead of running off the edge."""
    import textwrap

    lead = indent if first is None else first
    return textwrap.wrap(
        text,
        width,
        initial_indent=lead,
        subsequent_indent=indent,
        break_long_words=True,
        break_on_hyphens=False,
        drop_whitespace=True,
    ) or [lead.rstrip()]


def fitted(text: str, width: int) -> list[str]:
    """Every line of ``text`` in at most ``width`` cells: a longer one wraps onto lines indented 4 cells more
    than its own indent (a header, a first error, a list of scores), every word kept."""
    out: list[str] = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip(" "))]
        out += wrapped(line.strip(), width, lead + "    ", lead)
    return out
