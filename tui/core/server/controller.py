"""The console's connection and server lifecycle, without any UI: what the app's workers call.

One :class:`ServerController` holds the active client and, when the console started one, the managed
server. Its methods block (they run in worker threads) and return plain results; the app turns those into
messages. Starting a kind of server is :func:`server.launcher_for`'s business, so a new kind (Docker, a
given binary) is a new class there, not a branch here.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client import responses as rs
from triton_console.tui.core.client.client import TritonClient
from triton_console.tui.core.client.codes import no_answer
from triton_console.tui.core.client.connection import Connection
from triton_console.tui.core.client.health import Verdict
from triton_console.tui.core.client.responses import IndexEntry, ServerMetadata
from triton_console.tui.core.server import explain, kinds
from triton_console.tui.core.server import process as srv

Notify = Callable[[str, str], None]  # (text, severity "information" | "warning" | "error")


@dataclass(frozen=True)
class Capabilities:
    """What a v2 server offers, from its metadata's extensions and from what actually answered."""

    index: bool = False  # Triton's repository index
    model_list: bool = False  # KServe's GET /v2/models
    model_control: bool = False  # load/unload
    config: bool = False  # model configuration
    statistics: bool = False
    classification: bool = False
    metrics: bool = False  # the Prometheus endpoint
    system_shm: bool = False
    cuda_shm: bool = False

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def notes(self) -> list[str]:
        """One line per missing capability: what the console does instead."""
        out = []
        if not self.index and not self.model_list:
            out.append(
                "no repository index or model list: models are the ones you name (-m, or a in the Models pane)"
            )
        elif not self.index:
            out.append("no repository index: models from its model list, readiness asked per model")
        if not self.statistics:
            out.append("no statistics: latency from the client only")
        if not self.classification:
            out.append("no classification extension: top-k on the client")
        if not self.metrics:
            out.append("no metrics endpoint")
        if not self.model_control:
            out.append("no model control: load/unload unavailable")
        return out


def detect_capabilities(
    client: TritonClient, server: ServerMetadata | None, models_from: str
) -> Capabilities:
    """Ask once per server: extensions say most of it; statistics and metrics are tried for real."""
    exts = set(server.extensions) if server else set()
    statistics = metrics = False
    try:
        client.model_statistics()
        statistics = True
    except ConsoleError:
        statistics = False
    try:
        client.metrics()
        metrics = True
    except ConsoleError:
        metrics = False
    return Capabilities(
        index=models_from == "repository index",
        model_list=models_from == "model list",
        model_control=bool(exts & {"model_repository", "model_repository_extension"}),
        config="model_configuration" in exts,
        statistics=statistics,
        classification="classification" in exts,
        metrics=metrics,
        system_shm="system_shared_memory" in exts,
        cuda_shm="cuda_shared_memory" in exts,
    )


def commands_need(http: int, grpc: int, metrics: int, protocol: str) -> str:
    """The connection flags headless commands need for the console's own server on these ports, over the
    protocol the console was given: its ``-u``, ``--metrics-url`` where metrics is not where Triton's layout
    puts it (one above gRPC, two above HTTP), and the other protocol's URL when its port is not beside."""
    if protocol == "http":
        flags, layout = f"-u http://127.0.0.1:{http}", http + 2
        other = "" if grpc == http + 1 else f" (over gRPC: -u 127.0.0.1:{grpc})"
    else:
        flags, layout = f"-u 127.0.0.1:{grpc}", grpc + 1
        other = "" if http == grpc - 1 else f" (over HTTP: -u http://127.0.0.1:{http})"
    if metrics != layout:
        flags += f" --metrics-url http://127.0.0.1:{metrics}/metrics"
    return f"commands need {flags}{other}"


