"""The console's connection and server lifecycle, without any UI: what the app's workers call.

One :class:`ServerController` holds the active client and, when the console started one, the managed
server. Its methods block (they run in worker threads) and return plain results; the app turns those into
messages. Starting a kind of server is :func:`server.launcher_for`'s business, so a new kind (Docker, a
given binary) is a new class there, not a branch here.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import server as srv
from .client import TIMEOUT, UNREACHABLE, TritonClient
from .connection import Connection
from .errors import ConsoleError
from .responses import IndexEntry, ServerMetadata

Notify = Callable[[str, str], None]  # (text, severity "information" | "warning" | "error")


@dataclass
class ServerSnapshot:
    """What one poll of the server found. Partial failures are listed in ``problems``, not hidden."""

    url: str
    live: bool = False
    ready: bool = False
    server: ServerMetadata | None = None
    error: str | None = None  # why the server could not be reached at all
    problems: list[str] = field(
        default_factory=list
    )  # "statistics failed: …", "3 index entries not shown: …"
    managed: bool = False
    kind: str = ""  # "bundled", "binary", "docker" for a managed server
    pid: int | None = None
    uptime_s: float = 0.0
    model_control: str | None = None  # known for a managed server only
    ports: str = ""
    models: list[IndexEntry] = field(default_factory=list)
    models_from: str = ""  # "repository index" | "model list" | "" (none: the server offers neither)

    @property
    def ready_models(self) -> list[str]:
        return [m.name for m in self.models if m.state == "READY"]


BIG_INDEX = 2000  # an index this long is fetched every BIG_INDEX_EVERY polls, not every poll
BIG_INDEX_EVERY = 10
MODEL_LIST_READINESS = 500  # without an index, readiness is one call per model: ask for this many at most


def list_models(client: TritonClient) -> tuple[list[IndexEntry], str, list[str]]:
    """The server's models with their state: its repository index, else its model list (readiness asked per
    model), else nothing. Returns (models, where they came from, problems). Raises only when unreachable."""
    try:
        parsed = client.repository_index()
        return parsed.items, "repository index", parsed.problems[:20]
    except ConsoleError as exc:
        if exc.code in (UNREACHABLE, TIMEOUT):
            raise
        index_error = exc.message
    try:
        parsed = client.model_list()
    except ConsoleError as exc:
        if exc.code in (UNREACHABLE, TIMEOUT):
            raise
        return [], "", [f"no repository index ({index_error}) and no model list"]
    models = []
    for entry in parsed.items[:MODEL_LIST_READINESS]:
        try:
            state = "READY" if client.is_model_ready(entry.name) else "UNAVAILABLE"
        except ConsoleError:
            state = ""
        models.append(replace(entry, state=state))
    return models, "model list", parsed.problems[:20]


class ServerController:
    """Holds the connection and the managed server; every method that talks to a server blocks."""

    def __init__(
        self,
        connection: Connection,
        repository: Path,
        server: str = "auto",
        on_log: Callable[[str], None] | None = None,
    ) -> None:
        self.connection = connection
        self.repository = repository
        self.server_choice = server
        self.on_log = on_log
        self.client = TritonClient(connection=connection)
        self.managed: srv.ManagedServer | None = None
        self._lock = threading.Lock()
        self._last: ServerSnapshot | None = None  # the last full model list, reused between big-index fetches
        self._skipped = 0

    # ------------------------------------------------------------------ connection
    def connect(self, url: str | None, protocol: str | None) -> TritonClient:
        """Switch to another URL (raises ConsoleError for a bad one; the old client stays then)."""
        client = TritonClient(connection=self.connection.with_url(url or None, protocol))
        old, self.client = self.client, client
        old.close()
        return client

    def poll(self, force: bool = False) -> ServerSnapshot:
        """Health, server metadata and the model list, each failure reported for what it is.

        A big model list (thousands of models) is fetched every BIG_INDEX_EVERY polls unless ``force``:
        health stays live every poll, and the console does not parse 20,000 entries a second."""
        client = self.client
        snap = ServerSnapshot(url=client.url)
        m = self.managed
        if m is not None and m.is_running():
            snap.managed, snap.kind, snap.pid, snap.uptime_s = True, m.kind, m.pid, m.uptime()
            snap.model_control = m.cfg.model_control
            snap.ports = f"http {m.cfg.http_port} grpc {m.cfg.grpc_port} metrics {m.cfg.metrics_port}"
        try:
            snap.live = client.is_live()
        except ConsoleError as exc:
            snap.error = exc.message
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
            snap.models, snap.models_from = last.models, last.models_from
            snap.problems += [p for p in last.problems if p not in snap.problems]
            return snap
        self._skipped = 0
        try:
            snap.models, snap.models_from, problems = list_models(client)
            snap.problems += problems
        except ConsoleError as exc:
            snap.problems.append(f"models: {exc.message}")
        self._last = snap
        return snap

    # ------------------------------------------------------------------ managed server
    def server_config(self, notify: Notify) -> srv.ServerConfig:
        """The URL's ports where they are local and free, else free ones (and say so)."""
        ports = [8000, 8001, 8002]
        ep = self.client.endpoint
        if srv.is_loopback(ep.host) or ep.host == "localhost":
            ports[0 if ep.protocol == "http" else 1] = ep.port
        try:
            for p in ports:
                srv.check_port_free("127.0.0.1", p)
        except ConsoleError as exc:
            ports = srv.free_ports(3)
            notify(f"{exc.message}; using ports {ports}", "warning")
        return srv.ServerConfig(self.repository, *ports, model_control="explicit", load_models=["*"])

    def start(self, notify: Notify) -> str:
        """Start a server on the repository, wait until it answers, connect to it; returns the new URL."""
        with self._lock:
            if self.managed is not None and self.managed.is_running():
                return self.client.url
            cfg = self.server_config(notify)
            server = srv.make_server(self.server_choice, cfg)
            if self.on_log is not None:
                server.add_listener(self.on_log)
            self.managed = server
        notify(f"starting {server.kind} tritonserver on {cfg.repository}…", "information")
        try:
            server.start()
            server.wait_ready(timeout=300)
        except ConsoleError:
            server.stop()
            raise
        url = server.grpc_url if self.client.protocol == "grpc" else server.http_url
        conn = replace(self.connection.with_url(url, self.client.protocol), metrics_url=server.metrics_url)
        old, self.client = self.client, TritonClient(connection=conn)
        old.close()
        return self.client.url

    def stop(self) -> int | None:
        server = self.managed
        return server.stop() if server is not None else None

    def is_managed_running(self) -> bool:
        return self.managed is not None and self.managed.is_running()

    def log_lines(self) -> list[str]:
        return list(self.managed.log) if self.managed is not None else []

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):
            if self.managed is not None:
                self.managed.stop(grace=5)
        self.client.close()
