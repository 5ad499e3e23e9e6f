"""Image preview in half-block characters: two pixels per cell, works in any colour terminal and over SSH."""

from __future__ import annotations

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget


class HalfBlockImage:
    """A rich renderable of an RGB array [h, w, 3] (h even) drawn with '▀': fg = top, bg = bottom pixel."""

    def __init__(self, pixels) -> None:
        self.pixels = pixels

    def lines(self) -> list[list[Segment]]:
        px = self.pixels
        h, w = px.shape[0], px.shape[1]
        out = []
        for y in range(0, h - 1, 2):
            top, bottom = px[y], px[y + 1]
            row = []
            for x in range(w):
                t, b = top[x], bottom[x]
                style = Style(color=Color.from_rgb(*map(int, t)), bgcolor=Color.from_rgb(*map(int, b)))
                row.append(Segment("▀", style))
            out.append(row)
        return out


class ImagePreview(Widget):
    """Shows the last classified image; the pixels come pre-decoded from a worker."""

    DEFAULT_CSS = """
    ImagePreview { width: 34; height: 16; border: round $panel; }
    """

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._lines: list[list[Segment]] = []
        self._message = "no image"

    def show(self, pixels) -> None:
        self._lines = HalfBlockImage(pixels).lines() if pixels is not None else []
        self._message = "" if self._lines else "no preview"
        self.refresh()

    def clear(self, message: str = "no image") -> None:
        self._lines, self._message = [], message
        self.refresh()

    def cell_size(self) -> tuple[int, int]:
        """Pixels that fit: (width, height*2)."""
        return max(self.content_size.width, 20), max(self.content_size.height, 9) * 2

    def render_line(self, y: int) -> Strip:
        # Every segment carries a style: Textual's NO_COLOR (monochrome) filter fails on a segment without one.
        width = self.content_size.width
        base = self.rich_style
        if y < len(self._lines):
            row = self._lines[y]
            pad = max(0, (width - len(row)) // 2)
            return Strip([Segment(" " * pad, base), *row]).crop(0, width)
        if not self._lines and y == self.content_size.height // 2:
            text = self._message.center(width)[:width].ljust(width)
            return Strip([Segment(text, base + Style(dim=True))])
        return Strip.blank(width, base)
