"""``triton-console infer``: one request to any model, inputs planned from its metadata."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from triton_console.common.errors import EXIT_OK
from triton_console.tui.commands.common import client, err, positive
from triton_console.tui.core.client.flags import add_connection, paths

NAME = "infer"


def add_parser(sub) -> None:
    inf = sub.add_parser(
        NAME, help="one request to any model, inputs from its metadata (random, files, text)"
    )
    inf.add_argument("model", metavar="MODEL")
    add_connection(inf, defaults=False)
    inf.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="random | zeros | ones | @FILE.npy | @FILE.json | @FILE | text:STRING | image:FILE (default random)",
    )
    inf.add_argument(
        "--shape", action="append", default=[], metavar="NAME=D1,D2", help="variable dims (no batch)"
    )
    inf.add_argument(
        "--batch", type=positive, default=1, help="batch size for a model that batches (default 1)"
    )
    inf.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    inf.add_argument(
        "--scaling", choices=("none", "inception", "vgg", "imagenet"), default=None, help="for image:FILE"
    )
    paths(
        inf.add_argument(
            "--save", type=Path, metavar="DIR", help="write each output as NAME.npy (and a call's data files)"
        )
    )
    inf.add_argument(
        "--shm", choices=("none", "system", "cuda"), default="none", help="inputs through shared memory"
    )
    inf.add_argument(
        "--show-call",
        choices=("curl", "python", "perf_analyzer"),
        help="print the same request as a runnable call",
    )
    inf.add_argument("--json", action="store_true")
    inf.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from triton_console.tui.core.client.client import check_model_name
    from triton_console.tui.core.request import infer, showcall

    c = client(args)
    model = check_model_name(args.model)
    infer.ensure_ready(c, model)
    info = c.model_info(model)
    plans = infer.plan_inputs(
        info,
        infer.parse_assignments(args.input, "--input"),
        infer.parse_assignments(args.shape, "--shape"),
        batch=args.batch,
        seed=args.seed,
        scaling=args.scaling,
        limit=c.connection.max_response_bytes,
    )
    result = infer.run(c, model, plans, shm=args.shm)
    if args.save:
        for path in infer.save(result, args.save):
            err(f"wrote {path}")
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        _print_result(result, info)
    if args.show_call:
        call = showcall.make(
            args.show_call,
            c.connection,
            c.endpoint,
            model,
            plans,
            [o.name for o in result.outputs],
            args.save,
            batched=info.batched,
            datatypes={o.name: o.datatype for o in result.outputs},
            spill=True,  # the request succeeded: its call is shown whatever its size
        )
        out = sys.stderr if args.json else sys.stdout
        print(call.text, file=out)
        for note in call.notes:
            print(f"# {note}", file=out)
        for path in call.files:
            err(f"wrote {path}")
    return EXIT_OK


def _print_result(result, info) -> None:
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.classify.classifier import looks_like_scores, top_k

    print(visible(f"{result.model} v{result.version or '?'}  {result.latency_ms:.2f} ms", 400))
    print("inputs")
    for p in result.inputs:
        print(visible(f"  {p.name}  {p.datatype}  {list(p.shape)}  {p.source}", 400))
    print("outputs")
    for o in result.outputs:
        stats = "" if o.min is None else f"  min {o.min:.6g}  max {o.max:.6g}  mean {o.mean:.6g}  NaN {o.nan}"
        print(visible(f"  {o.name}  {o.datatype}  {list(o.shape)}{stats}", 400))
        print(visible(f"    first: {', '.join(map(str, o.values))}", 400))
        if o.array is not None and looks_like_scores(o.array, info.batched):
            top, kind = top_k(o.array[0] if info.batched else o.array, 5)
            print(
                visible(
                    "    top-5"
                    + (" (softmax)" if kind == "softmax" else "")
                    + ": "
                    + ", ".join(f"{t.index} {t.label or ''} {t.score:.4f}".replace("  ", " ") for t in top),
                    600,
                )
            )