@dataclass
class ServerSnapshot:
    """What one poll of the server found. Partial failures are listed in ``problems``, not hidden."""

    url: str
    live: bool = False
    ready: bool = False
    server: ServerMetadata | None = None
    error: str | None = None  # why the server could not be reached at all
    error_code: str | None = (
        None  # that error's code ("unreachable", "tls", ...), as the commands' JSON says it
    )
    ping_ms: float | None = None  # the liveness call's round trip (the Servers pane's ping, as the fleet's)
    problems: list[str] = field(
        default_factory=list
    )  # "statistics failed: …", "3 index entries not shown: …"
    managed: bool = False  # the URL shown is the console's own server, and it runs (pid, uptime, ports)
    kind: str = ""  # "bundled", "binary", "docker" for a managed server
    # the console's own server, whichever URL is shown: "" (none), starting, running, stopping, stopped
    managed_phase: str = ""
    managed_here: bool = False  # the URL shown is the console's own server's, running or not
    managed_running: bool = False  # the console's own server runs, whichever URL is shown
    exit_code: int | None = None  # the console's own server's, once stopped
    polled: bool = True  # False: nothing asked of this URL yet (the Server pane says "connecting…")
    pid: int | None = None
    uptime_s: float = 0.0
    model_control: str | None = None  # known for a managed server only
    ports: str = ""
    # the console's own server's start: which ports were taken, by whom, what it uses and what commands need
    start_note: str = ""
    models: list[IndexEntry] = field(default_factory=list)
    models_from: str = ""  # "repository index" | "model list" | "names given" | "" (nothing to list)
    capabilities: Capabilities | None = None
    # models the console's own requests found broken (health.py), whatever the server says of them
    health: dict[str, Verdict] = field(default_factory=dict)
    # how ``models`` differs from the previous poll's list, worked out in the poll's thread (None: unknown)
    diff: ModelsDiff | None = None

    # Cached, and filled in the poll's thread (``settle``): with 20,000 models each is milliseconds that the
    # event loop, where the panes read them, should not spend at every poll.
    @cached_property
    def ready_models(self) -> list[str]:
        return [m.name for m in self.models if m.state == "READY"]

    @cached_property
    def ready_sorted(self) -> list[str]:
        return sorted(self.ready_models)

    @cached_property
    def by_name(self) -> dict[str, IndexEntry]:
        return {e.name: e for e in self.models}

    def settle(self, same_models_as: ServerSnapshot | None = None) -> ServerSnapshot:
        """Work out the cached views now (in the worker), before the snapshot reaches the event loop; a poll
        that reused an earlier snapshot's list reuses its views too (no 20,000-entry pass a second)."""
        views = ("ready_models", "ready_sorted", "by_name")
        if same_models_as is not None and same_models_as.models is self.models:
            self.__dict__.update(
                {v: same_models_as.__dict__[v] for v in views if v in same_models_as.__dict__}
            )
        _ = self.ready_sorted, self.by_name
        return self


@dataclass(frozen=True)
class ModelsDiff:
    """What changed between two polls' model lists. ``base`` is the earlier list itself: a reader holding that
    same list (compared by identity) may take ``changed`` instead of comparing every entry again."""

    base: list[IndexEntry]
    changed: frozenset[str]  # names in both lists whose entry differs
    same_names: bool  # the same set of names (none added, none gone)


def models_diff(old: list[IndexEntry], new: dict[str, IndexEntry]) -> ModelsDiff:
    """``new`` (by name) against the list ``old``: the names whose entry changed, and whether any came or went."""
    before = {e.name: e for e in old}
    changed = frozenset(n for n, e in new.items() if n in before and before[n] != e)
    return ModelsDiff(old, changed, before.keys() == new.keys())


BIG_INDEX = 2000  # an index this long is fetched every BIG_INDEX_EVERY polls, not every poll
BIG_INDEX_EVERY = 10
MODEL_LIST_READINESS = 500  # without an index, readiness is one call per model: ask for this many at most


def readiness(client: TritonClient, name: str) -> IndexEntry:
    """A model's state from its readiness call (for servers without an index); unknown models say why."""
    try:
        if client.is_model_ready(name):
            return IndexEntry(name, state="READY")
    except ConsoleError as exc:
        if no_answer(exc):
            raise
    return IndexEntry(name, state="UNAVAILABLE", reason=client.unavailable(name).message)


def list_models(
    client: TritonClient, given: list[str] | tuple[str, ...] = ()
) -> tuple[list[IndexEntry], str, list[str]]:
    """The server's models with their state: its repository index, else its model list, else the names the
    user gave (readiness asked per model for the last two). Returns (models, where they came from, problems).
    Raises only when the server cannot be reached."""
    try:
        parsed = client.repository_index()
        return parsed.items, "repository index", parsed.problems[:20]
    except ConsoleError as exc:
        if no_answer(exc):
            raise
        index_error = exc.message
    try:
        parsed = client.model_list()
        source = "model list"
    except ConsoleError as exc:
        if no_answer(exc):
            raise
        if not given:
            return [], "", [f"the server lists no models (no repository index: {index_error}; no model list)"]
        parsed, source = rs.Parsed([IndexEntry(n) for n in given]), "names given"
    names = [e.name for e in parsed.items[:MODEL_LIST_READINESS]]
    if source == "model list":  # names the user gave that the list does not have
        names += [n for n in given if n not in names]
    models = [readiness(client, name) for name in names]
    return models, source, parsed.problems[:20]


