"""The Bench and Tune charts' common parts: a series with its own glyph and colour, the plot that says when
its size changes (its ticks are fitted to its rows), and the legend line under it.

plotext's own legend sits on the plot's top rows, over the lines, at 80x24; the line under the chart names each
series by the glyph it is drawn with, so the series read apart without colour (NO_COLOR, a monochrome
terminal)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual_plotext import PlotextPlot

from triton_console.tui.text import join


@dataclass
class Series:
    label: str
    marker: str
    color: tuple[int, int, int]
    xs: list[float]
    ys: list[float]


class FittedPlot(PlotextPlot):
    """A chart whose ticks are fitted to its rows: it says when its size changes (the lines under it grow
    and shrink with what they say), so that its pane fits them again."""

    class Resized(Message):
        pass

    def on_resize(self) -> None:
        self.post_message(self.Resized())


def legend(shown: list[Series], width: int, extra: list[Text] | None = None) -> Text:
    """The series, each with its glyph in its colour (``• p50  + p95  x p99``), then ``extra`` notes, in
    lines of ``width`` that break between the entries, never inside one."""
    entries = [join((s.marker, f"rgb({s.color[0]},{s.color[1]},{s.color[2]})"), f" {s.label}") for s in shown]
    entries += extra or []
    lines: list[Text] = []
    for entry in entries:
        if lines and lines[-1].cell_len + 2 + entry.cell_len <= width:
            lines[-1].append("  ")
            lines[-1].append_text(entry)
        else:
            lines.append(entry)
    return Text("\n").join(lines)
