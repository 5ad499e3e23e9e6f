"""``triton-console load | unload | reload MODEL...``: explicit model control, as the Models pane's l and u.

``reload`` is unload, wait until the model is gone, load again (and the ensembles that served through it):
what brings back a model whose Python-backend stub died, which Triton keeps calling READY.
"""

from __future__ import annotations

import argparse
import json

from triton_console.common.errors import EXIT_FAILED, EXIT_OK
from triton_console.tui.commands.common import client
from triton_console.tui.core.client.flags import add_connection

HELP = {
    "load": "load models (server in explicit model-control mode)",
    "unload": "unload models (server in explicit model-control mode)",
    "reload": "unload, wait until gone, load again, with their ensembles (a dead Python-backend stub's cure)",
}


def add(sub, name: str) -> None:
    p = sub.add_parser(name, help=HELP[name])
    p.add_argument("models", nargs="+", metavar="MODEL")
    add_connection(p, defaults=False)
    p.add_argument("--json", action="store_true", help="one JSON object per model")
    p.set_defaults(func=lambda args: run(name, args))


def run(action: str, args: argparse.Namespace) -> int:
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.client import modelcontrol
    from triton_console.tui.core.client.client import check_model_name
    from triton_console.tui.hints import CLI, for_code

    names = [check_model_name(m) for m in args.models]
    outcomes = getattr(modelcontrol, action)(client(args), names)
    for o in outcomes:
        if args.json:
            print(json.dumps(o.to_dict()), flush=True)
        else:
            print(visible(for_code(o.line(), o.code, CLI) if not o.ok else o.line(), 1000), flush=True)
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILED
