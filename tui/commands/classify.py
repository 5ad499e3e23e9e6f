"""``triton-console classify``: image files (or folders of them) through an image model, top-k each."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from triton_console.common.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ConsoleError
from triton_console.tui.commands.common import client, err, pick_model, positive
from triton_console.tui.core.client.flags import add_connection, paths

NAME = "classify"


def add_parser(sub) -> None:
    c = sub.add_parser(NAME, help="classify image files (or directories of them)")
    paths(c.add_argument("images", nargs="+", metavar="IMAGE"))
    add_connection(c, defaults=False)
    c.add_argument("-m", "--model", default=None, help="model (default: the ready image ensemble)")
    c.add_argument("-k", "--top-k", type=positive, default=5, dest="k")
    c.add_argument(
        "--scaling",
        choices=("none", "inception", "vgg", "imagenet"),
        default=None,
        help="tensor-input models: pixel scaling (default: the model's own declaration, else none)",
    )
    c.add_argument(
        "--channel-order", choices=("rgb", "bgr"), default=None, help="tensor-input models (default rgb)"
    )
    paths(
        c.add_argument(
            "--labels", metavar="FILE", help="class names, one per line (else the server's, else ImageNet's)"
        )
    )
    c.add_argument(
        "--batch",
        type=positive,
        default=1,
        metavar="K",
        help="images per request (models with a BYTES or tensor image input and a batch dimension)",
    )
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=run)


def _read_labels(path: str | None) -> list[str] | None:
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise ConsoleError(f"--labels {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.classify.classifier import check_many, image_path, probabilities
    from triton_console.tui.core.classify.files import classify_files
    from triton_console.tui.hints import CLI, for_code

    c = client(args)
    model = pick_model(c, args.model)
    info = c.model_info(model)
    route = image_path(info, c.server_metadata().extensions, args.scaling, args.channel_order)
    labels = _read_labels(args.labels)
    if args.batch > 1:  # one usage error, before any image is sent (it was the same error for every image)
        try:
            check_many(route)
        except ConsoleError as exc:
            raise ConsoleError(
                f"--batch {args.batch}: {model}: {exc.message} (leave out --batch)", exit_code=EXIT_USAGE
            ) from None
    if not args.json:
        err(visible(f"{model}: {route.describe()}" + "".join(f"; {n}" for n in route.notes), 400))
        if info.untrained:
            err(f"WARNING: {model} has random (untrained) weights: these predictions are meaningless")
    said_scale, count, failed = False, 0, []
    items = classify_files(
        c, model, args.images, args.k, scaling=args.scaling, labels=labels, per_request=args.batch
    )
    for item in items:
        record = item.to_dict()
        count += 1
        if item.error is not None:
            failed.append(item)
        if args.json:
            print(json.dumps(record), flush=True)
        elif item.error is not None:
            print(visible(f"{item.path}: error: {for_code(item.error, item.code, CLI)}", 1000), flush=True)
        else:
            r = item.result
            if r.top and not said_scale and not probabilities(r.top):
                said_scale = True  # the model's own values, as its classification extension gave them
                err(f"note: {model}'s scores are its own outputs (logits), not probabilities")
            tag = "  [untrained]" if r.untrained else ""
            head = f"{_top(r.top[0])}  {r.latency_ms:.1f} ms{tag}" if r.top else "no class scores"
            print(visible(f"{item.path}: {head}", 600))
            for t in r.top[1:]:
                print(visible(f"    {_top(t)}", 400))
            for p in r.problems:
                print(visible(f"    note: {p}", 400))
    if not failed:
        return EXIT_OK
    # one error line on stderr, as every command that fails says (with --json the errors were only on stdout)
    first = failed[0]
    many = f"{len(failed)} of {count} images failed; the first: " if count > 1 else ""
    err(visible(f"error: {model}: {many}{first.path}: {for_code(first.error, first.code, CLI)}", 1000))
    return EXIT_FAILED


def _top(t) -> str:
    score = f"{t.score:.3f}" if math.isfinite(t.score) else str(t.score)
    return f"{t.label} ({score})  #{t.index}" if t.label else f"#{t.index} ({score})"
