"""How each surface words the hint codes core errors carry (core itself knows no keys or flags)."""

from __future__ import annotations

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client import client as c

CONSOLE = {
    c.STUB_UNHEALTHY: "reload the model: l in the Models pane (explicit model control), or restart the server",
    c.MODEL_CONTROL: "the server must run with --model-control explicit",
    c.UNSUPPORTED: "this server does not offer it",
}
CLI = {
    c.STUB_UNHEALTHY: "reload the model: triton-console reload MODEL (explicit model control), or restart the server",
    c.TIMEOUT: "--timeout SECONDS sets how long to wait (an inference's default: 10x the model's warm p99, at least 5 s)",
    c.MODEL_CONTROL: "start the server with --model-control explicit",
}

# the explainer's hints that name a pane key (core/server/explain.py HINTS), as a command line says them
CLI_CAUSES = {
    "unloaded": "unloaded; triton-console load MODEL loads it",
    "not-loaded": "not loaded: with model control explicit, load it (triton-console load MODEL); with model "
    "control none the server refused it when it read the repository: its log says why (for an ensemble, status "
    "--repository DIR checks its steps)",
}


def worded(exc: ConsoleError, table: dict[str, str] = CONSOLE) -> str:
    """The error's message plus its hint as this surface says it."""
    hint = table.get(exc.code or "") or exc.hint
    return f"{exc.message} ({hint})" if hint else exc.message


def for_code(message: str, code: str | None, table: dict[str, str] = CONSOLE) -> str:
    hint = table.get(code or "")
    return f"{message} ({hint})" if hint else message
