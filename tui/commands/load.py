"""``triton-console load MODEL...``: see :mod:`modelcontrol` (the three model-control commands share it)."""

from __future__ import annotations

from triton_console.tui.commands import modelcontrol

NAME = "load"


def add_parser(sub) -> None:
    modelcontrol.add(sub, NAME)
