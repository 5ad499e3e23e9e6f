"""``triton-console compare``: two or more models on the same images (or random tensors): agreement,
largest score difference, latency."""

from __future__ import annotations

import argparse
import json

from triton_console.common.errors import EXIT_OK
from triton_console.tui.commands.common import client
from triton_console.tui.core.client.flags import add_connection, paths

NAME = "compare"


def add_parser(sub) -> None:
    cp = sub.add_parser(NAME, help="two or more models on the same images (or random tensors)")
    paths(
        cp.add_argument(
            "items", nargs="+", metavar="MODEL|IMAGE", help="models first, then images or folders"
        )
    )
    add_connection(cp, defaults=False)
    cp.add_argument("--seed", type=int, default=0, help="for models without images: the random tensors' seed")
    cp.add_argument("--json", action="store_true")
    cp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    from triton_console.common.untrusted import visible
    from triton_console.tui.core.client.client import check_model_name
    from triton_console.tui.core.load import compare

    models = [a for a in args.items if not os.path.exists(a)]
    paths = [a for a in args.items if os.path.exists(a)]
    c = client(args)
    for m in models:
        check_model_name(m)
    result = compare.images(c, models, paths) if paths else compare.tensors(c, models, args.seed)
    if args.json:
        print(json.dumps(result.to_dict()))
        return EXIT_OK
    ref = result.models[0]
    print(visible(f"reference {ref.model} on {len(result.items) if paths else result.items[0]} item(s)", 400))
    print(
        f"  {'model':<36} {'top-1':>6} {'top-5':>6} {'max|Δ|':>9} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7}  path"
    )
    for r in result.models:
        d = r.to_dict()

        def pct(x):
            return "-" if x is None else f"{x * 100:.0f}%"

        delta = "-" if d["max_abs_delta"] is None else f"{d['max_abs_delta']:.2e}"
        print(
            visible(
                f"  {r.model[:36]:<36} {pct(d['top1_agreement']):>6} {pct(d['top5_agreement']):>6} {delta:>9} "
                f"{d['latency_ms']['p50']:8.2f} {d['latency_ms']['p95']:8.2f} {d['throughput'] or 0:7.1f}  {r.route}",
                600,
            )
        )
    return EXIT_OK
