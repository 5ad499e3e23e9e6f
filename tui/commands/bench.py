"""``triton-console bench``: latency and throughput of any model at one level, a sweep, or request rates.

``--progress`` prints JSON-lines events as it runs: the Bench pane runs this command in its own process and
reads them.
"""

from __future__ import annotations

import argparse
import json

from triton_console.common.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ConsoleError
from triton_console.tui.commands.common import add_files_from, client, err, images, pick_model, positive
from triton_console.tui.core.client.codes import USAGE
from triton_console.tui.core.client.flags import add_connection, paths

NAME = "bench"


def add_parser(sub) -> None:
    bn = sub.add_parser(
        NAME, help="latency and throughput of any model: one level, a sweep, or request rates"
    )
    paths(
        bn.add_argument(
            "images", nargs="*", metavar="IMAGE|DIR", help="images for an image model (else --input specs)"
        )
    )
    add_files_from(bn)
    add_connection(bn, defaults=False)
    bn.add_argument("-m", "--model", default=None, help="model (default: a ready image model, with images)")
    bn.add_argument(
        "--input", action="append", default=[], metavar="NAME=SPEC", help="as infer takes (no images)"
    )
    bn.add_argument("--shape", action="append", default=[], metavar="NAME=D1,D2")
    bn.add_argument(
        "--batch",
        type=positive,
        default=1,
        help="rows per request: random tensors' batch, or images per request (as perf_analyzer's -b)",
    )
    bn.add_argument("--seed", type=int, default=0)
    level = bn.add_mutually_exclusive_group()
    # short metavars: argparse keeps an exclusive group on one usage line, which ran to 94 columns
    level.add_argument(
        "--concurrency", type=positive, default=None, metavar="N", help="requests in flight (default 1)"
    )
    level.add_argument("--sweep", metavar="C,...", help="a concurrency sweep, e.g. 1,2,4,8")
    level.add_argument(
        "--rate", metavar="R,...", help="fixed request rates per second (open loop), e.g. 10,20"
    )
    bn.add_argument("--requests", type=positive, default=100, help="measured requests per step (default 100)")
    bn.add_argument(
        "--warmup",
        type=_count,
        default=10,
        help="requests per step before measuring, not counted (default 10)",
    )
    bn.add_argument("--engine", choices=("triton-console", "perf_analyzer"), default="triton-console")
    bn.add_argument(
        "--shm", choices=("none", "system", "cuda"), default="none", help="inputs through shared memory"
    )
    bn.add_argument("--save", action="store_true", help="save the run as JSON in the runs folder")
    bn.add_argument(
        "--progress", action="store_true", help="JSON-lines events as it runs (the Bench pane reads them)"
    )
    bn.add_argument("--json", action="store_true")
    bn.set_defaults(func=run)


