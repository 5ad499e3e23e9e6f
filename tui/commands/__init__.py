"""The headless commands, one module each: its arguments (``add_parser``), its handler (set as ``func``) and
its output. ``NAMES`` is the registry the top-level parser reads (in help order), each the name of its module
here; :func:`module` imports one. A command imports only its own module: a one-shot command paid ~4 ms for
importing all eighteen."""

from __future__ import annotations

import importlib
from types import ModuleType

NAMES: tuple[str, ...] = (
    "build",
    "export",
    "engine",
    "serve",
    "status",
    "metrics",
    "servers",
    "infer",
    "generate",
    "classify",
    "bench",
    "compare",
    "dev",
    "trace",
    "load",
    "unload",
    "reload",
    "tune",
)


def module(name: str) -> ModuleType:
    """The module of command ``name`` (one of NAMES)."""
    if name not in NAMES:
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}")
