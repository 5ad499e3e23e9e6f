"""What several commands share: stderr lines, the client of the connection flags, argument types, and the
default model choice."""

from __future__ import annotations

import argparse
import sys

from triton_console.common.errors import EXIT_USAGE, ConsoleError


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def add_files_from(p: argparse.ArgumentParser) -> None:
    """``--files-from FILE``: more image paths, one a line (``-``: from stdin). The Bench and Tune panes send
    their images this way: a folder's thousands of files on the command line overran its length limit."""
    from triton_console.tui.core.client.flags import paths

    paths(
        p.add_argument(
            "--files-from",
            metavar="FILE",
            default=None,
            help="more images: their paths in FILE, one a line (- reads them from stdin)",
        )
    )


def images(args: argparse.Namespace) -> list[str]:
    """The images given: IMAGE|DIR arguments, then those listed by ``--files-from`` (blank lines skipped)."""
    out = list(args.images)
    name = getattr(args, "files_from", None)
    if name is None:
        return out
    try:
        if name == "-":  # the panes' list: paths as bytes, any that are not UTF-8 kept as os.fsdecode would
            text = sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
        else:
            with open(name, encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
    except OSError as exc:
        raise ConsoleError(
            f"--files-from {name}: {(exc.strerror or str(exc)).lower()}", exit_code=EXIT_USAGE
        ) from None
    listed = [line for line in text.split("\n") if line.strip()]
    if not listed:
        raise ConsoleError(f"--files-from {name}: no paths in it", exit_code=EXIT_USAGE)
    return out + listed


def client(args: argparse.Namespace):
    from triton_console.tui.core.client.client import TritonClient
    from triton_console.tui.core.client.flags import connection

    return TritonClient(connection=connection(args))


def pick_model(client, model: str | None) -> str:
    """``-m`` as given, else a ready image classifier (the generated ensembles first)."""
    from triton_console.tui.core.client.client import check_model_name

    if model:
        return check_model_name(model)
    from triton_console.tui.core.classify.classifier import image_models, stand_in
    from triton_console.tui.core.server.controller import list_models  # only to choose (its imports cost)

    listed = list_models(client)[0]
    ready = [m.name for m in listed if m.state == "READY"]
    candidates = image_models(client, ready[:200])
    if not candidates:
        raise ConsoleError(f"no ready image model on {client.url}; pass -m MODEL", exit_code=EXIT_USAGE)
    chosen = stand_in(candidates)
    # a generated ensemble the server lists but cannot serve: the one the user expected, so say who stands in
    # (a newcomer got the backbone's logits with only its input's description on stderr, 2026-12)
    if not chosen.startswith("ensemble_python_"):
        for m in listed:
            if m.name.startswith("ensemble_python_") and m.state != "READY":
                why = f"{m.state or 'not loaded'}" + (f": {m.reason}" if m.reason else "")
                err(f"note: {m.name} is not ready ({why}); classifying with {chosen} (-m picks a model)")
                break
    return chosen


def planner(image: str | None, inputs: list[str], limit: int):
    """The inputs of a repeated request, planned from the model's metadata each time (a reload may change
    them): ``--input NAME=SPEC`` as infer takes them, or one IMAGE for a one-input model (its file bytes for
    a UINT8 [-1] or BYTES input, else decoded and resized)."""
    from triton_console.tui.core.request import infer

    given = infer.parse_assignments(inputs, "--input")

    def plan(info):
        return infer.plan_inputs(info, {**given, **image_spec(info, image)}, limit=limit)

    return plan


def image_spec(info, image: str | None) -> dict[str, str]:
    """One IMAGE for a one-input model, as ``--input`` would give it: ``@IMAGE`` (its file bytes) for a UINT8
    [-1] or BYTES input, else ``image:IMAGE`` (decoded and resized); a folder stands for its first image
    (:func:`first_image`). No image: nothing."""
    if not image:
        return {}
    image = first_image(image)
    tensors = list(info.metadata.inputs)
    if len(tensors) != 1:
        raise ConsoleError(
            f"{info.name} has {len(tensors)} inputs: name them with --input NAME=image:FILE",
            exit_code=EXIT_USAGE,
        )
    t = tensors[0]
    raw = t.datatype == "BYTES" or (t.datatype == "UINT8" and len(t.shape) <= 2 and -1 in t.shape)
    return {t.name: f"@{image}" if raw else f"image:{image}"}


def first_image(path: str) -> str:
    """``path``, or where it is a folder its first image file in name order (as classify lists a folder), said
    on stderr: infer, trace and dev send one image, and their hint for an image model says "give image files
    or a folder" (a folder had failed "is a directory"). A folder without images is a usage error."""
    import os

    from triton_console.common.untrusted import visible
    from triton_console.tui.core.classify.images import expand

    try:
        if not os.path.isdir(path):
            return path
    except (OSError, ValueError):
        return path
    found = [p for p in expand([path]) if p != path]
    if not found:
        raise ConsoleError(f"{path}: a folder with no image files in it", exit_code=EXIT_USAGE)
    more = f" (and {len(found) - 1} more, not sent: give one file to choose)" if len(found) > 1 else ""
    err(visible(f"note: {path} is a folder: sending its first image, {found[0]}{more}", 600))
    return found[0]
