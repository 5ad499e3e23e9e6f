"""``triton-console load MODEL...``: see :mod:`modelcontrol` (the three model-control commands share it)."""

from __future__ import annotations

from triton_console.tui.commands.modelcontrol import add

NAME = "load"


def add_parser(sub) -> None:
    add(sub, NAME)
