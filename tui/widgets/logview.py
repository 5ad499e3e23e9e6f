"""A log view for the server's output: batched appends and one filter that stays fast on long logs."""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import Log

from triton_console.common.untrusted import visible

SHOWN_MAX = 5000  # lines kept in the widget; the full log stays in the server's ring buffer


def matching(lines: Iterable[str], pattern: str) -> list[str]:
    """The lines that contain ``pattern`` (case-insensitive); all lines for an empty pattern. Pure: run it
    in a worker for a long log, then hand the result to :meth:`FilteredLog.show`."""
    p = pattern.lower()
    return [ln for ln in lines if not p or p in ln.lower()]


class FilteredLog(Log):
    """``Log`` (line based, cheap to append) plus a case-insensitive substring filter.

    Lines are shown with control characters and escapes made visible (a server's log is untrusted text).
    It follows the tail unless the user scrolled up.
    """

    def __init__(self, **kw) -> None:
        super().__init__(max_lines=SHOWN_MAX, highlight=False, auto_scroll=True, **kw)
        self.pattern = ""

    def append(self, lines: Iterable[str]) -> None:
        shown = [visible(ln, 2000) for ln in matching(lines, self.pattern)]
        if shown:
            self.write_lines(shown)

    def show(self, pattern: str, matched: list[str]) -> None:
        """Replace the content by ``matched`` (the last SHOWN_MAX of them), filtering new lines by ``pattern``."""
        self.pattern = pattern.lower()
        self.clear()
        self.write_lines([visible(ln, 2000) for ln in matched[-SHOWN_MAX:]])
        self.scroll_end(animate=False)
