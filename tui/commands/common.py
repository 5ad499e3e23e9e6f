"""What several commands share: stderr lines, the client of the connection flags, argument types, and the
default model choice."""

from __future__ import annotations

import argparse
import sys

from triton_console.common.errors import EXIT_USAGE, ConsoleError


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def client(args: argparse.Namespace):
    from triton_console.tui.core.client.client import TritonClient
    from triton_console.tui.core.client.flags import connection

    return TritonClient(connection=connection(args))


def pick_model(client, model: str | None) -> str:
    """``-m`` as given, else a ready image classifier (the generated ensembles first)."""
    from triton_console.tui.core.client.client import check_model_name, preferred_model

    if model:
        return check_model_name(model)
    from triton_console.tui.core.classify.classifier import image_models
    from triton_console.tui.core.server.controller import list_models  # only to choose (its imports cost)

    ready = [m.name for m in list_models(client)[0] if m.state == "READY"]
    candidates = list(image_models(client, ready[:200]))
    if not candidates:
        raise ConsoleError(f"no ready image model on {client.url}; pass -m MODEL", exit_code=EXIT_USAGE)
    return preferred_model(candidates)
