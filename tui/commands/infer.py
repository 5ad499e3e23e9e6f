"""``triton-console infer``: one request to any model, inputs planned from its metadata."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from triton_console.common.errors import EXIT_OK, ConsoleError
from triton_console.tui.commands.common import client, err, image_spec, positive
from triton_console.tui.core.client.flags import add_connection, paths

NAME = "infer"


def add_parser(sub) -> None:
    inf = sub.add_parser(
        NAME, help="one request to any model, inputs from its metadata (random, files, text)"
    )
    inf.add_argument("model", metavar="MODEL")
    paths(
        inf.add_argument(  # what a newcomer tried first (it was "unrecognized arguments")
            "image",
            nargs="?",
            metavar="IMAGE",
            help="an image for a one-input model: as --input NAME=@IMAGE for encoded bytes (UINT8 [-1] or "
            "BYTES), else NAME=image:IMAGE",
        )
    )
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
        nargs="?",
        const="curl",
        choices=("curl", "python", "perf_analyzer"),
        help="print the same request as a runnable call: curl (the flag alone), python or perf_analyzer",
    )
    inf.add_argument(
        "--sequence-id",
        metavar="ID",
        help="the request's sequence (a number or a string), for sequence models",
    )
    inf.add_argument("--sequence-start", action="store_true", help="this request starts the sequence")
    inf.add_argument("--sequence-end", action="store_true", help="this request ends the sequence")
    inf.add_argument("--json", action="store_true")
    inf.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from triton_console.tui.core.client.client import check_model_name
    from triton_console.tui.core.request import infer, showcall, stream

    c = client(args)
    model = check_model_name(args.model)
    seq = stream.sequence(args.sequence_id, args.sequence_start, args.sequence_end)
    infer.ensure_ready(c, model)
    info = c.model_info(model)
    plans = infer.plan_inputs(
        info,
        {**infer.parse_assignments(args.input, "--input"), **image_spec(info, args.image)},
        infer.parse_assignments(args.shape, "--shape"),
        batch=args.batch,
        seed=args.seed,
        scaling=args.scaling,
        limit=c.connection.max_response_bytes,
    )
    if seq is None and stream.sequence_config(info.config) is not None:
        raise ConsoleError(
            f"{model} is a sequence model: pass --sequence-id ID (with --sequence-start on its first request)"
        )
    if stream.is_decoupled(info):
        return _run_stream(args, c, info, plans, seq)
    result = infer.run(c, model, plans, shm=args.shm, sequence=seq)
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
            sequence=seq,
            spill=True,  # the request succeeded: its call is shown whatever its size
        )
        _print_call(call, args.json)
    return EXIT_OK


def _print_call(call, to_stderr: bool) -> None:
    out = sys.stderr if to_stderr else sys.stdout
    print(call.text, file=out)
    for note in call.notes:
        print(f"# {note}", file=out)
    for path in call.files:
        err(f"wrote {path}")


def _run_stream(args, c, info, plans, seq) -> int:
    """A decoupled model: each response as it arrives (a line, or a JSON object), then the summary. A model
    error mid-stream leaves what arrived printed and ends in one line (exit 1); Ctrl-C cancels (130)."""
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.request import infer, showcall, stream

    if args.shm != "none":
        raise ConsoleError(f"{info.name} is decoupled: --shm does not apply to a streamed request")
    call = None
    if args.show_call:
        call = showcall.make(
            args.show_call,
            c.connection,
            c.endpoint,
            info.name,
            plans,
            [t.name for t in info.metadata.outputs],
            args.save,
            batched=info.batched,
            streaming=True,
            sequence=seq,
            spill=True,
        )
    run = stream.start(c, info.name, plans, seq=seq)
    if not args.json:
        version = info.metadata.versions[-1] if info.metadata.versions else "?"
        route = "the gRPC stream" if c.protocol == "grpc" else "HTTP generate_stream"
        print(visible(f"{info.name} v{version}  decoupled: streaming over {route}", 400), flush=True)
    last = None
    for r in run:
        last = r
        if args.json:
            print(json.dumps(r.to_dict()), flush=True)
        else:
            values = "  ".join(f"{o.name}={', '.join(map(str, o.values))}" for o in r.outputs)
            print(visible(f"  #{r.index:<3} {r.t_ms:9.1f} ms  {values}", 600), flush=True)
    summary = run.summary
    print(json.dumps(summary.to_dict()) if args.json else visible(summary_line(summary), 400))
    if args.save and last is not None:
        result = infer.InferResult(info.name, "", last.t_ms, plans, last.outputs)
        for path in infer.save(result, args.save):
            err(f"wrote {path} (the last response)")
    if call is not None:
        _print_call(call, args.json)
    return EXIT_OK


def summary_line(s) -> str:
    """A stream's summary in one line (infer and generate)."""

    def ms(x):
        return "-" if x is None else f"{x:.1f} ms"

    return (
        f"{s.responses} response{'s' if s.responses != 1 else ''}  first after {ms(s.ttft_ms)}  "
        f"between p50 {ms(s.itl_p50_ms)} p99 {ms(s.itl_p99_ms)}  total {ms(s.total_ms)}  "
        f"{s.per_second:.1f} responses/s"
    )


def _print_result(result, info) -> None:
    """The result in the terminal's width (COLUMNS, else 80 through a pipe): long lines (a file's path, an
    output's statistics, the top-5 scores) wrap beneath, every figure whole; the first values stay one line,
    cut where they would run off (``--json`` or ``--save`` give them all)."""
    from triton_console.common.terminal import columns, fitted
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.classify.classifier import looks_like_scores, top_k

    width = columns()

    def say(text: str, limit: int = 400) -> None:
        print("\n".join(fitted(visible(text, limit), width)))

    say(f"{result.model} v{result.version or '?'}  {result.latency_ms:.2f} ms")
    print("inputs")
    for p in result.inputs:
        say(f"  {p.name}  {p.datatype}  {list(p.shape)}  {p.source}")
    print("outputs")
    for o in result.outputs:
        stats = "" if o.min is None else f"  min {o.min:.6g}  max {o.max:.6g}  mean {o.mean:.6g}  NaN {o.nan}"
        say(f"  {o.name}  {o.datatype}  {list(o.shape)}{stats}")
        shown = ", ".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in o.values)
        # one line on the terminal: visible() adds "… (+N chars)" to what it cuts
        print(visible(f"    first: {shown}", max(24, width - 17)))
        if o.array is not None and looks_like_scores(o.array, info.batched):
            top, kind = top_k(o.array[0] if info.batched else o.array, 5)
            head = "    top-5" + (" (softmax)" if kind == "softmax" else "") + ":"
            entries = [
                visible(f"{t.index} {t.label or ''} {t.score:.4f}".replace("  ", " "), 200) for t in top
            ]
            print("\n".join(_entries(head, entries, width, " " * 8)))


def _entries(head: str, entries: list[str], width: int, indent: str) -> list[str]:
    """``head`` then the entries, comma-separated, wrapped between entries (never inside one: an index, its
    label and its score stay together) onto lines indented by ``indent``; an entry wider than a line alone
    wraps by words."""
    from triton_console.common.terminal import fitted

    lines, line = [], head
    for i, e in enumerate(entries):
        piece = e + ("," if i < len(entries) - 1 else "")
        if len(line) + 1 + len(piece) <= width:
            line = f"{line} {piece}"
        else:
            lines.append(line)
            line = indent + piece
    lines.append(line)
    return fitted("\n".join(lines), width)
