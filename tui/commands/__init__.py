"""The headless commands, one module each: its arguments (``add_parser``), its handler (set as ``func``) and
its output. ``MODULES`` is the registry the top-level parser reads; ``NAMES`` the public list of commands."""

from __future__ import annotations

from triton_console.tui.commands import (
    bench,
    build,
    classify,
    compare,
    dev,
    engine,
    export,
    generate,
    infer,
    load,
    metrics,
    reload,
    serve,
    servers,
    status,
    trace,
    tune,
    unload,
)

MODULES = (
    build,
    export,
    engine,
    serve,
    status,
    metrics,
    servers,
    infer,
    generate,
    classify,
    bench,
    compare,
    dev,
    trace,
    load,
    unload,
    reload,
    tune,
)
NAMES: tuple[str, ...] = tuple(m.NAME for m in MODULES)
