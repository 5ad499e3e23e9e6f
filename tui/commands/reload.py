"""``triton-console reload MODEL...``: see :mod:`modelcontrol` (the three model-control commands share it)."""

from __future__ import annotations

from triton_console.tui.commands import modelcontrol

NAME = "reload"


def add_parser(sub) -> None:
    modelcontrol.add(sub, NAME)
