"""``triton-console``: the console (no subcommand) and its headless commands.

Everything heavy (torch, onnx, tritonclient, numpy, textual) is imported inside the command that
needs it, so ``triton-console --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from triton_console.build_tools import catalog
from triton_console.common.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ConsoleError
from triton_console.common.paths import default_repository

if TYPE_CHECKING:
    from triton_console.tui.core.client.connection import Connection


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _add_connection(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-c",
        "--context",
        metavar="NAME",
        default=None,
        help="a server from the servers file (triton-console servers list); other flags override its settings",
    )
    p.add_argument(
        "-u",
        "--url",
        default=None,
        help="server URL: host:port, grpc(s)://host:port or http(s)://host:port (default localhost:8001, gRPC)",
    )
    p.add_argument(
        "-i",
        "--protocol",
        choices=("grpc", "http"),
        default=None,
        help="protocol (default: from the URL, else grpc)",
    )
    p.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for each server call (default 30)"
    )
    tls = p.add_argument_group("TLS and headers")
    tls.add_argument("--ssl", action="store_true", help="use TLS (implied by https:// and grpcs:// URLs)")
    tls.add_argument("--root-certs", metavar="PEM", help="CA certificates to verify the server with")
    tls.add_argument("--client-cert", metavar="PEM", help="client certificate chain (mutual TLS)")
    tls.add_argument("--client-key", metavar="PEM", help="client private key file (mutual TLS)")
    tls.add_argument("--insecure", action="store_true", help="HTTPS: do not verify the server's certificate")
    tls.add_argument(
        "-H", "--header", action="append", default=[], metavar="'NAME: VALUE'", help="add a request header"
    )
    tls.add_argument(
        "--header-env",
        action="append",
        default=[],
        metavar="NAME=ENVVAR",
        help="add a header whose value is read from an environment variable (keeps secrets out of argv)",
    )
    tls.add_argument(
        "--max-response-mb",
        type=float,
        default=256,
        help="refuse requests and responses larger than this (MiB, default 256)",
    )
    p.add_argument(
        "--metrics-url",
        default=None,
        help="Prometheus endpoint (default: Triton's layout, the HTTP port + 2, on the server's host)",
    )


def connection(args) -> Connection:
    """The validated connection of a command's flags, over its -c server's settings (header values stay in
    memory only)."""
    from triton_console.tui.core.client import contexts
    from triton_console.tui.core.client.connection import (
        TLS,
        Connection,
        Headers,
        header_from_env,
        parse_header,
    )

    base = contexts.find(args.context).connection() if args.context else Connection()
    from_env = [header_from_env(h) for h in args.header_env]
    env = {
        name: spec.partition("=")[2].strip()
        for (name, _), spec in zip(from_env, args.header_env, strict=True)
    }
    items = dict(base.headers.as_dict())
    items.update(dict([parse_header(h) for h in args.header] + from_env))
    tls = base.tls
    if args.insecure:
        _err("WARNING: --insecure: the server's certificate is not verified")
    return Connection(
        url=args.url or base.url,
        protocol=args.protocol or (base.protocol if not args.url else None),
        timeout=args.timeout or (base.timeout if args.context else 30.0),
        tls=TLS(
            args.ssl or tls.enabled,
            args.root_certs or tls.root_certs,
            args.client_cert or tls.client_cert,
            args.client_key or tls.client_key,
            args.insecure or tls.insecure,
        ),
        headers=Headers(tuple(items.items()), {**base.headers.env, **env}),
        max_response_bytes=int(args.max_response_mb * 2**20),
        metrics_url=args.metrics_url or base.metrics_url,
    )


def context_models(args) -> list[str]:
    from triton_console.tui.core.client import contexts

    return list(contexts.find(args.context).models) if getattr(args, "context", None) else []


def _add_server(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--server",
        default="auto",
        help="tritonserver: auto (default: $TRITONSERVER, PATH, then bundled), bundled, a PATH, or docker[:IMAGE] "
        "(NVIDIA's NGC container, default nvcr.io/nvidia/tritonserver:24.10-py3)",
    )
    p.add_argument(
        "--docker-site",
        default="auto",
        metavar="DIR|auto|none",
        help="docker: Python packages for the container's Python (auto: build one with pip when models need Pillow)",
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="triton-console",
        description="A terminal console for NVIDIA Triton Inference Server. With no command it opens the console.",
        epilog="Headless commands print JSON with --json. Run 'triton-console COMMAND --help' for each.",
    )
    sub = top.add_subparsers(dest="command", metavar="COMMAND")

    b = sub.add_parser("build", help="export, check, (TensorRT) and write a model repository")
    b.add_argument("--model", choices=list(catalog.MODELS), default=catalog.DEFAULT_MODEL)
    b.add_argument(
        "--weights", default="imagenet", help="imagenet, random (untrained, seeded) or PATH to a state_dict"
    )
    b.add_argument("--backbone", choices=[k for _, k in catalog.backbone_choices()], default=catalog.AUTO)
    b.add_argument(
        "--layout",
        choices=list(catalog.LAYOUTS),
        default=catalog.DEFAULT_LAYOUT,
        help="ensemble: the seed's preprocess → backbone → postprocess (default); fused: one Python model for all three",
    )
    b.add_argument(
        "--repository",
        type=Path,
        default=None,
        # not default_repository() here: every command builds this parser, and platformdirs costs ~10 ms
        help="output directory (default $TRITON_CONSOLE_REPOSITORY, else repository/ in the user data "
        "directory: ~/.local/share/triton-console/repository on Linux)",
    )
    b.add_argument(
        "--force", action="store_true", help="replace a directory that triton-console did not make"
    )
    b.add_argument(
        "--if-missing", action="store_true", help="do nothing if the repository already has this model"
    )
    b.add_argument("--json", action="store_true")

    e = sub.add_parser("export", help="export a backbone to ONNX and check it numerically")
    e.add_argument("--model", choices=list(catalog.MODELS), required=True)
    e.add_argument("--weights", required=True)
    e.add_argument("--output", type=Path, required=True)
    e.add_argument("--json", action="store_true")

    g = sub.add_parser("engine", help="build a TensorRT engine from an ONNX file (trtexec or tensorrt API)")
    g.add_argument("--onnx", type=Path, required=True)
    g.add_argument("--output", type=Path, required=True)
    g.add_argument("--fp16", action="store_true", default=True)
    g.add_argument("--no-fp16", dest="fp16", action="store_false")
    g.add_argument("--min-batch", type=_positive, default=1)
    g.add_argument("--opt-batch", type=_positive, default=1)
    g.add_argument("--max-batch", type=_positive, default=256)

    s = sub.add_parser("serve", help="run tritonserver in the foreground on a repository")
    s.add_argument("--repository", type=Path, default=None)
    _add_server(s)
    s.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--http-port", type=int, default=8000)
    s.add_argument("--grpc-port", type=int, default=8001)
    s.add_argument("--metrics-port", type=int, default=8002)
    s.add_argument("--model-control", choices=("none", "explicit"), default="none")
    s.add_argument("--quiet", action="store_true", help="do not echo the server log")

    st = sub.add_parser("status", help="server health, what it offers and its models")
    _add_connection(st)
    st.add_argument("--all", action="store_true", help="every server in the servers file, in parallel")
    st.add_argument(
        "-m",
        "--model",
        action="append",
        default=[],
        metavar="MODEL",
        help="models to ask about where the server lists none (KServe over gRPC)",
    )
    st.add_argument("--json", action="store_true")

    mx = sub.add_parser("metrics", help="live per-model rates, GPU and CPU, one line per interval")
    _add_connection(mx)
    mx.add_argument("--interval", type=float, default=1.0, help="seconds between polls (0.5-60, default 1)")
    mx.add_argument(
        "--count", type=_positive, default=None, help="stop after N intervals (default: until Ctrl-C)"
    )
    mx.add_argument("--json", action="store_true", help="one JSON object per interval")

    sv = sub.add_parser("servers", help="named servers (the servers file): list, add, remove")
    actions = sv.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="the servers file's servers (and its problems)")
    ls.add_argument("--json", action="store_true")
    ad = actions.add_parser("add", help="add a server (header values are read from environment variables)")
    ad.add_argument("name")
    ad.add_argument("url")
    ad.add_argument("-i", "--protocol", choices=("grpc", "http"), default=None)
    ad.add_argument("--ssl", action="store_true")
    ad.add_argument("--root-certs", metavar="PEM")
    ad.add_argument("--client-cert", metavar="PEM")
    ad.add_argument("--client-key", metavar="PEM")
    ad.add_argument("--insecure", action="store_true")
    ad.add_argument("--header-env", action="append", default=[], metavar="NAME=ENVVAR")
    ad.add_argument("-m", "--model", action="append", default=[], metavar="MODEL")
    ad.add_argument("--timeout", type=float, default=10.0)
    ad.add_argument("--replace", action="store_true", help="replace a server of that name")
    rm = actions.add_parser("remove", help="remove a server")
    rm.add_argument("name")

    inf = sub.add_parser(
        "infer", help="one request to any model, inputs from its metadata (random, files, text)"
    )
    inf.add_argument("model", metavar="MODEL")
    _add_connection(inf)
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
        "--batch", type=_positive, default=1, help="batch size for a model that batches (default 1)"
    )
    inf.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    inf.add_argument(
        "--scaling", choices=("none", "inception", "vgg", "imagenet"), default=None, help="for image:FILE"
    )
    inf.add_argument(
        "--save", type=Path, metavar="DIR", help="write each output as NAME.npy (and a call's data files)"
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

    c = sub.add_parser("classify", help="classify image files (or directories of them)")
    c.add_argument("images", nargs="+", metavar="IMAGE")
    _add_connection(c)
    c.add_argument("-m", "--model", default=None, help="model (default: the ready image ensemble)")
    c.add_argument("-k", "--top-k", type=_positive, default=5, dest="k")
    c.add_argument(
        "--scaling",
        choices=("none", "inception", "vgg", "imagenet"),
        default=None,
        help="tensor-input models: pixel scaling (default: the model's own declaration, else none)",
    )
    c.add_argument(
        "--channel-order", choices=("rgb", "bgr"), default=None, help="tensor-input models (default rgb)"
    )
    c.add_argument(
        "--labels", metavar="FILE", help="class names, one per line (else the server's, else ImageNet's)"
    )
    c.add_argument(
        "--batch",
        type=_positive,
        default=1,
        metavar="K",
        help="images per request (models with a BYTES or tensor image input and a batch dimension)",
    )
    c.add_argument("--json", action="store_true")

    bn = sub.add_parser(
        "bench", help="latency and throughput of any model: one level, a sweep, or request rates"
    )
    bn.add_argument(
        "images", nargs="*", metavar="IMAGE|DIR", help="images for an image model (else --input specs)"
    )
    _add_connection(bn)
    bn.add_argument("-m", "--model", default=None, help="model (default: a ready image model, with images)")
    bn.add_argument(
        "--input", action="append", default=[], metavar="NAME=SPEC", help="as infer takes (no images)"
    )
    bn.add_argument("--shape", action="append", default=[], metavar="NAME=D1,D2")
    bn.add_argument(
        "--batch",
        type=_positive,
        default=1,
        help="rows per request: random tensors' batch, or images per request (as perf_analyzer's -b)",
    )
    bn.add_argument("--seed", type=int, default=0)
    level = bn.add_mutually_exclusive_group()
    level.add_argument("--concurrency", type=_positive, default=None, help="requests in flight (default 1)")
    level.add_argument("--sweep", metavar="C1,C2,...", help="a concurrency sweep, e.g. 1,2,4,8")
    level.add_argument(
        "--rate", metavar="R1,R2,...", help="fixed request rates per second (open loop), e.g. 10,20"
    )
    bn.add_argument(
        "--requests", type=_positive, default=100, help="measured requests per step (default 100)"
    )
    bn.add_argument("--warmup", type=int, default=10, help="requests per step before measuring, not counted")
    bn.add_argument("--engine", choices=("triton-console", "perf_analyzer"), default="triton-console")
    bn.add_argument(
        "--shm", choices=("none", "system", "cuda"), default="none", help="inputs through shared memory"
    )
    bn.add_argument("--save", action="store_true", help="save the run as JSON in the runs folder")
    bn.add_argument(
        "--progress", action="store_true", help="JSON-lines events as it runs (the Bench pane reads them)"
    )
    bn.add_argument("--json", action="store_true")

    cp = sub.add_parser("compare", help="two or more models on the same images (or random tensors)")
    cp.add_argument("items", nargs="+", metavar="MODEL|IMAGE", help="models first, then images or folders")
    _add_connection(cp)
    cp.add_argument("--seed", type=int, default=0, help="for models without images: the random tensors' seed")
    cp.add_argument("--json", action="store_true")
    return top


def console_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="triton-console", add_help=False)
    _add_connection(p)
    p.add_argument(
        "-m", "--model", action="append", default=[], help="models to ask about (servers that list none)"
    )
    p.add_argument("--repository", type=Path, default=None)
    _add_server(p)
    p.add_argument("--start", action="store_true", help="start the embedded server at once")
    p.add_argument("images", nargs="*")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    wants_help = any(a in ("-h", "--help") for a in argv)
    try:
        top = parser()  # built once (~17 ms): a one-shot command pays for it before anything else
        if first in _subcommands(top):
            return _dispatch(top.parse_args(argv))
        if wants_help:
            top.print_help()
            return EXIT_OK
        return _console(console_parser().parse_args(argv))
    except ConsoleError as exc:
        from triton_console.common.untrusted import visible
        from triton_console.tui.hints import CLI, worded

        print(f"error: {visible(worded(exc, CLI), 4000, multiline=True)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    return globals()[f"_cmd_{args.command}"](args)


def commands() -> list[str]:
    """The headless commands: the parser's subcommands (each has a _cmd_<name> handler)."""
    return _subcommands(parser())


