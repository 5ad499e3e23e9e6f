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
    from triton_console.common.terminal import columns

    for line in _text(result, len(result.items) if paths else result.items[0], columns()):
        print(line)
    return EXIT_OK


FIGURES = f"{'top-1':>6} {'top-5':>6} {'max|Δ|':>9} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7}"


def _text(result, items, width: int) -> list[str]:
    """The comparison in ``width`` columns: a row of figures per model (its name on a line of its own above
    them where it does not fit beside them), and the path its inputs took wrapped beneath (it had been at the
    end of the row, 117 columns wide at 80)."""
    from triton_console.common.terminal import cut, wrapped
    from triton_console.common.untrusted import visible

    def pct(x):
        return "-" if x is None else f"{x * 100:.0f}%"

    ref = result.models[0]
    lines = wrapped(visible(f"reference {ref.model} on {items} item(s)", 400), width, "    ", "")
    names = [visible(r.model, 200) for r in result.models]
    name_w = min(max([len(n) for n in names] + [5]), max(5, width - 3 - len(FIGURES)))  # "  NAME FIGURES"
    lines.append(f"  {'model':<{name_w}} {FIGURES}")
    for r, name in zip(result.models, names, strict=True):
        d = r.to_dict()
        delta = "-" if d["max_abs_delta"] is None else f"{d['max_abs_delta']:.2e}"
        figures = (
            f"{pct(d['top1_agreement']):>6} {pct(d['top5_agreement']):>6} {delta:>9} "
            f"{d['latency_ms']['p50']:8.2f} {d['latency_ms']['p95']:8.2f} {d['throughput'] or 0:7.1f}"
        )
        if len(name) > name_w:
            lines.append(f"  {cut(name, width - 2)}")
            name = ""
        lines.append(f"  {name:<{name_w}} {figures}")
        lines += wrapped(visible(f"path: {r.route}", 600), width, "        ", "    ")
    return lines
