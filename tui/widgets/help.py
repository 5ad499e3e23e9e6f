"""The help screen (`?`): every key, in sections, scrollable to its end with the keys people expect.

Key names are shown as people write them (``:`` not ``colon``, ``+/=`` not ``plus,equals_sign``).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from triton_console.tui.text import join

Section = tuple[str, list[tuple[str, str]]]  # (title, [(key, action)])


def key_label(keys: str) -> str:
    """A binding's key list as people write it: ``plus,equals_sign`` -> ``+/=``, ``ctrl+r`` stays."""
    return "/".join("enter" if k.strip() == "enter" else format_key(k.strip()) for k in keys.split(","))


def binding_rows(bindings: Iterable[Binding | tuple]) -> list[tuple[str, str]]:
    """(key, action) rows of a BINDINGS list; a binding without a description shows its action."""
    rows = []
    for b in bindings:
        if not isinstance(b, Binding):
            b = Binding(*b)
        rows.append((key_label(b.key), b.description or b.action))
    return rows


class HelpScreen(ModalScreen):
    """Every key of the console: the sections scroll with up/down, page up/down, home/end."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 72; height: 90%; border: round $accent; background: $surface; }
    HelpScreen #help-title { height: 1; padding: 0 1; }
    HelpScreen #help-body { height: 1fr; padding: 0 1; }
    """

    def __init__(self, sections: list[Section]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                join(("triton-console keys", "bold"), "  ↑↓ pgup pgdn home end scroll, esc closes"),
                id="help-title",
            )
            with VerticalScroll(id="help-body"):
                yield Static(self.table(), id="help-keys")
        yield Footer()

    def table(self) -> Group:
        """Each section: its title, then a key column as wide as the widest key of all sections."""
        width = max(len(key) for _, rows in self.sections for key, _ in rows)
        parts = []
        for i, (title, rows) in enumerate(self.sections):
            table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
            table.add_column("key", style="bold", no_wrap=True, width=width)
            table.add_column("action", ratio=1)
            for key, action in rows:
                table.add_row(Text(key), Text(action))
            parts += [Text(("\n" if i else "") + title, style="bold underline"), table]
        return Group(*parts)

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()
