"""The `/` line of a pane (k9s's filter): hidden until opened, and esc empties and hides it again, handing the
focus back to what it filters."""

from __future__ import annotations

from textual.widgets import Input


class FilterBox(Input):
    DEFAULT_CSS = """
    FilterBox { display: none; }
    FilterBox.shown { display: block; }
    """

    def __init__(self, placeholder: str, target: str, **kw) -> None:
        """``target``: the selector of the widget that gets the focus back when the box closes."""
        super().__init__(placeholder=placeholder, compact=True, **kw)
        self.target = target

    def open(self, placeholder: str | None = None) -> None:
        if placeholder is not None:
            self.placeholder = placeholder
        self.add_class("shown")
        self.focus()

    def close(self) -> bool:
        """Empty, hide and give the focus back; False when it was not open (esc then means something else)."""
        if not self.has_class("shown"):
            return False
        self.value = ""
        self.remove_class("shown")
        self.screen.query_one(self.target).focus()
        return True
