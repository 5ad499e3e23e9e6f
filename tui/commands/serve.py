"""``triton-console serve``: tritonserver in the foreground on a repository, until Ctrl-C."""

from __future__ import annotations

import argparse
from pathlib import Path

from triton_console.common.errors import EXIT_FAILED, EXIT_OK, ConsoleError
from triton_console.common.paths import default_repository
from triton_console.tui.commands.common import err
from triton_console.tui.core.client.flags import add_server, paths

NAME = "serve"
# What tritonserver 2.51 logs at start when it finds no usable GPU (seen on a CPU-only machine, 2026-12):
# alarming words for what is, without a GPU, the normal case.
NO_GPU_MARKS = (
    "CUDA driver version is insufficient",
    "CudaDriverHelper has not been initialized",
    "Failed to initialize NVML",
    "DCGM unable to start",
)


def add_parser(sub) -> None:
    s = sub.add_parser(NAME, help="run tritonserver in the foreground on a repository")
    paths(s.add_argument("--repository", type=Path, default=None, help="the model repository to serve"))
    add_server(s)
    s.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--http-port", type=int, default=8000)
    s.add_argument("--grpc-port", type=int, default=8001)
    s.add_argument("--metrics-port", type=int, default=8002)
    s.add_argument("--model-control", choices=("none", "explicit"), default="none")
    s.add_argument("--quiet", action="store_true", help="do not echo the server log")
    s.set_defaults(func=run)


def gpu_note(line: str, gpus: int) -> str | None:
    """The one line to say after the server's first no-GPU line: expected here, or a driver to check."""
    if not any(mark in line for mark in NO_GPU_MARKS):
        return None
    if gpus == 0:
        return "note: the CUDA/NVML/DCGM errors are expected on a machine without a GPU: the server runs on the CPU"
    return f"note: the server cannot use the {gpus} GPU(s) it sees: check the NVIDIA driver (nvidia-smi)"


class _Echo:
    """The server's log on stderr, with :func:`gpu_note` once."""

    def __init__(self, gpus: int) -> None:
        self.gpus = gpus
        self.noted = False

    def __call__(self, line: str) -> None:
        err(line)
        note = None if self.noted else gpu_note(line, self.gpus)
        if note:
            self.noted = True
            err(note)


def run(args: argparse.Namespace) -> int:
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
        err(f"WARNING: {w}")
    cfg.check_ports()  # a port taken is refused now, naming its holder, before anything is found or started
    server = kinds.make_server(args.server, cfg, args.docker_site)
    if not args.quiet:
        server.add_listener(_Echo(srv.visible_gpus()))
    stop = threading.Event()
    srv.install_exit_handlers()

    def on_signal(signum, _frame):
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    err(f"starting {server.kind} tritonserver ({server.binary.path}) on {repo}")
    err("  " + shlex.join(server.argv))  # the exact command, to rerun by hand (e.g. in an NGC container)
    server.start()
    try:
        server.wait_ready(timeout=300, cancel=stop)
        if stop.is_set():
            return EXIT_OK
        print(f"tritonserver ready  pid {server.pid}", flush=True)
        print(f"  HTTP     http://{server.http_url}", flush=True)
        print(f"  gRPC     grpc://{server.grpc_url}", flush=True)
        print(f"  metrics  {server.metrics_url}", flush=True)
        if f"--trace-config=triton,file={server.cfg.trace_file}" in server.argv:
            print(f"  traces   {server.cfg.trace_file} (triton-console trace MODEL)", flush=True)
        while not stop.wait(0.5):
            if not server.is_running():
                err(f"tritonserver exited with code {server.returncode}")
                return EXIT_FAILED
        return EXIT_OK
    except ConsoleError as exc:
        if stop.is_set():
            return EXIT_OK
        raise exc
    finally:
        server.stop()
