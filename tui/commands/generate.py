"""``triton-console generate``: the generate extension, the way LLM deployments are called (text_input and
fields in, text out as it comes)."""

from __future__ import annotations

import argparse
import json
import sys

from triton_console.common.errors import EXIT_OK, ConsoleError
from triton_console.tui.commands.common import client, err
from triton_console.tui.core.client.flags import add_connection

NAME = "generate"


def add_parser(sub) -> None:
    gen = sub.add_parser(NAME, help="the generate extension (LLM-style): text_input and fields in, text out")
    gen.add_argument("model", metavar="MODEL")
    add_connection(gen, defaults=False)
    gen.add_argument("--text", metavar="STRING", help="the text_input field")
    gen.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other field (typed from the model's inputs; [a,b] for a list; others are request parameters)",
    )
    gen.add_argument("--stream", action="store_true", help="stream the responses (generate_stream)")
    gen.add_argument("--json", action="store_true")
    gen.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Text out as it comes (the summary on stderr, so stdout is only the text); --json: one object per
    response then the summary; without --stream one answer. With --json an error is also an object on
    stdout (``{"model", "error", "code"}``, printed by the CLI for every command), then the line on stderr."""
    from triton_console.common.untrusted import visible
    from triton_console.tui.commands.infer import summary_line
    from triton_console.tui.core.client.client import check_model_name
    from triton_console.tui.core.request import generate, infer

    c = client(args)
    model = check_model_name(args.model)
    params = infer.parse_assignments(args.param, "--param")
    infer.ensure_ready(c, model)
    if not args.stream:
        answer = generate.once(c, model, args.text, params)
        outputs = {n: generate.json_value(v) for n, v in answer.outputs.items()}
        if args.json:
            print(json.dumps({"outputs": outputs, "total_ms": round(answer.total_ms, 3)}))
        elif generate.TEXT_OUTPUT in outputs:
            print(visible(str(outputs[generate.TEXT_OUTPUT]), 100_000, multiline=True))
        else:
            for name, value in outputs.items():
                print(visible(f"{name}: {json.dumps(value)}", 2000))
        return EXIT_OK
    stream = generate.start(c, model, args.text, params, stream=True)
    text = []
    try:
        for r in _responses(stream, c):
            text.append(_print(r, args.json, visible))
    finally:
        if any(text):
            print(flush=True)
    summary = stream.summary
    if args.json:
        print(json.dumps({**summary.to_dict(), "responses_per_s": round(summary.per_second, 3)}))
    else:
        err(summary_line(summary))
    return EXIT_OK


def _responses(stream, c):
    from triton_console.tui.core.request import generate

    try:
        yield from stream
    except ConsoleError as exc:
        raise generate.unsupported(c, exc) from None


def _print(r, as_json: bool, visible) -> str:
    """One response: its text appended to the running text, else a line; returns the text it added."""
    from triton_console.tui.core.request import generate

    if as_json:
        outs = {o.name: generate.json_value(o.array) for o in r.outputs}
        print(json.dumps({"index": r.index, "t_ms": round(r.t_ms, 3), "outputs": outs}), flush=True)
        return ""
    piece = r.text()
    if piece:
        sys.stdout.write(visible(piece, 100_000, multiline=True))
        sys.stdout.flush()
        return piece
    values = "  ".join(f"{o.name}={', '.join(map(str, o.values))}" for o in r.outputs)
    print(visible(f"#{r.index:<3} {r.t_ms:9.1f} ms  {values}", 600), flush=True)
    return ""
