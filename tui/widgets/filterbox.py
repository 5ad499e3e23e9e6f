"""The `/` line of a pane (k9s's filter): hidden until opened, and esc empties and hides it again, handing the
focus back to what it filters."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input

from triton_console.tui.widgets.textbox import TYPED


class FilterBox(Input):
    """The footer shows what Enter and esc do in the box's present use (``mode``: filter, or add a name)."""

    BINDINGS = [
        Binding("enter", "done('add')", "Add", id="filterbox.add"),
        Binding("enter", "done('filter')", "Done", id="filterbox.done"),
        Binding("escape", "close_box('add')", "Cancel", id="filterbox.cancel"),
        Binding("escape", "close_box('filter')", "Close", id="filterbox.close"),
    ]
    DEFAULT_CSS = """
    FilterBox { display: none; }
    FilterBox.shown { display: block; }
    """

    def __init__(self, placeholder: str, target: str, **kw) -> None:
        """``target``: the selector of the widget that gets the focus back when the box closes."""
        super().__init__(placeholder=placeholder, compact=True, **kw)
        self.target = target
        self.mode = "filter"

    def open(self, placeholder: str | None = None, mode: str = "filter") -> None:
        if placeholder is not None:
            self.placeholder = placeholder
        self.mode = mode
        self.add_class("shown")
        self.focus()
        self.refresh_bindings()

    def check_consume_key(
        self, key: str, character: str | None
    ) -> bool:  # / types a slash: not in the footer
        return super().check_consume_key(key, character or TYPED.get(key))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("done", "close_box"):
            return parameters[0] == self.mode
        return True

    async def action_done(self, mode: str) -> None:
        await self.action_submit()

    def action_close_box(self, mode: str) -> None:
        self.close()

    def close(self) -> bool:
        """Empty, hide and give the focus back; False when it was not open (esc then means something else)."""
        if not self.has_class("shown"):
            return False
        self.value = ""
        self.remove_class("shown")
        self.screen.query_one(self.target).focus()
        return True
