"""``triton-console engine``: a TensorRT engine from an ONNX file (trtexec or the tensorrt API)."""

from __future__ import annotations

import argparse
from pathlib import Path

from triton_console.common.errors import EXIT_OK
from triton_console.tui.commands.common import err, positive

NAME = "engine"


def add_parser(sub) -> None:
    g = sub.add_parser(NAME, help="build a TensorRT engine from an ONNX file (trtexec or tensorrt API)")
    g.add_argument("--onnx", type=Path, required=True)
    g.add_argument("--output", type=Path, required=True)
    g.add_argument("--fp16", action="store_true", default=True)
    g.add_argument("--no-fp16", dest="fp16", action="store_false")
    g.add_argument("--min-batch", type=positive, default=1)
    g.add_argument("--opt-batch", type=positive, default=1)
    g.add_argument("--max-batch", type=positive, default=256)
    g.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from triton_console.build_tools import engine
    from triton_console.common.progress import Progress

    batches = engine.BatchRange(args.min_batch, args.opt_batch, args.max_batch)
    engine.build_engine(args.onnx, args.output, batches, fp16=args.fp16, progress=Progress(log=err))
    return EXIT_OK
