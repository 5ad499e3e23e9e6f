"""``triton-console metrics``: live per-model rates, GPU and CPU, one line (or JSON object) per interval."""

from __future__ import annotations

import argparse
import json
import sys

from triton_console.common.errors import EXIT_OK, ConsoleError
from triton_console.tui.commands.common import client, positive
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

    from triton_console.common.untrusted import visible
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
        shown += 1
        if args.json:
            print(json.dumps(point.to_dict()), flush=True)
            continue
        print(visible(time.strftime("%H:%M:%S") + f"  {' + '.join(point.sources) or 'no source'}", 300))
        for note in point.missing + point.problems:
            print(visible(f"  missing/problem: {note}", 400))
        print(
            f"  {'model':<36} {'inf/s':>8} {'exec/s':>7} {'batch':>6} {'queue':>8} {'compute':>8} {'fail/s':>6}"
        )
        for name, r in sorted(point.models.items(), key=lambda kv: -kv[1].inf_s):
            print(
                visible(
                    f"  {name[:36]:<36} {r.inf_s:8.1f} {r.exec_s:7.1f} {r.avg_batch:6.1f} {r.queue_ms:8.2f} "
                    f"{r.compute_ms:8.2f} {r.fail_s:6.1f}",
                    300,
                )
            )
        for i, (_uuid, g) in enumerate(sorted(point.gpus.items())):
            print(
                f"  GPU{i} {g.get('util', 0) * 100:.0f}%  mem {g.get('mem_used', 0) / 2**30:.1f}/{g.get('mem_total', 0) / 2**30:.1f} GiB"
            )
        sys.stdout.flush()
    return EXIT_OK
