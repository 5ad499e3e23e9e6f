"""``triton-console dev``: the edit loop of a model in a local repository: on save, reload it (and the
ensembles that use it), send the same request again, print the outcome; Ctrl-C ends it (exit 0)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from triton_console.common.errors import EXIT_OK
from triton_console.common.paths import default_repository
from triton_console.tui.commands.common import client, err, planner
from triton_console.tui.core.client.flags import add_connection, paths

NAME = "dev"


def add_parser(sub) -> None:
    d = sub.add_parser(
        NAME,
        help="reload a model on save and send the same request again (model control explicit)",
        description="Watch MODEL's folder in the repository; on every save reload it (and the ensembles using "
        "it), send the request again and print one line per reload. Ctrl-C ends it.",
    )
    d.add_argument("model", metavar="MODEL")
    paths(d.add_argument("image", nargs="?", metavar="IMAGE", help="an image for a one-input model"))
    add_connection(d, defaults=False)
    paths(
        d.add_argument(
            "--repository",
            type=Path,
            metavar="DIR",
            help=f"the repository the server reads (default {default_repository()})",
        )
    )
    d.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="as for infer: random | zeros | ones | @FILE.npy | @FILE.json | @FILE | text:STRING | image:FILE",
    )
    d.add_argument("--json", action="store_true", help="one JSON object per event")
    d.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from triton_console.tui.core.client.client import check_model_name
    from triton_console.tui.core.server.devloop import DevLoop

    c = client(args)
    model = check_model_name(args.model)
    repository = args.repository or default_repository()
    loop = DevLoop(c, model, repository, planner(args.image, args.input, c.connection.max_response_bytes))
    try:
        previous = _show(loop.first(), args.json, None)
        if not args.json:
            users = f" and {', '.join(loop.users)}" if loop.users else ""
            err(f"watching {loop.folder}: a save reloads {model}{users}; Ctrl-C ends")
        for event in loop.watch():
            previous = _show(event, args.json, previous)
    except KeyboardInterrupt:
        pass
    finally:
        loop.stop.set()
        c.close()
    return EXIT_OK


def _show(event, as_json: bool, previous):
    """Print one event; returns the result to compare the next one with."""
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.server.devloop import summary

    if as_json:
        print(json.dumps(event.to_dict()), flush=True)
    else:
        lines = summary(event, previous)
        lines[0] = f"{time.strftime('%H:%M:%S')} {lines[0]}"
        for line in lines:
            print(visible(line, 2000), flush=True)
    return event.result or previous
