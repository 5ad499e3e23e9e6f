"""Every configured server at a glance, refreshed in parallel: one server down or slow never slows the others.

Each refresh asks each server, in its own thread and within ``budget`` seconds, for liveness (timed: the
round trip), readiness, its name and version, its models (ready/total) and its inference count (a rate
between refreshes). A server that has not answered when the budget is spent is shown as slow; its thread
finishes on its own (every call has its own timeout).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client.client import TritonClient
from triton_console.tui.core.client.contexts import ServerEntry
from triton_console.tui.core.server.controller import list_models


@dataclass(frozen=True)
class FleetRow:
    name: str
    url: str
    live: bool = False
    ready: bool = False
    server: str = ""  # "triton 2.51.0"
    models_ready: int = 0
    models_total: int = 0
    ping_ms: float | None = None
    rate: float | None = None  # inferences per second since the last refresh
    error: str | None = None
    rate_pending: bool = False  # no rate yet: this refresh's count is the first (a rate at the next)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "url": self.url,
            "live": self.live,
            "ready": self.ready,
            "server": self.server,
            "models_ready": self.models_ready,
            "models_total": self.models_total,
            "ping_ms": None if self.ping_ms is None else round(self.ping_ms, 2),
            "inferences_per_s": None if self.rate is None else round(self.rate, 2),
            "error": self.error,
        }


class InferenceRate:
    """A server's inferences per second between two samples: its statistics API's inference counts, summed
    over every model. Each fleet row's rate, and the Servers pane's row of the active server.

    A count is cumulative since the server started and the server says nothing of when that was, so the
    first sample of a URL gives no rate: :attr:`pending` says so (a rate at the next sample), where a
    failed statistics call leaves it False. Samples closer than ``min_gap`` seconds to the base give the
    last rate again and keep the base (a rate over a few ms of counts is noise)."""

    def __init__(self, min_gap: float = 0.5) -> None:
        self._last: tuple[str, float, int] | None = None  # url, when, count
        self._rate: float | None = None
        self.min_gap = min_gap
        self.pending = False  # the last sample set the base: no rate yet

    def sample(self, client: TritonClient) -> float | None:
        """None at the first sample of a URL (it sets the base: :attr:`pending`) and where the statistics
        call fails."""
        self.pending = False
        try:
            count = sum(s.inference_count for s in client.model_statistics().items)
        except ConsoleError:
            return None
        now = time.monotonic()
        last = self._last
        if last is not None and last[0] == client.url and now - last[1] < self.min_gap:
            self.pending = self._rate is None
            return self._rate
        self._last = (client.url, now, count)
        if last is None or last[0] != client.url or now <= last[1]:
            self._rate, self.pending = None, True
            return None
        self._rate = max(0.0, (count - last[2]) / (now - last[1]))
        return self._rate


def probe(
    name: str,
    client: TritonClient,
    rates: InferenceRate,
    models: list[str] | None = None,
    first_call: bool = False,
) -> FleetRow:
    """One server's row: liveness (timed: the ping), readiness, name and version, models, inference rate.

    ``first_call``: the client has not answered before, so its first call also makes the connection (and
    imports the protocol's client): 115-245 ms on localhost where the pane said <1 ms. The ping is then a
    second round trip, on the established connection."""
    row = FleetRow(name, client.url)
    try:
        t0 = time.perf_counter()
        live = client.is_live()
        if first_call:
            t0 = time.perf_counter()
            live = client.is_live()
        row = replace(row, live=live, ping_ms=(time.perf_counter() - t0) * 1000.0)
        if not live:
            return replace(row, error="answers, but not live")
        row = replace(row, ready=client.is_ready())
        meta = client.server_metadata()
        found, _source, _problems = list_models(client, list(models or []))
        row = replace(
            row,
            server=meta.title,
            models_total=len(found),
            models_ready=sum(m.state == "READY" for m in found),
        )
        return replace(row, rate=rates.sample(client), rate_pending=rates.pending)
    except ConsoleError as exc:
        return replace(row, error=exc.message)


class Fleet:
    def __init__(self, entries: list[ServerEntry], budget: float = 2.0) -> None:
        self.entries = list(entries)
        self.budget = budget
        self._clients: dict[str, TritonClient] = {}
        self._rates: dict[str, InferenceRate] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, min(64, len(self.entries))), thread_name_prefix="fleet"
        )
        self._busy: dict[str, object] = {}
        self._connected: set[str] = set()  # the entries whose client has answered once (see _one)

    def _client(self, e: ServerEntry) -> TritonClient:
        with self._lock:
            c = self._clients.get(e.name)
            if c is None:
                conn = e.connection()
                conn = replace(conn, timeout=min(conn.timeout, self.budget))
                c = self._clients[e.name] = TritonClient(connection=conn)
            return c

    def _one(self, e: ServerEntry) -> FleetRow:
        try:
            client = self._client(e)
        except ConsoleError as exc:
            return FleetRow(e.name, e.url, error=exc.message)
        first = e.name not in self._connected
        row = probe(e.name, client, self._rates.setdefault(e.name, InferenceRate()), list(e.models), first)
        if row.ping_ms is not None:
            self._connected.add(e.name)
        return row

    def refresh(self) -> list[FleetRow]:
        """One row per server, in the configured order, within the budget (plus a little scheduling)."""
        futures = {}
        for e in self.entries:
            pending = self._busy.get(e.name)
            if pending is not None and not pending.done():
                continue  # still waiting on the last refresh: do not pile threads on a slow server
            futures[e.name] = self._busy[e.name] = self._pool.submit(self._one, e)
        wait(list(futures.values()), timeout=self.budget + 0.2)
        rows = []
        for e in self.entries:
            f = futures.get(e.name) or self._busy.get(e.name)
            if f is not None and f.done():
                rows.append(f.result())
            else:
                rows.append(FleetRow(e.name, e.url, error=f"no answer within {self.budget:g} s (slow)"))
        return rows

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for c in self._clients.values():
            c.close()
