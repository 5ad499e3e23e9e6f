"""Find, start, watch and stop a tritonserver process. No Textual, no tritonclient at import time.

Safety rules kept here, in one place:
- argv lists only, never a shell;
- HTTP, gRPC and metrics bind 127.0.0.1 unless an address is given explicitly;
- the server runs in its own process group; stop() sends SIGTERM to the group, then SIGKILL;
- the child gets PR_SET_PDEATHSIG, so it dies with the process that started it, even on SIGKILL of
  the console. (The signal fires when the *thread* that forked exits, so the server is spawned from
  its log-reader thread, which lives exactly as long as the server's output does.)
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import glob
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from triton_console.common.errors import ConsoleError
from triton_console.common.paths import SHM_PREFIX, state_dir
from triton_console.tui.core.server import bundled

LOG_LINES_KEPT = 50_000
# Triton's own log lines: its HTTP endpoint is up; a port was taken between the check and its bind
STARTED_HTTP = "Started HTTPService at"
PORT_TAKEN = "already in use"


# ------------------------------------------------------------------------------------------- locating


@dataclass(frozen=True)
class ServerBinary:
    """A tritonserver to run and what it needs around it."""

    path: str
    source: str  # "flag" | "env" | "path" | "bundled"
    backend_dir: str | None = None  # our own backend directory (bundled server only)
    env: dict[str, str] = field(default_factory=dict)  # extra environment for the server and its stubs


def locate(server: str = "auto") -> ServerBinary:
    """``auto``: $TRITONSERVER, then ``tritonserver`` on PATH, then the bundled one; or ``bundled`` or a path."""
    if server not in ("auto", "bundled"):
        path = Path(server).expanduser()
        if not path.is_file() or not os.access(path, os.X_OK):
            raise ConsoleError(f"--server {server}: no executable tritonserver there")
        return ServerBinary(str(path), "flag")
    if server == "auto":
        env = os.environ.get("TRITONSERVER")
        if env:
            if not (os.path.isfile(env) and os.access(env, os.X_OK)):
                raise ConsoleError(f"$TRITONSERVER={env} is not an executable file")
            return ServerBinary(env, "env")
        on_path = shutil.which("tritonserver")
        if on_path:
            return ServerBinary(on_path, "path")
    tree = bundled.root()
    if tree is None:
        raise ConsoleError(
            "no tritonserver found: not given with --server, not in $TRITONSERVER, not on PATH, "
            "and the nvidia-pytriton wheel (which bundles one) is not installed",
            hint="pip install nvidia-pytriton, or pass --server /path/to/tritonserver",
        )
    return ServerBinary(
        str(tree / "bin" / "tritonserver"),
        "bundled",
        str(bundled.backend_dir(tree)),
        bundled.environment(tree),
    )


# ------------------------------------------------------------------------------------------- config


def is_loopback(address: str) -> bool:
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(address).is_loopback
    return address == "localhost"


def bind_error(address: str, port: int) -> OSError | None:
    """Why ``port`` cannot be bound on ``address`` (None: it can): a bind as the server makes it, asking no one
    who holds it (that is :func:`port_holder`, a scan of every socket, for an error line only)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # As the server does: lingering TIME_WAIT connections from a previous run must not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
            s.listen(1)
        except OSError as exc:
            return exc
    return None


def check_port_free(address: str, port: int) -> None:
    """Raise a clear error if ``port`` cannot be bound on ``address``; one in use names its holder."""
    import errno

    if not 0 < port < 65536:
        raise ConsoleError(f"port {port} is out of range 1..65535")
    exc = bind_error(address, port)
    if exc is None:
        return
    said = (
        f"is already in use by {port_holder(port)}"
        if exc.errno == errno.EADDRINUSE
        else f"cannot be bound ({(exc.strerror or str(exc)).lower()})"
    )
    raise ConsoleError(
        f"port {port} on {address} {said}",
        hint="choose other ports (--http-port/--grpc-port/--metrics-port) or stop what holds it",
    )


