"""Top-k table with score bars (labels are untrusted text: plain Text, never markup)."""

from __future__ import annotations

import math

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from triton_console.tui.core.classify.classifier import Classification
from triton_console.tui.text import cell, join, plain

BAR = 10


def _bar(score: float, lo: float = 0.0, hi: float = 1.0) -> Text:
    if not math.isfinite(score):
        return Text("?" * BAR, style="red")
    n = max(0, min(BAR, round((score - lo) / (hi - lo) * BAR))) if hi > lo else BAR
    return Text("█" * n + "·" * (BAR - n), style="green")


def _range(scores: list[float]) -> tuple[float, float, bool]:
    """The bars' scale: [0, 1] for probabilities; for raw scores (a backbone's logits) from the lowest
    shown (or 0) to the highest, so the bars still compare the classes."""
    finite = [s for s in scores if math.isfinite(s)]
    if all(0.0 <= s <= 1.0 for s in finite):
        return 0.0, 1.0, True
    return min(0.0, *finite), max(finite), False


def render_topk(
    result: Classification | None, error: str | None = None, title: Text | str = ""
) -> Table | Text:
    if error:
        return join(("error: ", "bold red"), plain(error, "red", limit=1000))
    if result is None:
        return Text("no result yet", style="dim")
    # one space between the columns and the index as wide as its digits: at 80 columns the label had 12
    # cells ("station wag…") beside two spaces a gap and a 4-cell index column
    table = Table(
        box=None,
        expand=True,
        show_edge=False,
        pad_edge=False,
        padding=(0, 0, 0, 1),
        title=plain(title) if isinstance(title, str) and title else (title or None),
        title_justify="left",
    )
    digits = max((len(str(t.index)) for t in result.top), default=1)
    table.add_column("#", justify="right", width=digits, style="dim")
    table.add_column("label", ratio=1, no_wrap=True, overflow="ellipsis", min_width=8)
    lo, hi, probabilities = _range([t.score for t in result.top])
    table.add_column("score" if probabilities else "raw", justify="right", width=5)
    table.add_column("", width=BAR, no_wrap=True)
    for t in result.top:
        score = f"{t.score:.2f}" if math.isfinite(t.score) else str(t.score)
        table.add_row(Text(str(t.index)), cell(t.label or "?"), Text(score), _bar(t.score, lo, hi))
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
