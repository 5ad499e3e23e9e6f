"""A Select of model names whose shown value keeps its distinguishing end (``ensemble_py…net_lite0``).

The options stay plain Text: a list of 20,000 models opens as fast as before (a cut made at draw time for
each option took seconds); only the one line showing the chosen name is cut in the middle.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Select

from triton_console.tui.text import name


class NameSelect(Select):
    def watch_value(self, value) -> None:
        """The chosen name with its distinguishing end, at every change: also one made with its Changed
        prevented (a pane's own setting), which no Changed handler would see. Runs after Select's own
        watcher, which shows the option's text."""
        if isinstance(value, str):
            for current in self.query("SelectCurrent"):
                current.update(name(value))

    def set_names(self, names: list[str]) -> None:
        """The names as options, each on one line (a long name wrapped onto two read as two names); the
        prompt ("no ready model") is an option only while there is no name: then it is what the box says,
        not something to choose."""
        self._allow_blank = not names  # Textual has no public setter; set_options reads it
        self.set_options([(Text(n, no_wrap=True, overflow="ellipsis"), n) for n in names])
