"""``triton-console metrics``: live per-model rates, GPU and CPU, one line (or JSON object) per interval."""

from __future__ import annotations

import argparse
import json
import sys

from triton_console.common.errors import EXIT_FAILED, EXIT_OK, ConsoleError
from triton_console.tui.commands.common import client, positive
from triton_console.tui.core.client.codes import UNSUPPORTED
from triton_console.tui.core.client.flags import add_connection

NAME = "metrics"


def add_parser(sub) -> None:
    mx = sub.add_parser(NAME, help="live per-model rates, GPU and CPU, one line per interval")
    add_connection(mx, defaults=False)
    mx.add_argument("--interval", type=float, default=1.0, help="seconds between polls (0.5-60, default 1)")
    mx.add_argument(
        "--count", type=positive, default=None, help="stop after N intervals (default: until Ctrl-C)"
    )
    mx.add_argument("--json", action="store_true", help="one JSON object per interval")
    mx.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from triton_console.common.terminal import columns
    from triton_console.tui.core.server import metrics as mt

    if not 0.5 <= args.interval <= 60:
        raise ConsoleError("--interval must be between 0.5 and 60 seconds")
    poller = mt.Poller(client(args))
    poller.poll()  # the base for the first rates
    shown = 0
    while args.count is None or shown < args.count:
        time.sleep(args.interval)
        point = poller.poll()
        if point is None:
            continue
        if not point.sources:  # nothing to show, now or later: said as a failure, not an empty table (exit 0)
            from triton_console.common.untrusted import visible

            why = "; ".join(point.missing) or "no statistics API and no metrics endpoint"
            raise ConsoleError(
                visible(f"no metrics source could be read on {poller.client.url}: {why}", 1000),
                exit_code=EXIT_FAILED,
                code=UNSUPPORTED,
            )
        shown += 1
        if args.json:
            print(json.dumps(point.to_dict()), flush=True)
            continue
        for line in _text(point, time.strftime("%H:%M:%S"), columns()):
            print(line)
        sys.stdout.flush()
    return EXIT_OK


# the figures after the name, units in the headers: 49 cells with their separators
FIGURES = f"{'inf/s':>7} {'exec/s':>7} {'batch':>5} {'queue ms':>8} {'compute ms':>10} {'fail/s':>6}"


def _text(point, stamp: str, width: int) -> list[str]:
    """One interval in ``width`` columns: a model whose name does not fit beside its figures gets a line of its
    own with the figures beneath (cut with an ellipsis only where even a line would not hold it)."""
    from triton_console.common.terminal import cut, wrapped
    from triton_console.common.untrusted import visible

    lines = wrapped(visible(f"{stamp}  {' + '.join(point.sources) or 'no source'}", 300), width, "    ", "")
    for note in point.missing + point.problems:
        lines += wrapped(visible(f"missing/problem: {note}", 400), width, "    ", "  ")
    room = max(5, width - 3 - len(FIGURES))  # "  NAME FIGURES"
    names = {name: visible(name, 200) for name in point.models}
    name_w = min(max([len(n) for n in names.values()] + [5]), room)
    lines.append(f"  {'model':<{name_w}} {FIGURES}")
    for name, r in sorted(point.models.items(), key=lambda kv: -kv[1].inf_s):
        figures = (
            f"{r.inf_s:7.1f} {r.exec_s:7.1f} {r.avg_batch:5.1f} {r.queue_ms:8.2f} {r.compute_ms:10.2f} "
            f"{r.fail_s:6.1f}"
        )
        shown = names[name]
        if len(shown) > name_w:
            lines.append(f"  {cut(shown, width - 2)}")
            shown = ""
        lines.append(f"  {shown:<{name_w}} {figures}")
    for i, (_uuid, g) in enumerate(sorted(point.gpus.items())):
        lines.append(
            f"  GPU{i} {g.get('util', 0) * 100:.0f}%  "
            f"mem {g.get('mem_used', 0) / 2**30:.1f}/{g.get('mem_total', 0) / 2**30:.1f} GiB"
        )
    return lines
