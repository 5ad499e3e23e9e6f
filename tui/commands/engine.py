"""``triton-console engine``: a TensorRT engine from an ONNX file (trtexec or the tensorrt API)."""

from __future__ import annotations

import argparse
from pathlib import Path

from triton_console.common.errors import EXIT_OK
from triton_console.tui.commands.common import err, positive
from triton_console.tui.core.client.flags import paths

NAME = "engine"
PRECISIONS = ("fp16", "fp32")


def add_parser(sub) -> None:
    g = sub.add_parser(NAME, help="build a TensorRT engine from an ONNX file (trtexec or tensorrt API)")
    paths(g.add_argument("--onnx", type=Path, required=True))
    paths(g.add_argument("--output", type=Path, required=True))
    g.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp16",
        help="fp16 (default: TensorRT may pick fp16 kernels) or fp32 (fp32 kernels only)",
    )
    # the flags of earlier versions (--fp16 was the default already and did nothing)
    g.add_argument("--fp16", dest="precision", action="store_const", const="fp16", help=argparse.SUPPRESS)
    g.add_argument("--no-fp16", dest="precision", action="store_const", const="fp32", help=argparse.SUPPRESS)
    g.add_argument("--min-batch", type=positive, default=1)
    g.add_argument("--opt-batch", type=positive, default=1)
    g.add_argument("--max-batch", type=positive, default=256)
    g.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from triton_console.build_tools import engine
    from triton_console.common.progress import Progress

    batches = engine.BatchRange(args.min_batch, args.opt_batch, args.max_batch)
    engine.build_engine(
        args.onnx, args.output, batches, fp16=args.precision == "fp16", progress=Progress(log=err)
    )
    return EXIT_OK
