"""A log view for the server's output: batched appends and one filter that stays fast on long logs."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from rich.text import Text
from textual.widgets import Log

from triton_console.common.untrusted import visible
from triton_console.tui.text import word_lines

SHOWN_MAX = 5000  # lines kept in the widget; the full log stays in the server's ring buffer


def table_row(line: str) -> bool:
    """A line of a table as Triton prints them at start (models, backends, its options): ``+----+`` or
    ``| a | b |``, from its first column to its last."""
    end = line.rstrip()
    return len(end) > 1 and end[0] in "+|" and end[-1] in "+|"


def cut(line: str, width: int) -> str:
    """``line`` on one line of ``width`` cells, its end cut with … where longer."""
    text = Text(line)
    text.truncate(width, overflow="ellipsis")
    return text.plain


def matching(lines: Iterable[str], pattern: str) -> list[str]:
    """The lines that contain ``pattern`` (case-insensitive); all lines for an empty pattern. Pure: run it
    in a worker for a long log, then hand the result to :meth:`FilteredLog.show`."""
    p = pattern.lower()
    return [ln for ln in lines if not p or p in ln.lower()]


class FilteredLog(Log):
    """``Log`` (line based, cheap to append) plus a case-insensitive substring filter.

    Lines are shown with control characters and escapes made visible (a server's log is untrusted text).
    Long lines wrap to the view's width between words, continuations indented (a Triton error's reason sat
    past column 78 and needed many presses of → to read), a word wider than the view cut in its middle with
    … rather than split over two lines; a table's row (``+---+``, ``| a | b |``) is cut with … at the edge
    instead. :meth:`toggle_wrap` shows them whole on one line.
    It follows the tail unless the user scrolled up (Textual's anchor: a scroll of the user's releases it, End
    or scrolling back to the bottom takes it again). Whether it follows is that, not "the view is at its last
    line now": a resize (the Server pane's state lines growing or shrinking as the server starts) left the
    view a line or three off its end, and ``Log``'s own auto-scroll then stopped for good.
    """

    def __init__(self, wrap: bool = True, **kw) -> None:
        super().__init__(max_lines=SHOWN_MAX, highlight=False, auto_scroll=False, **kw)
        self.pattern = ""
        self.wrap = wrap
        self.raw: deque[str] = deque(maxlen=SHOWN_MAX)  # what is shown, before wrapping
        self._wrapped_at = 0

    def on_mount(self) -> None:
        self.anchor()

    @property
    def following(self) -> bool:
        """Whether the view follows the tail: anchored, and the user has not scrolled away since."""
        return self.is_anchored and not self._anchor_released

    def _follow(self) -> None:
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def _room(self) -> int:
        return max(20, self.scrollable_content_region.width - 1)

    def _wrapped_lines(self, lines: Iterable[str]) -> list[str]:
        if not self.wrap:
            return list(lines)
        width = self._wrapped_at = self._room()
        out: list[str] = []
        for line in lines:  # between words; a word wider than the view (a path) cut in its middle with …
            # a table's row whole on its line, cut at the view's edge (wrapped, its cells' padding and closing
            # | made lines of their own); w shows it all
            out += [cut(line, width)] if table_row(line) else word_lines(line, width, indent="  ")
        return out

    def append(self, lines: Iterable[str]) -> None:
        shown = [visible(ln, 2000) for ln in matching(lines, self.pattern)]
        if shown:
            self.raw.extend(shown)
            self.write_lines(self._wrapped_lines(shown), scroll_end=False)
            self._follow()

    def show(self, pattern: str, matched: list[str]) -> None:
        """Replace the content by ``matched`` (the last SHOWN_MAX of them), filtering new lines by ``pattern``."""
        self.pattern = pattern.lower()
        self.raw = deque((visible(ln, 2000) for ln in matched[-SHOWN_MAX:]), maxlen=SHOWN_MAX)
        self._redraw()
        self.scroll_end(animate=False, immediate=True, x_axis=False)  # a new filter: its last lines, followed

    def _redraw(self) -> None:
        """Wrap again (a new width, wrap toggled): the tail if following, else about the same place."""
        at = self.scroll_y / self.max_scroll_y if self.max_scroll_y else 1.0
        self.clear()
        self.write_lines(self._wrapped_lines(self.raw), scroll_end=False)
        if self.following:
            self._follow()
        else:
            self.scroll_to(
                y=round(at * self.max_scroll_y), animate=False, immediate=True, release_anchor=False
            )

    def toggle_wrap(self) -> bool:
        """Wrap long lines, or show each whole on one line (scroll sideways); returns the new setting."""
        self.wrap = not self.wrap
        self._redraw()
        return self.wrap

    def on_resize(self) -> None:
        if self.wrap and self._room() != self._wrapped_at:
            self._redraw()
