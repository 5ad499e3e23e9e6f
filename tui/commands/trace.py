"""``triton-console trace``: where a request's time goes, from Triton's own trace records (a waterfall per
request, p50/p99 per stage); the statistics' per-step means where the server's trace file is out of reach."""

from __future__ import annotations

import argparse
import json

from triton_console.common.errors import EXIT_OK
from triton_console.tui.commands.common import client, err, planner, positive
from triton_console.tui.core.client.flags import add_connection, paths

NAME = "trace"


def add_parser(sub) -> None:
    t = sub.add_parser(
        NAME,
        help="trace N requests: time per stage and ensemble step (server started with a trace file)",
        description="Turn on Triton's tracing for MODEL (TIMESTAMPS, rate 1, count N), send N requests, read "
        "the records from the server's trace file, restore the previous trace settings. The console's "
        "managed server and serve start with a trace file; for another server, start it with "
        "--trace-config triton,file=PATH on this machine.",
    )
    t.add_argument("model", metavar="MODEL")
    paths(t.add_argument("image", nargs="?", metavar="IMAGE", help="an image for a one-input model"))
    add_connection(t, defaults=False)
    t.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="as for infer: random | zeros | ones | @FILE.npy | @FILE.json | @FILE | text:STRING | image:FILE",
    )
    t.add_argument("--count", type=positive, default=5, help="requests to trace (default 5)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from triton_console.common.terminal import columns, wrapped
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.client.client import check_model_name
    from triton_console.tui.core.request import infer
    from triton_console.tui.core.server import trace

    c = client(args)
    model = check_model_name(args.model)
    infer.ensure_ready(c, model)
    plans = planner(args.image, args.input, c.connection.max_response_bytes)(c.model_info(model))
    result = trace.run(c, model, plans, args.count)
    if args.json:
        print(json.dumps(result.to_dict()))
        return EXIT_OK
    width = columns()
    if result.note:
        err("\n".join(wrapped(visible(f"note: {result.note}", 600), width, "  ", "")))
    for line in trace.report(result, width):  # bars and names shrink to the width; the figures stay whole
        print(visible(line, 400))
    return EXIT_OK