class ServerController:
    """Holds the connection and the managed server; every method that talks to a server blocks."""

    def __init__(
        self,
        connection: Connection,
        repository: Path,
        server: str = "auto",
        on_log: Callable[[str], None] | None = None,
        docker_site: str | None = "auto",
    ) -> None:
        self.connection = connection
        self.managed_connection: Connection | None = None  # how the managed server was connected at start
        self.repository = repository
        self.server_choice = server
        self.docker_site = docker_site
        self.on_log = on_log
        self.client = TritonClient(connection=connection)
        self.managed: srv.ManagedServer | None = None
        self._phase = ""  # "starting" / "stopping" while start() / stop() run; else "" (see managed_phase)
        # --start: from the console's first poll until its own server is ready (or failed to start), nothing is
        # sent to a URL that is not that server's (a newcomer's first image was classified by another console's
        # server holding the port, 2026-12); see holding()
        self._awaiting_start = False
        self.start_note = ""  # which ports the last start found taken and what it used instead ("" none)
        self._lock = threading.Lock()
        self._last: ServerSnapshot | None = None  # the last full model list, reused between big-index fetches
        self._skipped = 0
        self.given_models: list[str] = []  # names to ask about where the server lists none (-m, a)
        # the last request sent to each model from the Try form: (input specs, shapes, batch), what watch mode
        # sends again after a reload
        self.last_requests: dict[str, tuple[dict[str, str], dict[str, str], int]] = {}
        # the Classify pane's last image: (model, image path, scaling chosen there), what watch mode classifies
        # again after a reload of that model or of a step of it
        self.last_classified: tuple[str, str, str | None] | None = None
        # why the last load of a model failed, in the server's words (its index then says only "unloaded"):
        # the Models pane's l and the config editor record it, the Models detail shows it until it is READY
        self.load_failures: dict[str, str] = {}
        self._capabilities: dict[str, Capabilities] = {}

    # ------------------------------------------------------------------ connection
    def connect(self, url: str | None, protocol: str | None) -> TritonClient:
        """Switch to another URL (raises ConsoleError for a bad one; the old client stays then)."""
        client = TritonClient(connection=self.connection.with_url(url or None, protocol))
        old, self.client = self.client, client
        old.close()
        self.load_failures.clear()  # the last server's
        return client

    def poll(self, force: bool = False) -> ServerSnapshot:
        """Health, server metadata and the model list, each failure reported for what it is.

        A big model list (thousands of models) is fetched every BIG_INDEX_EVERY polls unless ``force``:
        health stays live every poll, and the console does not parse 20,000 entries a second."""
        client = self.client
        snap = self.unpolled()
        if self.holding():  # nothing asked of a server that is not the console's own while its start runs
            return snap
        snap.polled, snap.health = True, client.health.verdicts()
        m = self.managed
        if m is not None and snap.managed_here and m.is_running():
            snap.managed, snap.pid, snap.uptime_s = True, m.pid, m.uptime()
            snap.model_control = m.cfg.model_control
            snap.ports = f"http {m.cfg.http_port} grpc {m.cfg.grpc_port} metrics {m.cfg.metrics_port}"
        try:
            t0 = time.perf_counter()
            snap.live = client.is_live()
            snap.ping_ms = (time.perf_counter() - t0) * 1000.0
        except ConsoleError as exc:
            snap.error, snap.error_code = exc.message, exc.code
            return snap
        try:
            snap.ready = client.is_ready()
        except ConsoleError as exc:
            snap.problems.append(f"readiness: {exc.message}")
        try:
            snap.server = client.server_metadata()
        except ConsoleError as exc:
            snap.problems.append(f"server metadata: {exc.message}")
        last = self._last
        if (
            not force
            and last is not None
            and last.url == snap.url
            and len(last.models) >= BIG_INDEX
            and self._skipped < BIG_INDEX_EVERY - 1
        ):
            self._skipped += 1
            snap.models, snap.models_from, snap.capabilities = (
                last.models,
                last.models_from,
                last.capabilities,
            )
            snap.problems += [p for p in last.problems if p not in snap.problems]
            snap.diff = ModelsDiff(last.models, frozenset(), True)
            return snap.settle(same_models_as=last)
        self._skipped = 0
        try:
            snap.models, snap.models_from, problems = list_models(client, self.given_models)
            snap.problems += problems
            if snap.managed and snap.models_from == "repository index" and m is not None:
                snap.models += explain.unlisted(Path(m.cfg.repository), {e.name for e in snap.models})
        except ConsoleError as exc:
            snap.problems.append(f"models: {exc.message}")
        caps = self._capabilities.get(snap.url)
        if caps is None and snap.server is not None:
            caps = self._capabilities[snap.url] = detect_capabilities(client, snap.server, snap.models_from)
        snap.capabilities = caps
        if last is not None and last.url == snap.url and last.live:
            snap.diff = models_diff(last.models, snap.by_name)
        self._last = snap
        return snap.settle()

    # ------------------------------------------------------------------ managed server
    def server_config(self, notify: Notify) -> srv.ServerConfig:
        """Triton's port layout around the URL's port where the URL is local (HTTP = gRPC-1, metrics = gRPC+1,
        as 8000/8001/8002), so that commands given the same URL find all three; else the default ports. The
        URL's own port taken: three free ports in that layout instead; another one taken: that one alone is
        replaced. A notice says which, and ``start_note`` (the Server pane's state line) also who held them and
        the flags headless commands need."""
        grpc = 8001
        ep = self.client.endpoint
        if srv.is_loopback(ep.host):
            grpc = ep.port if ep.protocol == "grpc" else ep.port + 1
        wanted = {"HTTP": grpc - 1, "gRPC": grpc, "metrics": grpc + 1}
        taken: dict[str, str] = {}  # name → who holds it
        for name, port in wanted.items():
            if not 0 < port < 65536 or srv.bind_error("127.0.0.1", port) is not None:
                taken[name] = srv.port_holder(port)
        ports = dict(wanted)
        own = "HTTP" if ep.protocol == "http" else "gRPC"  # the URL's own port
        moved = srv.free_layout() if own in taken else None
        if moved is not None:  # all three together: commands given the new URL find them (one -u to say)
            ports = {"HTTP": moved - 1, "gRPC": moved, "metrics": moved + 1}
        elif taken:  # the URL's port free (or no free layout found): only the taken ones move
            spare = iter(p for p in srv.free_ports(len(taken) + 3) if p not in wanted.values())
            ports.update({name: next(spare) for name in taken})
        if taken:
            said = " and ".join(f"{name} port {wanted[name]} (held by {who})" for name, who in taken.items())
            used = ", ".join(f"{name} {port}" for name, port in ports.items())
            need = commands_need(ports["HTTP"], ports["gRPC"], ports["metrics"], ep.protocol)
            self.start_note = f"{said} {'was' if len(taken) == 1 else 'were'} taken; it uses {used}; {need}"
            names = " and ".join(f"{name} port {wanted[name]}" for name in taken)  # the pane keeps the rest
            notify(
                f"{names} {'is' if len(taken) == 1 else 'are'} not free: tritonserver uses {used}", "warning"
            )
        return srv.ServerConfig(
            self.repository,
            ports["HTTP"],
            ports["gRPC"],
            ports["metrics"],
            model_control="explicit",
            load_models=["*"],
        )

    def start(self, notify: Notify) -> str:
        """Start a server on the repository, wait until it answers, connect to it; returns the new URL.

        A port checked free can be taken before tritonserver binds it (it binds after loading every model):
        then the start is tried once more on free ports, and the notice says so."""
        self._awaiting_start = True
        try:
            return self._start(notify)
        finally:
            self._awaiting_start = False

    def _start(self, notify: Notify) -> str:
        with self._lock:
            if self.managed is not None and self.managed.is_running():
                return self.client.url
            self.start_note = ""
            cfg = self.server_config(notify)
        for attempt in (1, 2):
            with self._lock:
                server = kinds.make_server(self.server_choice, cfg, self.docker_site)
                if self.on_log is not None:
                    server.add_listener(self.on_log)
                self.managed = server
            notify(f"starting {server.kind} tritonserver on {cfg.repository}…", "information")
            self._phase = "starting"
            try:
                server.start()
                server.wait_ready(timeout=300)
                break
            except ConsoleError:
                server.stop()
                if attempt == 2 or not server.port_taken():
                    self._phase = ""  # it did not start: stopped, as it says
                    raise
                layout = srv.free_layout()
                ports = [layout - 1, layout, layout + 1] if layout is not None else srv.free_ports(3)
                need = commands_need(*ports, self.client.protocol)
                used = f"HTTP {ports[0]}, gRPC {ports[1]}, metrics {ports[2]}"
                self.start_note = f"a port was taken while it loaded its models; it uses {used}; {need}"
                notify(
                    f"a port was taken while tritonserver loaded its models; using {used}; {need}", "warning"
                )
                cfg = replace(cfg, http_port=ports[0], grpc_port=ports[1], metrics_port=ports[2])
        url = server.grpc_url if self.client.protocol == "grpc" else server.http_url
        conn = replace(self.connection.with_url(url, self.client.protocol), metrics_url=server.metrics_url)
        self.managed_connection = conn
        old, self.client = self.client, TritonClient(connection=conn)
        self._phase = ""  # running, and what the client talks to
        old.close()
        return self.client.url

    def connect_managed(self) -> TritonClient:
        """Back to the running managed server after another server was made active: as it was connected at
        start (its metrics URL, none of a servers-file entry's headers)."""
        conn = self.managed_connection
        if conn is None or not self.is_managed_running():
            raise ConsoleError("the managed server is not running")
        old, self.client = self.client, TritonClient(connection=conn)
        old.close()
        return self.client

    def stop(self) -> int | None:
        server = self.managed
        if server is None:
            return None
        self._phase = "stopping"
        try:
            return server.stop()
        finally:
            self._phase = "stopped"

    def expect_start(self) -> None:
        """The console was asked to start its own server (--start): hold every request until it is ready."""
        self._awaiting_start = True

    def holding(self) -> bool:
        """Whether requests are held: a start is awaited and the client does not talk to the console's own
        server (a port it wanted was taken, so the URL given is another server's)."""
        if not self._awaiting_start:
            return False
        m = self.managed
        return m is None or not self._serves(m)

    def is_managed_running(self) -> bool:
        return self.managed is not None and self.managed.is_running()

    def managed_phase(self) -> str:
        """The console's own server: "" (none), starting, running, stopping or stopped (by the console, or
        exited on its own)."""
        m = self.managed
        if m is None:
            return ""
        if self._phase in ("starting", "stopping"):
            return self._phase
        return "running" if m.is_running() else "stopped"

    def unpolled(self) -> ServerSnapshot:
        """The snapshot of the current URL before anything is asked of it: only what the console knows of its
        own server (the Server pane's "connecting…" after a switch)."""
        snap = ServerSnapshot(url=self.client.url, polled=False)
        m = self.managed
        if m is None and self._awaiting_start:
            snap.managed_phase = "starting"
        if m is not None or self._awaiting_start:
            snap.start_note = self.start_note
        if m is not None:
            snap.kind, snap.managed_phase, snap.managed_here = m.kind, self.managed_phase(), self._serves(m)
            snap.exit_code = m.returncode if snap.managed_phase == "stopped" else None
            snap.managed_running = m.is_running()
        return snap

    def _serves(self, m: srv.ManagedServer) -> bool:
        """Whether the client talks to ``m`` (its port over its protocol), running or not."""
        return self.client.url.endswith(m.grpc_url if self.client.protocol == "grpc" else m.http_url)

    def log_lines(self) -> list[str]:
        return list(self.managed.log) if self.managed is not None else []

    def shown_managed(self) -> srv.ManagedServer | None:
        """The managed server when it runs and is the one the client talks to (its log is about what is shown)."""
        m = self.managed
        return m if m is not None and m.is_running() and self._serves(m) else None

    def explain(self, entry: IndexEntry) -> explain.Explanation | None:
        """Why ``entry`` is not ready: with the managed server's log and repository when the console runs it."""
        m = self.shown_managed()
        if m is not None:
            return explain.explain(entry, list(m.log), Path(m.cfg.repository))
        return explain.explain(entry)

    def shutdown(self, stop_server: bool = True) -> None:
        """Close the client and, unless the caller stops it itself later (``stop_server=False``), the
        console's own server."""
        with contextlib.suppress(Exception):
            if stop_server and self.managed is not None:
                self.managed.stop(grace=5)
        self.client.close()
