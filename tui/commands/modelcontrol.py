"""``triton-console load | unload | reload MODEL...``: explicit model control, as the Models pane's l and u.

``reload`` is unload, wait until the model is gone, load again (and the ensembles that served through it):
what brings back a model whose Python-backend stub died, which Triton keeps calling READY.

``unload`` and ``reload`` first find the READY ensembles using the model. The server's repository on this
machine says which models are ensembles from their files, so only those are asked for their config (without
it every READY model is: 20,000 calls on a 20,000-model server). It is ``--repository``, else the default
repository when the server is on this machine and serves it (:func:`deploy.served_here`, as the Models pane).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from triton_console.common.errors import EXIT_FAILED, EXIT_OK
from triton_console.tui.commands.common import client, err
from triton_console.tui.core.client.flags import add_connection, paths

HELP = {
    "load": "load models (server in explicit model-control mode)",
    "unload": "unload models (server in explicit model-control mode)",
    "reload": "unload, wait until gone, load again, with their ensembles (a dead Python-backend stub's cure)",
}


def add(sub, name: str) -> None:
    p = sub.add_parser(name, help=HELP[name])
    p.add_argument("models", nargs="+", metavar="MODEL")
    add_connection(p, defaults=False)
    if name != "load":
        paths(
            p.add_argument(
                "--repository",
                type=Path,
                metavar="DIR",
                help="the server's model repository on this machine: the ensembles using MODEL are found from "
                "its files (default: the default repository, when the server here serves it), not by asking "
                "the server for every model's config",
            )
        )
    p.add_argument("--json", action="store_true", help="one JSON object per model")
    p.set_defaults(func=lambda args: run(name, args))


def served_repository(c, given: Path | None) -> Path | None:
    """The repository that says which models are ensembles: ``given`` (--repository) when the server's index
    matches it, else the default repository when the server is on this machine and its index matches it;
    None (the server is asked) otherwise."""
    from triton_console.common.paths import default_repository
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.client import modelcontrol
    from triton_console.tui.core.tune.deploy import served_here

    if given is not None:
        given = given.expanduser()
        if modelcontrol.serves(c, given):
            return given
        err(
            visible(
                f"--repository {given}: the server's index names models not in it; asking the server", 600
            )
        )
        return None
    return served_here(c, default_repository())  # the Models pane's l and u decide it the same way


def run(action: str, args: argparse.Namespace) -> int:
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.client import modelcontrol
    from triton_console.tui.core.client.client import check_model_name
    from triton_console.tui.hints import CLI, for_code

    names = [check_model_name(m) for m in args.models]
    c = client(args)
    if action == "load":
        outcomes = modelcontrol.load(c, names)
    else:
        repository = served_repository(c, getattr(args, "repository", None))
        outcomes = getattr(modelcontrol, action)(c, names, repository=repository)
    for o in outcomes:
        if args.json:
            print(json.dumps(o.to_dict()), flush=True)
        else:
            print(visible(for_code(o.line(), o.code, CLI) if not o.ok else o.line(), 1000), flush=True)
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILED
