"""Top-k table with score bars."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ..core.client import Classification

BAR = 10


def render_topk(result: Classification | None, error: str | None = None, title: str = "") -> Table | Text:
    if error:
        return Text.assemble(("error: ", "bold red"), (error, "red"))
    if result is None:
        return Text("no result yet", style="dim")
    table = Table(
        box=None, expand=True, show_edge=False, pad_edge=False, title=title or None, title_justify="left"
    )
    table.add_column("#", justify="right", width=3, style="dim")
    table.add_column("label", ratio=1, no_wrap=True, overflow="ellipsis", min_width=8)
    table.add_column("score", justify="right", width=5)
    table.add_column("", width=BAR, no_wrap=True)
    for t in result.top:
        n = max(0, min(BAR, round(t.score * BAR)))
        table.add_row(
            str(t.index), t.label or "?", f"{t.score:.2f}", Text("█" * n + "·" * (BAR - n), style="green")
        )
    return table


class TopKView(Static):
    """Renders a Classification (or an error) handed to it."""

    DEFAULT_CSS = "TopKView { height: auto; min-height: 3; }"

    plain = ""  # what is shown, as text (for tests and screen readers)

    def show(self, result: Classification | None, error: str | None = None, title: str = "") -> None:
        if error:
            self.plain = f"error: {error}"
        elif result is None:
            self.plain = "no result yet"
        else:
            self.plain = "\n".join(f"{t.index} {t.label} {t.score:.2f}" for t in result.top)
        self.update(render_topk(result, error, title))
