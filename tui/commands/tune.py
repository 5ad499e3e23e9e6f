"""``triton-console tune``: a grid of config fields × load on a real server, each config applied as an
override (files untouched), the best by an objective, the original served again at the end (also on Ctrl-C:
exit 130 after the restore), the best written to config.pbtxt with ``--write``.

Exit 0 when the sweep ran (even with failed trials), 1 when no trial succeeded, 2 for a bad field or value
(refused before anything is loaded), 130 on interrupt.
"""

from __future__ import annotations

import argparse
import json

from triton_console.common.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ConsoleError
from triton_console.tui.commands.common import add_files_from, client, err, images, positive
from triton_console.tui.core.client.flags import add_connection, paths

NAME = "tune"


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME,
        help="find the config that makes a model fast: config fields × load, each applied as an override",
        description="Each combination of the --set values is loaded as a config override (explicit model "
        "control; the files are not touched), measured at each load level with the console's load generator, "
        "and the original config is served again at the end. --write writes the best to config.pbtxt.",
    )
    p.add_argument("model", metavar="MODEL")
    paths(
        p.add_argument(
            "images", nargs="*", metavar="IMAGE|DIR", help="images for an image model (else --input specs)"
        )
    )
    add_files_from(p)
    add_connection(p, defaults=False)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        required=True,
        metavar="FIELD=V1,V2,...",
        dest="sets",
        help="a config field by dotted path and its values, e.g. instance_group.count=1,2 or "
        "dynamic_batching.max_queue_delay_microseconds=0,2000 (repeat for a grid; a repeated field's "
        "several values join with +: preferred_batch_size=4+8)",
    )
    p.add_argument(
        "--input", action="append", default=[], metavar="NAME=SPEC", help="as infer takes (no images)"
    )
    p.add_argument("--shape", action="append", default=[], metavar="NAME=D1,D2")
    p.add_argument("--batch", type=positive, default=1)
    p.add_argument("--seed", type=int, default=0)
    level = p.add_mutually_exclusive_group()
    level.add_argument("--concurrency", metavar="N[,M...]", help="requests in flight (default 1)")
    level.add_argument("--rate", metavar="R[,R2...]", help="request rates per second (open loop)")
    p.add_argument(
        "--objective",
        default="throughput",
        metavar="throughput|latency|throughput@p99<=MS",
        help="what best means (default throughput; latency is the p99)",
    )
    p.add_argument("--requests", type=positive, default=100, help="measured requests per trial (default 100)")
    p.add_argument("--warmup", type=int, default=10, help="requests before measuring each trial, not counted")
    p.add_argument("--engine", choices=("triton-console", "perf_analyzer"), default="triton-console")
    paths(
        p.add_argument(
            "--repository",
            default=None,
            metavar="DIR",
            help="the server's model repository, for --write (default: the console's repository, for a server "
            "on this machine that serves the model from it)",
        )
    )
    p.add_argument("--write", action="store_true", help="write the best config to the model's config.pbtxt")
    p.add_argument("--save", action="store_true", help="save the sweep as JSON in the runs folder (tune/)")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--progress", action="store_true", help="JSON-lines events as it runs (the Tune pane reads them)"
    )
    p.set_defaults(func=run)


def _levels(text: str | None, what: str) -> list[float]:
    if text is None:
        return [1.0]
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConsoleError(f"{what} {text!r}: a comma-separated list of numbers, e.g. 1,4") from None
    if not values or any(v <= 0 for v in values):
        raise ConsoleError(f"{what} {text!r}: every value must be above 0")
    return values


def run(args: argparse.Namespace) -> int:
    import signal
    import threading
    from pathlib import Path

    from triton_console.common.paths import default_repository
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.client.client import check_model_name
    from triton_console.tui.core.load import loadgen
    from triton_console.tui.core.request.infer import parse_assignments
    from triton_console.tui.core.server.process import is_loopback
    from triton_console.tui.core.tune import deploy, fields, sweep

    # everything the user typed is checked before the server is asked anything
    model = check_model_name(args.model)
    sets = [fields.parse_set(s) for s in args.sets]
    if len({f.path for f, _ in sets}) != len(sets):
        raise ConsoleError("--set: each field once (list its values after one =)", exit_code=EXIT_USAGE)
    objective = sweep.Objective.parse(args.objective)
    mode, levels = (
        ("rate", _levels(args.rate, "--rate"))
        if args.rate
        else ("concurrency", _levels(args.concurrency, "--concurrency"))
    )
    if args.engine == "perf_analyzer":
        from triton_console.tui.core.load import perfanalyzer

        perfanalyzer.binary()  # not installed: one line saying how, before anything is loaded
    c = client(args)
    repository = Path(args.repository).expanduser() if args.repository else default_repository()
    target = deploy.Target(c, model, repository if is_loopback(c.endpoint.host) else None)
    if target.file is None:
        target = deploy.Target(c, model)
        if args.write:
            raise ConsoleError(
                f"--write: no {model}/config.pbtxt under {repository} for this server",
                hint="pass --repository DIR (the server's model repository, on this machine)",
                exit_code=EXIT_USAGE,
            )
    given = images(args)
    if given:
        workload = loadgen.image_workload(c, model, given)
    else:
        workload = loadgen.tensor_workload(
            c,
            model,
            parse_assignments(args.input, "--input"),
            parse_assignments(args.shape, "--shape"),
            args.batch,
            args.seed,
        )

    cancel = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # end the sweep, restore, then exit 130
        signal.signal(sig, lambda *_: cancel.set())

    def on_trial(trial: sweep.Trial, i: int, n: int) -> None:
        if args.progress:
            print(
                json.dumps({"event": "trial", "index": i, "total": n, "trial": trial.to_dict()}), flush=True
            )
            return
        line = visible(f"trial {i}/{n}: {trial.describe()}", 1000)
        if args.json:
            err(line)
        else:
            print(line, flush=True)

    if not (args.json or args.progress):
        print(visible(f"{model}: {workload.description}; objective {objective}", 600), flush=True)
    result = sweep.run(
        target,
        workload,
        sets,
        levels,
        mode,
        args.requests,
        args.warmup,
        objective,
        write=args.write,
        cancel=cancel,
        on_trial=on_trial,
        engine=args.engine,
    )
    if args.save:
        where = sweep.save(result)
        if not args.progress:
            err(f"saved {where}")
    if args.progress:
        print(json.dumps(result.events()), flush=True)
    elif args.json:
        print(json.dumps(result.to_dict()))
    else:
        _print(result, visible)
    if result.cancelled:
        err(f"interrupted: {model} serves {result.restored}")
        return 130
    return EXIT_OK if any(t.status == "ok" for t in result.trials) else EXIT_FAILED


def _print(result, visible) -> None:
    if result.best is None:
        print(
            "no best: "
            + (
                "no trial succeeded"
                if not any(t.status == "ok" for t in result.trials)
                else f"no trial met {result.objective}"
            )
        )
    else:
        print(visible(f"best ({result.objective}): {result.best.describe()}", 1000))
        if result.diff:
            print(visible(result.diff.rstrip("\n"), 20000, multiline=True))
    note = result.gpu_note()
    if note:
        print(visible(note, 400))
    if result.written:
        print(visible(f"written: {result.written} (previous file: config.pbtxt.bak)", 600))
    print(visible(f"{result.model} serves {result.restored}", 400))
