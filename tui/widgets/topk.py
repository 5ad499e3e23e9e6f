"""Top-k table with score bars (labels are untrusted text: plain Text, never markup)."""

from __future__ import annotations

import math

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ..core.classifier import Classification
from ..text import cell, join, plain

BAR = 10


def _bar(score: float) -> Text:
    if not math.isfinite(score):
        return Text("?" * BAR, style="red")
    n = max(0, min(BAR, round(score * BAR)))
    return Text("█" * n + "·" * (BAR - n), style="green")


def render_topk(
    result: Classification | None, error: str | None = None, title: Text | str = ""
) -> Table | Text:
    if error:
        return join(("error: ", "bold red"), plain(error, "red", limit=1000))
    if result is None:
        return Text("no result yet", style="dim")
    table = Table(
        box=None,
        expand=True,
        show_edge=False,
        pad_edge=False,
        title=plain(title) if isinstance(title, str) and title else (title or None),
        title_justify="left",
    )
    table.add_column("#", justify="right", width=4, style="dim")
    table.add_column("label", ratio=1, no_wrap=True, overflow="ellipsis", min_width=8)
    table.add_column("score", justify="right", width=5)
    table.add_column("", width=BAR, no_wrap=True)
    for t in result.top:
        score = f"{t.score:.2f}" if math.isfinite(t.score) else str(t.score)
        table.add_row(Text(str(t.index)), cell(t.label or "?"), Text(score), _bar(t.score))
    return table


class TopKView(Static):
    """Renders a Classification (or an error) handed to it."""

    DEFAULT_CSS = "TopKView { height: auto; min-height: 3; }"

    plain = ""  # what is shown, as text (for tests and screen readers)

    def show(self, result: Classification | None, error: str | None = None, title: Text | str = "") -> None:
        if error:
            self.plain = f"error: {error}"
        elif result is None:
            self.plain = "no result yet"
        else:
            self.plain = "\n".join(f"{t.index} {t.label} {t.score:.2f}" for t in result.top)
        self.update(render_topk(result, error, title))