def _count(text: str) -> int:
    """A whole number from 0 (``--warmup``)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _usage(message: str) -> ConsoleError:
    """A bench command line that cannot run as given: exit 2, code ``usage`` (as argparse's own refusals)."""
    return ConsoleError(
        f"triton-console bench: {message}",
        hint="see 'triton-console bench --help'",
        exit_code=EXIT_USAGE,
        code=USAGE,
    )


def _levels(text: str, what: str, whole: bool = False) -> list[float]:
    """``--sweep``'s concurrencies (``whole``: whole numbers) or ``--rate``'s request rates, all above 0."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise _usage(f"{what} {text!r}: a comma-separated list of numbers, e.g. 1,2,4,8") from None
    if not values or any(v <= 0 for v in values):
        raise _usage(f"{what} {text!r}: every value must be above 0")
    if whole and any(v != int(v) for v in values):
        raise _usage(f"{what} {text!r}: requests in flight are whole numbers, e.g. 1,2,4,8")
    return values


def _check(args: argparse.Namespace) -> None:
    """The options that cannot run together, refused before anything is asked of the server (a bad --sweep
    was found only after the model's metadata, or said it could not reach the server)."""
    if args.sweep:
        _levels(args.sweep, "--sweep", whole=True)
    if args.rate:
        _levels(args.rate, "--rate")
    given = bool(args.images or getattr(args, "files_from", None))
    if given and (args.input or args.shape):
        flag = "--input" if args.input else "--shape"
        raise _usage(f"{flag} is for a model without images (random or given tensors); images were given too")
    if args.progress and args.json:
        raise _usage("--progress and --json: choose one (--progress prints JSON lines as it runs)")


def run(args: argparse.Namespace) -> int:
    import time

    from triton_console.common.untrusted import visible
    from triton_console.tui.core.load import loadgen, perfanalyzer
    from triton_console.tui.core.request.infer import parse_assignments

    _check(args)
    _model_first(args)
    c = client(args)
    given = images(args)
    if given:
        model = pick_model(c, args.model)
        workload = loadgen.image_workload(c, model, given, per_request=args.batch)
    elif args.model:
        from triton_console.tui.core.client.client import check_model_name

        model = check_model_name(args.model)
        specs = parse_assignments(args.input, "--input")
        from triton_console.tui.core.request import stream

        if stream.is_decoupled(c.model_info(model)):
            return _run_stream(args, c, model, specs)
        workload = loadgen.tensor_workload(
            c,
            model,
            specs,
            parse_assignments(args.shape, "--shape"),
            args.batch,
            args.seed,
            images_how=f"bench: `triton-console bench -m {model} car.jpg`, or a folder instead of car.jpg",
        )
    else:
        raise _usage(
            "images are needed, or -m MODEL (with --input specs for a model that is not an image model)"
        )
    workload.shm = args.shm
    mode, levels = "concurrency", [float(args.concurrency or 1)]
    if args.sweep:
        levels = _levels(args.sweep, "--sweep")
    elif args.rate:
        mode, levels = "rate", _levels(args.rate, "--rate")

    def emit(event: dict) -> None:
        print(json.dumps(event), flush=True)

    last = [0.0]

    def progress(done: int, total: int, level: float) -> None:
        now = time.monotonic()
        if args.progress and (now - last[0] > 0.2 or done == total):
            last[0] = now
            emit({"event": "progress", "done": done, "total": total, "level": level})

    def on_step(step) -> None:
        if args.progress:
            emit({"event": "step", "step": step.to_dict()})

    import signal
    import threading

    # SIGINT/SIGTERM end the sweep early; shared-memory regions are freed on the way out
    cancel = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: cancel.set())
    if args.engine == "perf_analyzer":
        outcome = perfanalyzer.sweep(workload, levels, mode, args.requests, args.warmup)
    else:
        outcome = loadgen.sweep(workload, levels, mode, args.requests, args.warmup, progress, cancel, on_step)
    saved = str(loadgen.save(outcome)) if args.save and _answered(outcome) else None
    if args.save and not args.progress:
        err(f"saved {saved}" if saved else "not saved: every request failed (nothing to compare a run with)")
    errors = sum(s.errors for s in outcome.steps)
    if args.progress:
        emit({"event": "run", "run": outcome.to_dict(), "saved": saved})
    elif args.json:
        single = not args.sweep and not args.rate and len(outcome.steps) == 1
        print(json.dumps(outcome.steps[0].to_dict() if single else outcome.to_dict()))
    else:  # in the terminal's width (COLUMNS, else 80 through a pipe): long lines wrap, every figure kept
        from triton_console.common.terminal import columns, fitted

        width = columns()
        head = f"{outcome.model}: {outcome.inputs}; warm-up {outcome.warmup} requests per step, not counted"
        print("\n".join(fitted(visible(head, 600), width)))
        for step in outcome.steps:
            print("\n".join(fitted(visible(step.render(width), 4000, multiline=True), width)))
    if cancel.is_set():
        return 130
    if not args.progress:  # the Bench pane reads the run's steps
        _failures(outcome.model, outcome.steps)
    if any(s.server_gone for s in outcome.steps):
        return EXIT_USAGE  # the server went away under the run (its connection errors are counted above)
    return EXIT_FAILED if errors else EXIT_OK


def _model_first(args: argparse.Namespace) -> None:
    """``bench MODEL ...`` as infer, trace, tune and compare take their model: bench takes images there, so
    the model's name was reported as a missing file. Without -m, a first word that is no file and reads as a
    model's name (no folder in it, no image suffix) is said to belong after -m; nothing is guessed."""
    import os

    from triton_console.tui.core.classify.images import IMAGE_SUFFIXES
    from triton_console.tui.core.client.client import MODEL_NAME_RE

    if args.model or not args.images:
        return
    first, rest = args.images[0], args.images[1:]
    if os.path.lexists(first) or not MODEL_NAME_RE.match(first) or first in (".", ".."):
        return
    if os.path.splitext(first)[1].lower() in IMAGE_SUFFIXES:
        return
    import shlex

    tail = " ".join(shlex.quote(r) for r in rest) if 0 < len(rest) <= 3 else "IMAGE..."
    raise ConsoleError(
        f"{first}: no such file; bench takes the model with -m: triton-console bench -m {first} {tail}",
        exit_code=EXIT_USAGE,
        code=USAGE,
    )


def _failures(model: str, steps) -> None:
    """The one ``error:`` line when requests failed, so that an exit 1 (or 2) never goes unexplained on
    stderr: with ``--json`` the counts are only in stdout's JSON. A step without one successful request (its
    numbers are all ``-``) says so; otherwise how many of the requests sent failed, by kind, and the first
    error."""
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.client.health import KINDS

    failed = [s for s in steps if s.errors]
    if not failed:
        return
    dead = next((s for s in failed if not s.count), None)
    if dead is not None:
        first = dead.first_error or "no error text"
        err(visible(f"error: {model}: all {dead.errors} requests failed; the first: {first}", 1000))
        return
    errors = sum(s.errors for s in failed)
    sent = sum(s.errors + s.count for s in steps)
    by_kind: dict[str, int] = {}
    for s in failed:
        for kind, n in (getattr(s, "by_kind", None) or {}).items():
            by_kind[kind] = by_kind.get(kind, 0) + n
    kinds = ", ".join(f"{k} {by_kind[k]}" for k in KINDS if by_kind.get(k))
    first = failed[0].first_error or "no error text"
    line = f"error: {model}: {errors} of {sent} requests failed{f' ({kinds})' if kinds else ''}; the first: {first}"
    err(visible(line, 1000))


def _answered(run) -> bool:
    """Whether any request of the run got an answer: a run in which every one failed has no point to
    chart, and saved it was overlaid as if it were a measurement."""
    return any(s.count for s in run.steps)


def _run_stream(args: argparse.Namespace, c, model: str, specs: dict) -> int:
    """A decoupled model: streams in flight per step (or requests at fixed rates, open loop), with time to
    first response, the gaps between responses and responses per second (core.load.streambench); with
    --engine perf_analyzer, its --streaming runs. Saved (--save) as the other runs are."""
    import signal
    import threading

    from triton_console.common.untrusted import visible
    from triton_console.tui.core.load import loadgen, perfanalyzer, streambench
    from triton_console.tui.core.request import infer
    from triton_console.tui.core.request.infer import parse_assignments

    if args.shm != "none":
        raise ConsoleError(f"{model} is decoupled: --shm does not apply to streamed requests")
    plans = infer.plan_inputs(
        c.model_info(model),
        specs,
        parse_assignments(args.shape, "--shape"),
        batch=args.batch,
        seed=args.seed,
        limit=c.connection.max_response_bytes,
    )
    mode, levels = "concurrency", [float(args.concurrency or 1)]
    if args.sweep:
        levels = _levels(args.sweep, "--sweep", whole=True)
    elif args.rate:
        mode, levels = "rate", _levels(args.rate, "--rate")
    description = ", ".join(f"{p.name} {p.datatype} {list(p.shape)} {p.source}" for p in plans)
    cancel = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: cancel.set())

    def emit(event: dict) -> None:
        if args.progress:
            print(json.dumps(event), flush=True)

    def progress(done: int, total: int, level: float) -> None:
        emit({"event": "progress", "done": done, "total": total, "level": level})

    if args.engine == "perf_analyzer":
        run = perfanalyzer.stream_sweep(
            c, model, plans, levels, mode, args.requests, max(0, args.warmup), description
        )
        for step in run.steps:
            emit({"event": "step", "step": step.to_dict()})
    else:
        run = streambench.sweep(
            c,
            model,
            plans,
            levels,
            args.requests,
            max(0, args.warmup),
            progress,
            cancel,
            lambda step: emit({"event": "step", "step": step.to_dict()}),
            mode,
            description,
        )
    saved = str(loadgen.save(run)) if args.save and _answered(run) else None
    if saved and not args.progress:
        err(f"saved {saved}")
    if args.progress:
        emit({"event": "run", "run": run.to_dict(), "saved": saved})
    elif args.json:
        single = not args.sweep and not args.rate and len(run.steps) == 1
        print(json.dumps(run.steps[0].to_dict() if single else run.to_dict()))
    else:
        from triton_console.common.terminal import columns, fitted

        width = columns()
        for step in run.steps:
            print("\n".join(fitted(visible(step.render(), 4000, multiline=True), width)))
    if cancel.is_set():
        return 130
    if not args.progress:
        _failures(model, run.steps)
    return EXIT_FAILED if any(s.errors for s in run.steps) else EXIT_OK
