"""A log view for the server's output: batched appends and a filter that stays fast on long logs."""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import Log

SHOWN_MAX = 5000  # lines kept in the widget; the full log stays in the server's ring buffer


class FilteredLog(Log):
    """``Log`` (line based, cheap to append) plus a case-insensitive substring filter."""

    def __init__(self, **kw) -> None:
        super().__init__(max_lines=SHOWN_MAX, highlight=False, **kw)
        self.pattern = ""

    def matches(self, line: str) -> bool:
        return not self.pattern or self.pattern in line.lower()

    def append(self, lines: Iterable[str]) -> None:
        shown = [ln for ln in lines if self.matches(ln)]
        if shown:
            self.write_lines(shown)

    def refilter(self, pattern: str, source: Iterable[str]) -> int:
        """Show the last SHOWN_MAX lines of ``source`` that contain ``pattern``; returns how many matched."""
        self.pattern = pattern.lower()
        matched = [ln for ln in source if self.matches(ln)]
        self.clear()
        self.write_lines(matched[-SHOWN_MAX:])
        return len(matched)
