"""A one-line text box of a pane whose footer says what works in it: ⏎ and what Enter does there (Connect,
Classify, Run...), esc Leave; not the pane's keys it swallows as typed text."""

from __future__ import annotations

from dataclasses import replace

from textual.binding import Binding
from textual.widgets import Input

# key names whose character Textual does not find (its lookup of "SLASH" fails: the character is SOLIDUS),
# so a pane's `/ Filter log` stayed in the footer while / typed a slash in the box
TYPED = {"slash": "/", "backslash": "\\", "plus": "+", "minus": "-"}


class TextBox(Input):
    BINDINGS = [
        Binding("enter", "submit", "Submit", key_display="⏎", id="textbox.submit"),
        Binding("escape", "leave", "Leave", id="textbox.leave"),
    ]

    def __init__(self, *args, enter: str | None = "Submit", **kw) -> None:
        """``enter``: what Enter does in this box, for the footer (None: nothing, and the footer says none)."""
        super().__init__(*args, **kw)
        self.enter = enter
        # Textual's bindings have one description per class: this box's own, on its copy of them
        keys = self._bindings.key_to_bindings
        keys["enter"] = [replace(b, description=enter or "", show=enter is not None) for b in keys["enter"]]

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return super().check_consume_key(key, character or TYPED.get(key))

    async def action_leave(self) -> None:
        """As esc everywhere (the app's back): the focus back to the pane, notifications dismissed."""
        await self.app.run_action("back")