def _subcommands(top: argparse.ArgumentParser) -> list[str]:
    return list(top._subparsers._group_actions[0].choices)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------- build


def _cmd_build(args) -> int:
    repo = (args.repository or default_repository()).expanduser()
    from triton_console.build_tools import repository as repo_mod

    if args.if_missing and repo_mod.has_model(repo, args.model, args.layout):
        _err(f"{repo} already has {repo_mod.top_name(args.model, args.layout)}; nothing to do")
        return EXIT_OK
    from triton_console.build_tools import pipeline
    from triton_console.common.progress import Progress

    def on_step(step: str, state: str, detail: str) -> None:
        if state != "start":
            _err(f"[{step}] {state}{': ' + detail if detail else ''}")

    report = pipeline.build(
        args.model,
        args.weights,
        args.backbone,
        repo,
        force=args.force,
        progress=Progress(log=lambda line: _err("  " + line)),
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


def _cmd_export(args) -> int:
    from triton_console.build_tools import export, pipeline, weights
    from triton_console.common.progress import Progress

    progress = Progress(log=lambda line: _err("  " + line))
    net, info = pipeline.quiet(lambda: weights.load(args.model, args.weights), progress)
    pipeline.quiet(lambda: export.export_onnx(net, args.output, progress), progress)
    check = export.check_numerics(net, args.output)
    _err(check.summary())
    if args.json:
        print(
            json.dumps(
                {
                    "onnx": str(args.output),
                    "bytes": args.output.stat().st_size,
                    "weights": info.to_dict(),
                    "check": check.to_dict(),
                }
            )
        )
    return EXIT_OK if check.passed else EXIT_FAILED


def _cmd_engine(args) -> int:
    from triton_console.build_tools import engine
    from triton_console.common.progress import Progress

    batches = engine.BatchRange(args.min_batch, args.opt_batch, args.max_batch)
    engine.build_engine(args.onnx, args.output, batches, fp16=args.fp16, progress=Progress(log=_err))
    return EXIT_OK


# ------------------------------------------------------------------------------------------- serve


def _cmd_serve(args) -> int:
    import shlex
    import signal
    import threading

    from triton_console.tui.core.server import kinds
    from triton_console.tui.core.server import process as srv

    repo = (args.repository or default_repository()).expanduser()
    cfg = srv.ServerConfig(
        repo,
        args.http_port,
        args.grpc_port,
        args.metrics_port,
        address=args.address,
        model_control=args.model_control,
        load_models=["*"] if args.model_control == "explicit" else [],
    )
    for w in cfg.warnings():
        _err(f"WARNING: {w}")
    server = kinds.make_server(args.server, cfg, args.docker_site)
    if not args.quiet:
        server.add_listener(lambda line: _err(line))
    stop = threading.Event()
    srv.install_exit_handlers()

    def on_signal(signum, _frame):
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    _err(f"starting {server.kind} tritonserver ({server.binary.path}) on {repo}")
    _err("  " + shlex.join(server.argv))  # the exact command, to rerun by hand (e.g. in an NGC container)
    server.start()
    try:
        server.wait_ready(timeout=300, cancel=stop)
        if stop.is_set():
            return EXIT_OK
        print(f"tritonserver ready  pid {server.pid}", flush=True)
        print(f"  HTTP     http://{server.http_url}", flush=True)
        print(f"  gRPC     grpc://{server.grpc_url}", flush=True)
        print(f"  metrics  {server.metrics_url}", flush=True)
        while not stop.wait(0.5):
            if not server.is_running():
                _err(f"tritonserver exited with code {server.returncode}")
                return EXIT_FAILED
        return EXIT_OK
    except ConsoleError as exc:
        if stop.is_set():
            return EXIT_OK
        raise exc
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------- status


def _client(args):
    from triton_console.tui.core.client.client import TritonClient

    return TritonClient(connection=connection(args))


def _cmd_servers(args) -> int:
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.client import contexts

    if args.action == "list":
        entries, problems = contexts.load()
        if args.json:
            servers = [{"name": e.name, **contexts.raw(e)} for e in entries]
            print(json.dumps({"file": str(contexts.path()), "servers": servers, "problems": problems}))
        else:
            print(f"{contexts.path()}: {len(entries)} server(s)")
            for e in entries:
                extra = "".join(f"  {k}" for k in ("ssl", "insecure") if getattr(e, k))
                heads = "".join(f"  {h}=${v}" for h, v in e.headers.items())
                print(visible(f"  {e.name:<16} {e.url}{extra}{heads}", 400))
        for p in problems:
            _err(visible(f"problem: {p}", 400))
        return EXIT_FAILED if problems else EXIT_OK
    if args.action == "remove":
        _err(f"removed {args.name} from {contexts.remove(args.name)}")
        return EXIT_OK
    headers = {}
    for spec in args.header_env:
        name, sep, var = spec.partition("=")
        if not sep:
            raise ConsoleError(f"--header-env {spec[:60]!r}: expected NAME=ENVIRONMENT_VARIABLE")
        headers[name.strip()] = var.strip()
    new = contexts.ServerEntry(
        args.name,
        args.url,
        args.protocol,
        args.ssl,
        args.root_certs,
        args.client_cert,
        args.client_key,
        args.insecure,
        headers,
        tuple(args.model),
        args.timeout,
    )
    _err(f"added {args.name} to {contexts.add(new, replace=args.replace)}")
    return EXIT_OK


def _status_all(args) -> int:
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.client import contexts
    from triton_console.tui.core.server.fleet import Fleet

    entries, problems = contexts.load()
    for p in problems:
        _err(visible(f"problem: {p}", 400))
    if not entries:
        raise ConsoleError(f"no servers in {contexts.path()}", hint="triton-console servers add NAME URL")
    fleet = Fleet(entries, budget=min(args.timeout or 2.0, 10.0))
    try:
        rows = fleet.refresh()
    finally:
        fleet.close()
    for r in rows:
        if args.json:
            print(json.dumps(r.to_dict()), flush=True)
        else:
            state = "ready" if r.ready else "live" if r.live else "down"
            ping = f"{r.ping_ms:.1f} ms" if r.ping_ms is not None else "-"
            detail = r.error or f"{r.server}  models {r.models_ready}/{r.models_total}"
            print(visible(f"{r.name:<16} {state:<6} {ping:>9}  {r.url}  {detail}", 600))
    return EXIT_OK if all(r.live for r in rows) else EXIT_FAILED


def _cmd_metrics(args) -> int:
    import time

    from triton_console.common.untrusted import visible
    from triton_console.tui.core.server import metrics as mt

    if not 0.5 <= args.interval <= 60:
        raise ConsoleError("--interval must be between 0.5 and 60 seconds")
    client = _client(args)
    poller = mt.Poller(client)
    poller.poll()  # the base for the first rates
    shown = 0
    while args.count is None or shown < args.count:
        time.sleep(args.interval)
        point = poller.poll()
        if point is None:
            continue
        shown += 1
        if args.json:
            print(json.dumps(point.to_dict()), flush=True)
            continue
        print(visible(time.strftime("%H:%M:%S") + f"  {' + '.join(point.sources) or 'no source'}", 300))
        for note in point.missing + point.problems:
            print(visible(f"  missing/problem: {note}", 400))
        print(
            f"  {'model':<36} {'inf/s':>8} {'exec/s':>7} {'batch':>6} {'queue':>8} {'compute':>8} {'fail/s':>6}"
        )
        for name, r in sorted(point.models.items(), key=lambda kv: -kv[1].inf_s):
            print(
                visible(
                    f"  {name[:36]:<36} {r.inf_s:8.1f} {r.exec_s:7.1f} {r.avg_batch:6.1f} {r.queue_ms:8.2f} "
                    f"{r.compute_ms:8.2f} {r.fail_s:6.1f}",
                    300,
                )
            )
        for i, (_uuid, g) in enumerate(sorted(point.gpus.items())):
            print(
                f"  GPU{i} {g.get('util', 0) * 100:.0f}%  mem {g.get('mem_used', 0) / 2**30:.1f}/{g.get('mem_total', 0) / 2**30:.1f} GiB"
            )
        sys.stdout.flush()
    return EXIT_OK


def _with_hint(entry) -> dict:
    """A model of status --json, with the explainer's cause and hint when it is not ready."""
    from triton_console.tui.core.server.explain import explain

    out = entry.to_dict()
    why = explain(entry)
    if why is not None:
        out["cause"], out["hint"] = why.cause, why.hint
    return out


def _cmd_status(args) -> int:
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.client.client import check_model_name
    from triton_console.tui.core.server.controller import ServerController

    if args.all:
        return _status_all(args)
    controller = ServerController(connection(args), default_repository())
    controller.given_models = [check_model_name(m) for m in args.model + context_models(args)]
    snap = controller.poll()
    server = snap.server.to_dict() if snap.server else None
    out = {
        "url": snap.url,
        "live": snap.live,
        "ready": snap.ready,
        "server_version": server["version"] if server else None,
        "server": server,
        "models": [_with_hint(m) for m in snap.models],
        "models_from": snap.models_from or None,
        "capabilities": snap.capabilities.to_dict() if snap.capabilities else None,
        "notes": snap.capabilities.notes() if snap.capabilities else [],
        "problems": snap.problems,
    }
    if not snap.live:
        out["error"] = snap.error or f"{snap.url} answers, but says it is not live"
        if args.json:
            print(json.dumps(out))
        else:
            _err(visible(out["error"], 600))
        return EXIT_USAGE
    if args.json:
        print(json.dumps(out))
        return EXIT_OK
    title = snap.server.title if snap.server else "unknown server"
    print(visible(f"{snap.url}  live={snap.live} ready={snap.ready}  {title}", 400))
    for p in out["notes"] + snap.problems:
        print(visible(f"  note: {p}", 400))
    width = max([len(m.name) for m in snap.models] + [5])
    for m, rec in zip(snap.models, out["models"], strict=True):
        reason = f"  {m.reason}" if m.reason else ""
        print(visible(f"  {m.name:<{width}}  v{m.version or '-':<3} {m.state or '-':<12}{reason}", 600))
        if "hint" in rec:
            print(visible(f"  {'':<{width}}  why: {rec['hint']}", 600))
    return EXIT_OK


# ------------------------------------------------------------------------------------------- infer


def _cmd_infer(args) -> int:
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.classify.classifier import looks_like_scores, top_k
    from triton_console.tui.core.client.client import check_model_name
    from triton_console.tui.core.request import infer, showcall

    client = _client(args)
    model = check_model_name(args.model)
    infer.ensure_ready(client, model)
    info = client.model_info(model)
    plans = infer.plan_inputs(
        info,
        infer.parse_assignments(args.input, "--input"),
        infer.parse_assignments(args.shape, "--shape"),
        batch=args.batch,
        seed=args.seed,
        scaling=args.scaling,
        limit=client.connection.max_response_bytes,
    )
    result = infer.run(client, model, plans, shm=args.shm)
    if args.save:
        for path in infer.save(result, args.save):
            _err(f"wrote {path}")
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(visible(f"{result.model} v{result.version or '?'}  {result.latency_ms:.2f} ms", 400))
        print("inputs")
        for p in result.inputs:
            print(visible(f"  {p.name}  {p.datatype}  {list(p.shape)}  {p.source}", 400))
        print("outputs")
        for o in result.outputs:
            stats = (
                "" if o.min is None else f"  min {o.min:.6g}  max {o.max:.6g}  mean {o.mean:.6g}  NaN {o.nan}"
            )
            print(visible(f"  {o.name}  {o.datatype}  {list(o.shape)}{stats}", 400))
            print(visible(f"    first: {', '.join(map(str, o.values))}", 400))
            if o.array is not None and looks_like_scores(o.array, info.batched):
                top, kind = top_k(o.array[0] if info.batched else o.array, 5)
                print(
                    visible(
                        "    top-5"
                        + (" (softmax)" if kind == "softmax" else "")
                        + ": "
                        + ", ".join(
                            f"{t.index} {t.label or ''} {t.score:.4f}".replace("  ", " ") for t in top
                        ),
                        600,
                    )
                )
    if args.show_call:
        call = showcall.make(
            args.show_call,
            client.connection,
            client.endpoint,
            model,
            plans,
            [o.name for o in result.outputs],
            args.save,
            batched=info.batched,
            datatypes={o.name: o.datatype for o in result.outputs},
        )
        out = sys.stderr if args.json else sys.stdout
        print(call.text, file=out)
        for note in call.notes:
            print(f"# {note}", file=out)
        for path in call.files:
            _err(f"wrote {path}")
    return EXIT_OK


# ------------------------------------------------------------------------------------------- classify


def pick_model(client, model: str | None) -> str:
    """``-m`` as given, else a ready image classifier (the generated ensembles first)."""
    from triton_console.tui.core.client.client import check_model_name, preferred_model

    if model:
        return check_model_name(model)
    from triton_console.tui.core.classify.classifier import image_models
    from triton_console.tui.core.server.controller import list_models  # only to choose (its imports cost)

    ready = [m.name for m in list_models(client)[0] if m.state == "READY"]
    candidates = list(image_models(client, ready[:200]))
    if not candidates:
        raise ConsoleError(f"no ready image model on {client.url}; pass -m MODEL", exit_code=EXIT_USAGE)
    return preferred_model(candidates)


def _read_labels(path: str | None) -> list[str] | None:
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise ConsoleError(f"--labels {path}: {exc.strerror or exc}") from None


def _cmd_classify(args) -> int:
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.classify.classifier import image_path
    from triton_console.tui.core.classify.files import classify_files
    from triton_console.tui.hints import CLI, for_code

    client = _client(args)
    model = pick_model(client, args.model)
    info = client.model_info(model)
    route = image_path(info, client.server_metadata().extensions, args.scaling, args.channel_order)
    labels = _read_labels(args.labels)
    if not args.json:
        _err(visible(f"{model}: {route.describe()}" + "".join(f"; {n}" for n in route.notes), 400))
        if info.untrained:
            _err(f"WARNING: {model} has random (untrained) weights: these predictions are meaningless")
    failed = False
    items = classify_files(
        client, model, args.images, args.k, scaling=args.scaling, labels=labels, per_request=args.batch
    )
    for item in items:
        record = item.to_dict()
        failed |= item.error is not None
        if args.json:
            print(json.dumps(record), flush=True)
        elif item.error is not None:
            print(visible(f"{item.path}: error: {for_code(item.error, item.code, CLI)}", 1000), flush=True)
        else:
            r = item.result
            tag = "  [untrained]" if r.untrained else ""
            head = f"{_top(r.top[0])}  {r.latency_ms:.1f} ms{tag}" if r.top else "no class scores"
            print(visible(f"{item.path}: {head}", 600))
            for t in r.top[1:]:
                print(visible(f"    {_top(t)}", 400))
            for p in r.problems:
                print(visible(f"    note: {p}", 400))
    return EXIT_FAILED if failed else EXIT_OK


def _top(t) -> str:
    score = f"{t.score:.3f}" if math.isfinite(t.score) else str(t.score)
    return f"{t.label} ({score})  #{t.index}" if t.label else f"#{t.index} ({score})"


def _levels(text: str, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConsoleError(f"{what} {text!r}: a comma-separated list of numbers, e.g. 1,2,4,8") from None
    if not values or any(v <= 0 for v in values):
        raise ConsoleError(f"{what} {text!r}: every value must be above 0")
    return values


def _cmd_bench(args) -> int:
    import time

    from triton_console.common.untrusted import visible
    from triton_console.tui.core.load import loadgen, perfanalyzer
    from triton_console.tui.core.request.infer import parse_assignments

    client = _client(args)
    if args.images:
        model = pick_model(client, args.model)
        workload = loadgen.image_workload(client, model, args.images, per_request=args.batch)
    elif args.model:
        from triton_console.tui.core.client.client import check_model_name

        model = check_model_name(args.model)
        specs = parse_assignments(args.input, "--input")
        workload = loadgen.tensor_workload(
            client, model, specs, parse_assignments(args.shape, "--shape"), args.batch, args.seed
        )
    else:
        raise ConsoleError(
            "bench needs images, or -m MODEL (with --input specs for a model that is not an image model)"
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
        run = perfanalyzer.sweep(workload, levels, mode, args.requests, args.warmup)
    else:
        run = loadgen.sweep(workload, levels, mode, args.requests, args.warmup, progress, cancel, on_step)
    saved = str(loadgen.save(run)) if args.save else None
    if saved and not args.progress:
        _err(f"saved {saved}")
    errors = sum(s.errors for s in run.steps)
    if args.progress:
        emit({"event": "run", "run": run.to_dict(), "saved": saved})
    elif args.json:
        single = not args.sweep and not args.rate and len(run.steps) == 1
        print(json.dumps(run.steps[0].to_dict() if single else run.to_dict()))
    else:
        print(visible(f"{run.model}: {run.inputs}; warm-up {run.warmup} requests per step, not counted", 600))
        for step in run.steps:
            print(visible(step.render(), 4000, multiline=True))
    if cancel.is_set():
        return 130
    return EXIT_FAILED if errors else EXIT_OK


def _cmd_compare(args) -> int:
    import os

    from triton_console.common.untrusted import visible
    from triton_console.tui.core.client.client import check_model_name
    from triton_console.tui.core.load import compare

    models = [a for a in args.items if not os.path.exists(a)]
    paths = [a for a in args.items if os.path.exists(a)]
    client = _client(args)
    for m in models:
        check_model_name(m)
    result = compare.images(client, models, paths) if paths else compare.tensors(client, models, args.seed)
    if args.json:
        print(json.dumps(result.to_dict()))
        return EXIT_OK
    ref = result.models[0]
    print(visible(f"reference {ref.model} on {len(result.items) if paths else result.items[0]} item(s)", 400))
    print(
        f"  {'model':<36} {'top-1':>6} {'top-5':>6} {'max|Δ|':>9} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7}  path"
    )
    for r in result.models:
        d = r.to_dict()

        def pct(x):
            return "-" if x is None else f"{x * 100:.0f}%"

        delta = "-" if d["max_abs_delta"] is None else f"{d['max_abs_delta']:.2e}"
        print(
            visible(
                f"  {r.model[:36]:<36} {pct(d['top1_agreement']):>6} {pct(d['top5_agreement']):>6} {delta:>9} "
                f"{d['latency_ms']['p50']:8.2f} {d['latency_ms']['p95']:8.2f} {d['throughput'] or 0:7.1f}  {r.route}",
                600,
            )
        )
    return EXIT_OK


# ------------------------------------------------------------------------------------------- console


def _console(args) -> int:
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    opts = ConsoleOptions(
        repository=(args.repository or default_repository()).expanduser(),
        server=args.server,
        docker_site=args.docker_site,
        images=list(args.images),
        start=args.start,
        connection=connection(args),
        models=list(args.model) + context_models(args),
        context=args.context,
    )
    app = ConsoleApp(opts)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
