"""Image preview in half-block characters: two pixels per cell, works in any colour terminal and over SSH.

Under NO_COLOR the half blocks would all look alike (a solid block of '▀'), so each cell is drawn as a
character of a brightness ramp instead: a grey picture a monochrome terminal can show."""

from __future__ import annotations

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

# dark to bright, for light text on a dark terminal (what NO_COLOR terminals mostly are)
RAMP = " .:-=+*#%@"


class HalfBlockImage:
    """A rich renderable of an RGB array [h, w, 3] (h even) drawn with '▀': fg = top, bg = bottom pixel; with
    ``mono``, one character of RAMP per cell for the two pixels' mean brightness (Rec. 601 luma)."""

    def __init__(self, pixels, mono: bool = False) -> None:
        self.pixels = pixels
        self.mono = mono

    def lines(self) -> list[list[Segment]]:
        px = self.pixels
        h, w = px.shape[0], px.shape[1]
        if self.mono:
            return self._ramp(px, h, w)
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

    @staticmethod
    def _ramp(px, h: int, w: int) -> list[list[Segment]]:
        import numpy as np

        rgb = px[: h - h % 2].astype(np.float32)
        luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # [h, w]
        cells = (luma[0::2] + luma[1::2]) / 2  # one value per cell: the two pixels it covers
        idx = np.clip((cells / 256 * len(RAMP)).astype(int), 0, len(RAMP) - 1)
        plain = Style()  # a style on every segment (Textual's NO_COLOR filter fails on None)
        return [[Segment("".join(RAMP[i] for i in row), plain)] for row in idx]


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
        mono = bool(getattr(self.app, "no_color", False))
        self._lines = HalfBlockImage(pixels, mono).lines() if pixels is not None else []
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
            pad = max(0, (width - sum(len(seg.text) for seg in row)) // 2)
            return Strip([Segment(" " * pad, base), *row]).crop(0, width)
        if not self._lines and y == self.content_size.height // 2:
            text = self._message.center(width)[:width].ljust(width)
            return Strip([Segment(text, base + Style(dim=True))])
        return Strip.blank(width, base)