def port_holder(port: int) -> str:
    """Who listens on TCP ``port`` on this machine, in words for an error line: ``pid 123 (python3)``, or that
    it cannot be told (another user's process, which only root may see, or a container's)."""
    import psutil

    try:
        bound = [c for c in psutil.net_connections(kind="tcp") if c.laddr and c.laddr.port == port]
    except (psutil.Error, OSError):
        return "a process that cannot be told here (the sockets table is not readable)"
    holding = [c for c in bound if c.status == psutil.CONN_LISTEN] or bound
    pids = sorted({c.pid for c in holding if c.pid is not None})
    if not pids:
        if holding:  # the socket is listed, its owner not: only root reads other users' /proc/PID/fd
            return "a process whose pid cannot be read here (another user's: sudo ss -ltnp names it)"
        return "a process not visible from here (another container's or network namespace's)"

    def named(pid: int) -> str:
        try:
            return f"pid {pid} ({psutil.Process(pid).name()})"
        except psutil.Error:
            return f"pid {pid} (its name cannot be read)"

    more = f" and {len(pids) - 2} more" if len(pids) > 2 else ""
    return ", ".join(named(p) for p in pids[:2]) + more


def holds_port(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` has a socket listening on TCP ``port`` (Linux /proc; None where unreadable)."""
    inodes: set[str] = set()
    try:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(FileNotFoundError), open(table) as fh:
                for row in fh.readlines()[1:]:
                    cols = row.split()
                    if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(f"socket:[{cols[9]}]")
        fds = os.scandir(f"/proc/{pid}/fd")
    except (OSError, ValueError):
        return None
    with fds:
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(fd.path) in inodes:
                    return True
    return False


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def free_layout(address: str = "127.0.0.1", tries: int = 50) -> int | None:
    """A gRPC port P with P-1 and P+1 free too (Triton's HTTP/gRPC/metrics layout), so that commands given
    ``-u HOST:P`` find all three; None when none turned up in ``tries``."""
    for _ in range(tries):
        port = free_port(address)
        if not 1 < port < 65535:
            continue
        if all(bind_error(address, p) is None for p in (port - 1, port, port + 1)):
            return port
    return None


def free_ports(n: int, address: str = "127.0.0.1") -> list[int]:
    """``n`` distinct free ports (held open together while choosing, so none repeats)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind((address, 0))
        return [s.getsockname()[1] for s in socks]


@dataclass
class ServerConfig:
    repository: Path
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    address: str = "127.0.0.1"
    model_control: str = "none"  # none | explicit
    load_models: list[str] = field(default_factory=list)  # explicit mode: models to load at start ("*" = all)
    exit_timeout_s: int = 5
    log_verbose: int = 0
    # CUDA memory pool per GPU for GPU tensors between models (Triton's default, 64 MiB, holds only ~100
    # preprocessed images): None = 1 GiB on each visible NVIDIA GPU, 0 = leave Triton's default
    cuda_pool_mb: int | None = None
    extra_args: list[str] = field(default_factory=list)
    # Triton's trace file: it cannot be set over the network, so the server starts with one (level OFF until
    # `trace` asks); ManagedServer picks one in the state directory when None
    trace_file: Path | None = None

    def check_ports(self) -> None:
        """Each port free to bind, else one ConsoleError naming the port and what holds it; and the three
        distinct."""
        for port in (self.http_port, self.grpc_port, self.metrics_port):
            check_port_free(self.address, port)
        if len({self.http_port, self.grpc_port, self.metrics_port}) < 3:
            raise ConsoleError("HTTP, gRPC and metrics ports must differ")

    def warnings(self) -> list[str]:
        out = []
        if not is_loopback(self.address):
            out.append(f"the server will listen on {self.address}, reachable from other machines")
            if self.model_control == "explicit":
                out.append(
                    "model-control explicit on a non-local address lets anyone who reaches it load/unload models"
                )
        return out


DEFAULT_CUDA_POOL_MB = 1024


def visible_gpus() -> int:
    """How many NVIDIA GPUs the server will see, without loading CUDA (device nodes, CUDA_VISIBLE_DEVICES)."""
    nodes = len(glob.glob("/dev/nvidia[0-9]*"))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return nodes
    ids = [v for v in visible.split(",") if v.strip() and not v.strip().startswith("-")]
    return min(len(ids), nodes)


def sweep_stale_shm(root: Path = Path("/dev/shm")) -> list[Path]:
    """Remove shared-memory regions of ours whose console process is gone: a console killed with SIGKILL
    cannot clean up after its server (and a server killed hard cannot either). The console's pid is part of
    every name it gives (``triton_console_<pid>_…``), so a live console's regions are never touched."""
    removed = []
    if not root.is_dir():
        return removed
    for path in root.glob(f"{SHM_PREFIX}*"):
        pid = path.name[len(SHM_PREFIX) :].split("_", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def build_argv(binary: ServerBinary, cfg: ServerConfig, shm_prefix: str) -> list[str]:
    """The tritonserver command line (an argv list; nothing here is ever passed to a shell)."""
    if cfg.model_control not in ("none", "explicit", "poll"):
        raise ConsoleError(f"--model-control must be none or explicit, not {cfg.model_control!r}")
    argv = [
        binary.path,
        f"--model-repository={Path(cfg.repository).resolve()}",
        f"--http-address={cfg.address}",
        f"--http-port={cfg.http_port}",
        f"--grpc-address={cfg.address}",
        f"--grpc-port={cfg.grpc_port}",
        f"--metrics-address={cfg.address}",
        f"--metrics-port={cfg.metrics_port}",
        "--allow-metrics=true",
        f"--model-control-mode={cfg.model_control}",
        "--exit-on-error=false",  # a model that fails to load is reported, not fatal
        "--strict-readiness=false",
        f"--exit-timeout-secs={cfg.exit_timeout_s}",
        f"--log-verbose={cfg.log_verbose}",
        f"--backend-config=python,shm-region-prefix-name={shm_prefix}",
    ]
    if binary.backend_dir:
        argv.append(f"--backend-directory={binary.backend_dir}")
    pool_mb = DEFAULT_CUDA_POOL_MB if cfg.cuda_pool_mb is None else cfg.cuda_pool_mb
    if pool_mb > 0:
        argv += [f"--cuda-memory-pool-byte-size={gpu}:{pool_mb * 2**20}" for gpu in range(visible_gpus())]
    if cfg.model_control == "explicit":
        argv += [f"--load-model={m}" for m in cfg.load_models]
    if cfg.trace_file is not None and not any(a.startswith("--trace-config") for a in cfg.extra_args):
        argv += [f"--trace-config=triton,file={cfg.trace_file}", "--trace-config=level=OFF"]
    return argv + list(cfg.extra_args)


# ------------------------------------------------------------------------------------------- process


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


LogListener = Callable[[str], None]


class ManagedServer:
    """One tritonserver child process: start, wait for readiness, stream its log, stop it cleanly."""

    binds_ports = True  # the child itself listens on the ports (not so for a container: Docker's proxy does)

    def __init__(self, cfg: ServerConfig, binary: ServerBinary | None = None):
        self.shm_prefix = f"{SHM_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}_"
        if cfg.trace_file is None:
            cfg = replace(cfg, trace_file=state_dir() / "traces" / f"{self.shm_prefix}trace.json")
        self.cfg = cfg
        self.binary = binary or locate()
        self.argv = build_argv(self.binary, cfg, self.shm_prefix)
        self.log: collections.deque[str] = collections.deque(maxlen=LOG_LINES_KEPT)
        self._listeners: list[LogListener] = []
        self._proc: subprocess.Popen | None = None
        self._spawned = threading.Event()
        self._spawn_error: BaseException | None = None
        self._reader: threading.Thread | None = None
        self.started_at: float | None = None
        self._stopping = False
        # Set when this server's own log says its HTTP endpoint is up: until then an answer on its port may
        # come from another server that holds it (Triton binds only after loading every model)
        self._http_started = threading.Event()

    @property
    def kind(self) -> str:
        """What runs: "bundled" (the wheel's server) or "binary" (a tritonserver of the user's)."""
        return "bundled" if self.binary.source == "bundled" else "binary"

    # -- log
    def add_listener(self, fn: LogListener) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: LogListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(fn)

    # -- state
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def http_url(self) -> str:
        return f"{_host(self.cfg.address)}:{self.cfg.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"{_host(self.cfg.address)}:{self.cfg.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{_host(self.cfg.address)}:{self.cfg.metrics_port}/metrics"

    def uptime(self) -> float:
        return time.monotonic() - self.started_at if self.started_at and self.is_running() else 0.0

    # -- lifecycle
    def start(self) -> None:
        """Spawn the server (ports are checked first); returns once the process exists."""
        if self.is_running():
            return
        sweep_stale_shm()
        if self.cfg.trace_file is not None:
            with contextlib.suppress(OSError):  # Triton writes traces there but makes no folder
                Path(self.cfg.trace_file).parent.mkdir(parents=True, exist_ok=True)
        repo = Path(self.cfg.repository)
        if not repo.is_dir():
            raise ConsoleError(
                f"model repository {repo} does not exist",
                hint="build one first: triton-console build --model efficientnet-lite0 --weights imagenet",
            )
        self.cfg.check_ports()
        self._spawned.clear()
        self._spawn_error = None
        self._stopping = False
        self._reader = threading.Thread(target=self._run, name="tritonserver-log", daemon=True)
        self._reader.start()
        self._spawned.wait()
        if self._spawn_error is not None:
            raise ConsoleError(f"cannot start {self.binary.path}: {self._spawn_error}") from self._spawn_error
        self.started_at = time.monotonic()

    def _run(self) -> None:
        env = dict(os.environ)
        for key, value in self.binary.env.items():
            env[key] = value + (os.pathsep + env[key] if env.get(key) and key.endswith("PATH") else "")
        try:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # own process group: stop() signals the stubs too
                preexec_fn=_set_pdeathsig,
                bufsize=1,
                text=True,
                errors="replace",
            )
        except OSError as exc:
            self._spawn_error = exc
            self._spawned.set()
            return
        self._spawned.set()
        _register(self)
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._emit(line.rstrip("\n"))
        self._proc.wait()
        code = self._proc.returncode
        if not self._stopping:
            self._emit(f"[triton-console] tritonserver exited unexpectedly with code {code}")
        self._cleanup_shm()
        _unregister(self)

    def _emit(self, line: str) -> None:
        self.log.append(line)
        if STARTED_HTTP in line:
            self._http_started.set()
        for fn in list(self._listeners):
            with contextlib.suppress(Exception):
                fn(line)

    def wait_ready(self, timeout: float = 120.0, cancel: threading.Event | None = None) -> None:
        """Block until the HTTP endpoint answers (model loading is over by then) or fail with the log."""
        import http.client
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout
        url = f"http://{self.http_url}/v2/health/live"
        while time.monotonic() < deadline:
            if not self.is_running():
                raise ConsoleError(
                    f"tritonserver exited with code {self.returncode} before it was ready:\n"
                    + self.error_summary(),
                    exit_code=1,
                )
            if cancel is not None and cancel.is_set():
                raise ConsoleError("start cancelled", exit_code=130)
            with (
                # HTTPException: whatever answers before Triton binds may not speak HTTP; on a port in the
                # ephemeral range the probe can even connect to itself (TCP simultaneous open) and read its
                # own request back ("BadStatusLine: GET /v2/health/live", seen in CI)
                contextlib.suppress(urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError),
                urllib.request.urlopen(url, timeout=1) as resp,
            ):
                if resp.status == 200 and self._answers_itself():
                    return
            time.sleep(0.1)
        raise ConsoleError(
            f"tritonserver not ready after {timeout:.0f} s:\n" + self.error_summary(), exit_code=1
        )

    def _answers_itself(self) -> bool:
        """Whether the answer on the HTTP port came from this server, not from another that holds the port:
        Triton binds only after loading every model, so a port checked free at the start can be taken
        meanwhile (two consoles starting at once), and then the other server answers while this one dies."""
        if not self.is_running():
            return False
        holds = (
            holds_port(self.pid, self.cfg.http_port) if self.binds_ports and self.pid is not None else None
        )
        if holds is not None:  # Linux: exact
            return holds
        logs_info = not any(a.replace(" ", "") in ("--log-info=false", "--log-info=0") for a in self.argv)
        return self._http_started.is_set() or not logs_info

    def port_taken(self) -> bool:
        """Whether the server failed because one of its ports was taken after the console checked it."""
        return not self.is_running() and any(PORT_TAKEN in ln for ln in self.log)

    def error_summary(self, lines: int = 12) -> str:
        """The log lines that explain a failure (errors first), for messages shown to the user."""
        errors = [ln for ln in self.log if " E" in ln[:3] or "error" in ln.lower()]
        chosen = errors[-lines:] if errors else list(self.log)[-lines:]
        return "\n".join("  " + ln for ln in chosen) or "  (no output)"

    def stop(self, grace: float = 15.0) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds; returns the exit code."""
        proc = self._proc
        if proc is None:
            return None
        self._stopping = True
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._emit(f"[triton-console] no exit after {grace:.0f} s: SIGKILL")
        # Whatever is left in the group (stubs included) goes now.
        _signal_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=5)
        self._cleanup_shm()
        self._cleanup_traces()
        _unregister(self)
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL without grace (tests of crash recovery use it)."""
        if self._proc is not None:
            _signal_group(self._proc.pid, signal.SIGKILL)

    def _cleanup_shm(self) -> None:
        """A server killed hard leaves its Python-backend shared memory in /dev/shm; remove ours."""
        shm = Path("/dev/shm")
        if shm.is_dir():
            for p in shm.glob(f"{self.shm_prefix}*"):
                with contextlib.suppress(OSError):
                    p.unlink()

    def _cleanup_traces(self) -> None:
        """The trace files of a server the console chose them for (the state directory would fill up)."""
        tf = self.cfg.trace_file
        if tf is not None and tf.name.startswith(self.shm_prefix):
            for p in tf.parent.glob(f"{tf.name}*"):
                with contextlib.suppress(OSError):
                    p.unlink()

    def __enter__(self) -> ManagedServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _host(address: str) -> str:
    if address in ("0.0.0.0", "::", ""):
        return "localhost"
    return f"[{address}]" if ":" in address else address


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


# Every server this process started, so an atexit/signal path can stop them all.
_LIVE: set[ManagedServer] = set()
_LIVE_LOCK = threading.Lock()


def _register(server: ManagedServer) -> None:
    with _LIVE_LOCK:
        _LIVE.add(server)


def _unregister(server: ManagedServer) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(server)


def stop_all(grace: float = 10.0) -> None:
    with _LIVE_LOCK:
        servers = list(_LIVE)
    for s in servers:
        s.stop(grace)


def install_exit_handlers() -> None:
    """Stop our servers on interpreter exit and on SIGTERM/SIGHUP (a closed SSH session)."""
    import atexit

    atexit.register(stop_all)

    def handler(signum, _frame):
        stop_all()
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not the main thread
            signal.signal(sig, handler)
