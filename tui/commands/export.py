"""``triton-console export``: a backbone to ONNX, checked numerically against the framework."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from triton_console.common.errors import EXIT_FAILED, EXIT_OK
from triton_console.tui.commands.common import err
from triton_console.tui.core.client.flags import paths

NAME = "export"


def add_parser(sub) -> None:
    from triton_console.build_tools import catalog  # here: other commands import this module too

    e = sub.add_parser(NAME, help="export a backbone to ONNX and check it numerically")
    e.add_argument("--model", choices=list(catalog.MODELS), required=True)
    e.add_argument("--weights", required=True)
    paths(e.add_argument("--output", type=Path, required=True))
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from triton_console.build_tools import export, pipeline, weights
    from triton_console.common.progress import Progress

    progress = Progress(log=lambda line: err("  " + line))
    net, info = pipeline.quiet(lambda: weights.load(args.model, args.weights), progress)
    pipeline.quiet(lambda: export.export_onnx(net, args.output, progress), progress)
    check = export.check_numerics(net, args.output)
    err(check.summary())
    if args.json:
        print(
            json.dumps(
                {
                    "onnx": str(args.output),
                    "bytes": args.output.stat().st_size,
                    "weights": info.to_dict(),
                    "check": check.to_dict(),
                }
            )
        )
    return EXIT_OK if check.passed else EXIT_FAILED
