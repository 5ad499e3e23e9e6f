"""Health as the user sees it: what the console's own requests to each model met, and the deadline that fits
each model.

Triton keeps saying READY for a model whose Python-backend stub died (every request then fails with "Stub
process … is not healthy") and for one whose requests never come back. The console keeps, per model, its
recent failures and calls a model *unhealthy* from the first failure of that kind until a request succeeds
again or the model is reloaded. The same record holds the latencies of recent successes, from which each
request's deadline is fitted: ``DEADLINE_FACTOR`` times the model's warm p99, never below
``DEADLINE_FLOOR_S`` and never above the connection's timeout.

A CLI command is one process: what it knows is what its own requests met (``status --probe`` sends one).
"""

from __future__ import annotations

import collections
import math
import threading
import time
from dataclasses import dataclass, field

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client.codes import STUB_UNHEALTHY, TIMEOUT, UNREACHABLE

DEADLINE_FACTOR = 10.0
DEADLINE_FLOOR_S = 5.0
WARM_SAMPLES = 5  # successes needed before the deadline is fitted (before: the connection's timeout)
KEPT_LATENCIES = 200
KEPT_FAILURES = 5
UNHEALTHY_CODES = (STUB_UNHEALTHY, TIMEOUT)  # failures that say the model, not the request, is broken

# errors by kind, as bench --json and the Bench pane count them
SERVER_ERROR, TIMEOUT_ERROR, CONNECTION_ERROR = "server error", "timeout", "connection"
KINDS = (SERVER_ERROR, TIMEOUT_ERROR, CONNECTION_ERROR)


def error_kind(exc: ConsoleError) -> str:
    """A failed request's kind: the server answered with an error, nothing came back in time, or there was
    no server to ask."""
    if exc.code == TIMEOUT:
        return TIMEOUT_ERROR
    if exc.code == UNREACHABLE:
        return CONNECTION_ERROR
    return SERVER_ERROR


@dataclass(frozen=True)
class Failure:
    at: float  # wall clock (time.time())
    kind: str
    message: str
    code: str | None = None

    def to_dict(self) -> dict:
        return {"at": _stamp(self.at), "kind": self.kind, "code": self.code, "error": self.message}


@dataclass(frozen=True)
class Verdict:
    """A model the console's own requests found broken: why, and since when."""

    model: str
    reason: str
    since: float  # wall clock of the first failure of the streak
    failures: int  # in a row

    def describe(self) -> str:
        return f"unhealthy since {time.strftime('%H:%M:%S', time.localtime(self.since))}: {self.reason}"

    def to_dict(self) -> dict:
        return {
            "state": "unhealthy",
            "reason": self.reason,
            "since": _stamp(self.since),
            "failures": self.failures,
        }


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t))


@dataclass
class _Model:
    latencies: collections.deque = field(default_factory=lambda: collections.deque(maxlen=KEPT_LATENCIES))
    failures: collections.deque = field(default_factory=lambda: collections.deque(maxlen=KEPT_FAILURES))
    streak: int = 0
    since: float | None = None
    reason: str = ""


class Health:
    """Per model: recent latencies and failures of this process's requests (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, _Model] = {}

    def _get(self, model: str) -> _Model:
        m = self._models.get(model)
        if m is None:
            m = self._models[model] = _Model()
        return m

    def ok(self, model: str, ms: float) -> None:
        with self._lock:
            m = self._get(model)
            m.latencies.append(ms)
            m.streak, m.since, m.reason = 0, None, ""

    def failed(self, model: str, exc: ConsoleError) -> None:
        with self._lock:
            m = self._get(model)
            m.failures.append(Failure(time.time(), error_kind(exc), exc.message, exc.code))
            if exc.code in UNHEALTHY_CODES:
                m.streak += 1
                if m.since is None:
                    m.since = time.time()
                m.reason = exc.message

    def reset(self, model: str) -> None:
        """After a (re)load: the old process's failures no longer say anything, nor do its latencies."""
        with self._lock:
            self._models.pop(model, None)

    def verdict(self, model: str) -> Verdict | None:
        with self._lock:
            m = self._models.get(model)
            if m is None or m.since is None:
                return None
            return Verdict(model, m.reason, m.since, m.streak)

    def verdicts(self) -> dict[str, Verdict]:
        with self._lock:
            names = [n for n, m in self._models.items() if m.since is not None]
        return {n: v for n in names if (v := self.verdict(n)) is not None}

    def failures(self, model: str) -> list[Failure]:
        with self._lock:
            m = self._models.get(model)
            return list(m.failures) if m else []

    def warm_p99(self, model: str) -> float | None:
        """p99 of recent successes in ms (None before ``WARM_SAMPLES`` of them)."""
        with self._lock:
            m = self._models.get(model)
            values = sorted(m.latencies) if m else []
        if len(values) < WARM_SAMPLES:
            return None
        return values[min(len(values) - 1, math.ceil(0.99 * len(values)) - 1)]

    def deadline(self, model: str, cap: float) -> float:
        """Seconds a request to ``model`` may take: 10x its warm p99, floored, capped at ``cap``."""
        p99 = self.warm_p99(model)
        if p99 is None:
            return cap
        return min(cap, max(DEADLINE_FLOOR_S, DEADLINE_FACTOR * p99 / 1000.0))
