"""The terminal's width for plain-text output, without importing shutil (and the bz2/lzma it pulls in)."""

from __future__ import annotations

import os
import sys


def columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` gives it (COLUMNS, else stdout's, else 80)."""
    try:
        width = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        width = 0
    if width <= 0:
        try:
            width = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            width = 0
    return width or 80
