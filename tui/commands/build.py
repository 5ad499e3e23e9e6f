"""``triton-console build``: export, check, (TensorRT) and write a model repository."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from triton_console.common.errors import EXIT_OK
from triton_console.common.paths import default_repository
from triton_console.tui.commands.common import err
from triton_console.tui.core.client.flags import paths

NAME = "build"


def add_parser(sub) -> None:
    from triton_console.build_tools import catalog  # here: other commands import this module too

    b = sub.add_parser(NAME, help="export, check, (TensorRT) and write a model repository")
    b.add_argument("--model", choices=list(catalog.MODELS), default=catalog.DEFAULT_MODEL)
    b.add_argument(
        "--weights", default="imagenet", help="imagenet, random (untrained, seeded) or PATH to a state_dict"
    )
    backbones = [k for _, k in catalog.backbone_choices()]
    b.add_argument(  # a metavar: the choices in the usage line ran it to 100 columns; they are listed in the help
        "--backbone",
        choices=backbones,
        default=catalog.AUTO,
        metavar="BACKBONE",
        help=f"{', '.join(backbones)} (default {catalog.AUTO})",
    )
    b.add_argument(
        "--layout",
        choices=list(catalog.LAYOUTS),
        default=catalog.DEFAULT_LAYOUT,
        help="ensemble: the seed's preprocess → backbone → postprocess (default); fused: one Python model for all "
        "three; fused-bytes: the fused model taking IMAGES BYTES, k images of any size per request",
    )
    paths(
        b.add_argument(
            "--repository", type=Path, default=None, help=f"output directory (default {default_repository()})"
        )
    )
    b.add_argument(
        "--force", action="store_true", help="replace a directory that triton-console did not make"
    )
    b.add_argument(
        "--if-missing", action="store_true", help="do nothing if the repository already has this model"
    )
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    repo = (args.repository or default_repository()).expanduser()
    from triton_console.build_tools import repository as repo_mod

    if args.if_missing and repo_mod.has_model(repo, args.model, args.layout):
        err(f"{repo} already has {repo_mod.top_name(args.model, args.layout)}; nothing to do")
        return EXIT_OK
    from triton_console.build_tools import pipeline
    from triton_console.common.progress import Progress

    def on_step(step: str, state: str, detail: str) -> None:
        if state != "start":
            err(f"[{step}] {state}{': ' + detail if detail else ''}")

    report = pipeline.build(
        args.model,
        args.weights,
        args.backbone,
        repo,
        force=args.force,
        progress=Progress(log=lambda line: err("  " + line)),
        on_step=on_step,
        layout=args.layout,
    )
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(
            f"repository {report.repository}: {report.ensemble} ({report.backbone} backbone, {args.layout} layout)"
        )
        if not report.weights.get("trained", True):
            print("WARNING: built with random weights: its predictions are meaningless (untrained)")
    return EXIT_OK
