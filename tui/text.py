"""Untrusted text onto the screen: always as plain ``rich.text.Text``, never as markup.

Everything a server, a model, a repository or a file name says goes through here (names, versions,
reasons, labels, platforms, config values, log lines, error messages): markup in it stays literal, and
control characters, ANSI escapes and bidi overrides show as escapes (:mod:`tui.core.untrusted`).
"""

from __future__ import annotations

from rich.text import Text

from triton_console.common.untrusted import one_line, visible


def plain(value: object, style: str = "", *, limit: int = 4096, multiline: bool = False) -> Text:
    return Text(visible(value, limit, multiline), style=style)


def cell(value: object, style: str = "", limit: int = 200) -> Text:
    """One line for a table cell: cut on the right with an ellipsis where the column is too narrow."""
    return Text(one_line(value, limit), style=style, no_wrap=True, overflow="ellipsis", end="")


def join(*parts: Text | str | tuple[str, str]) -> Text:
    """Assemble our own styled pieces (str/tuple: trusted literals) with untrusted ``Text`` pieces."""
    return Text.assemble(*parts)
