"""``triton-console servers``: the servers file's named servers: list, add, remove."""

from __future__ import annotations

import argparse
import json

from triton_console.common.errors import EXIT_FAILED, EXIT_OK, ConsoleError
from triton_console.tui.commands.common import err

NAME = "servers"


def add_parser(sub) -> None:
    sv = sub.add_parser(
        NAME, help="named servers (the servers file): list (what it does with no ACTION), add, remove"
    )
    # --json before the action too: `servers --json` lists them as JSON as `servers list --json` does
    sv.add_argument("--json", action="store_true", help="list them as JSON (as `servers list --json`)")
    actions = sv.add_subparsers(dest="action", metavar="ACTION")
    ls = actions.add_parser("list", help="the servers file's servers (and its problems)")
    ls.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    ad = actions.add_parser("add", help="add a server (header values are read from environment variables)")
    ad.add_argument("name")
    ad.add_argument("url")
    ad.add_argument("-i", "--protocol", choices=("grpc", "http"), default=None)
    ad.add_argument("--ssl", action="store_true")
    ad.add_argument("--root-certs", metavar="PEM")
    ad.add_argument("--client-cert", metavar="PEM")
    ad.add_argument("--client-key", metavar="PEM")
    ad.add_argument("--insecure", action="store_true")
    ad.add_argument("--header-env", action="append", default=[], metavar="NAME=ENVVAR")
    ad.add_argument("-m", "--model", action="append", default=[], metavar="MODEL")
    ad.add_argument("--timeout", type=float, default=10.0)
    ad.add_argument("--replace", action="store_true", help="replace a server of that name")
    rm = actions.add_parser("remove", help="remove a server")
    rm.add_argument("name")
    sv.set_defaults(func=run, action="list")  # `servers` alone lists them


def run(args: argparse.Namespace) -> int:
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.client import contexts

    if args.action == "list":
        entries, problems = contexts.load()
        if args.json:
            servers = [{"name": e.name, **contexts.raw(e)} for e in entries]
            print(json.dumps({"file": str(contexts.path()), "servers": servers, "problems": problems}))
        else:
            print(f"{contexts.path()}: {len(entries)} server(s)")
            for e in entries:
                extra = "".join(f"  {k}" for k in ("ssl", "insecure") if getattr(e, k))
                heads = "".join(f"  {h}=${v}" for h, v in e.headers.items())
                print(visible(f"  {e.name:<16} {e.url}{extra}{heads}", 400))
        for p in problems:
            err(visible(f"problem: {p}", 400))
        return EXIT_FAILED if problems else EXIT_OK
    if args.action == "remove":
        err(f"removed {args.name} from {contexts.remove(args.name)}")
        return EXIT_OK
    headers = {}
    for spec in args.header_env:
        name, sep, var = spec.partition("=")
        if not sep:
            raise ConsoleError(f"--header-env {spec[:60]!r}: expected NAME=ENVIRONMENT_VARIABLE")
        headers[name.strip()] = var.strip()
    new = contexts.ServerEntry(
        args.name,
        args.url,
        args.protocol,
        args.ssl,
        args.root_certs,
        args.client_cert,
        args.client_key,
        args.insecure,
        headers,
        tuple(args.model),
        args.timeout,
    )
    err(f"added {args.name} to {contexts.add(new, replace=args.replace)}")
    return EXIT_OK
