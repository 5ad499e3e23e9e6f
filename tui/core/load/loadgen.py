"""The load generator behind ``bench`` and the Bench pane: any model, a concurrency sweep or fixed request
rates, warm-up kept out of the figures, the server-side breakdown per step (ensemble steps included), runs
saved as JSON and loaded again for comparison.

Concurrency mode works as perf_analyzer's: N requests in flight, each worker sending its next request when
the last one returns. Rate mode is open-loop: requests are due on schedule whether or not earlier ones have
returned; each one's latency runs from when it was due, not from when a worker got to it, so queueing in
the client is in the figures (no coordinated omission), and the late ones are counted.

Faults end a run instead of stalling it: every request has a deadline (the client's, fitted to the model or
``--timeout``), errors are counted by kind (server error, timeout, connection) with the first of each, and
no more requests are sent once the model or the server is known to be broken (a dead Python-backend stub,
the server gone, or a timeout on every worker in a row): a dead stub costs each request about a second of
the model's one instance, so sending the rest would take as many seconds as requests remain.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.classify import classifier
from triton_console.tui.core.classify import images as img
from triton_console.tui.core.client.client import (
    STUB_UNHEALTHY,
    TIMEOUT,
    UNREACHABLE,
    TritonClient,
    server_gone,
)
from triton_console.tui.core.client.health import KINDS, error_kind
from triton_console.tui.core.client.stats import Breakdown, LatencySummary, breakdown, statistics
from triton_console.tui.core.client.transport import InputTensor, OutputRequest
from triton_console.tui.core.request import infer

Progress = Callable[[int, int, float], None]  # (done, total, level)


@dataclass
class Workload:
    """The requests to cycle through, made once (images decoded and prepared before the clock starts)."""

    client: TritonClient
    model: str
    requests: list[tuple[list[InputTensor], list[OutputRequest]]]
    description: str
    batch: int = 1  # inferences per request
    shm: str = "none"

    def send(self, i: int) -> None:
        inputs, outputs = self.requests[i % len(self.requests)]
        self.client.infer(self.model, inputs, outputs)

    @contextlib.contextmanager
    def transport(self):
        """Inputs in shared memory for the duration (``shm`` system/cuda); freed however the block ends."""
        if self.shm == "none":
            yield self
            return
        from triton_console.tui.core.client.shm import Regions

        with contextlib.ExitStack() as stack:
            original = self.requests
            self.requests = [
                (stack.enter_context(Regions(self.client, self.shm, inputs)).request, outputs)
                for inputs, outputs in original
            ]
            try:
                yield self
            finally:
                self.requests = original


def image_workload(
    client: TritonClient, model: str, paths: list[str], scaling: str | None = None, per_request: int = 1
) -> Workload:
    """The images' requests; ``per_request`` > 1: k images in each (the files in turn, round-robin), for
    models whose image input has a batch dimension that can hold them (BYTES, tensors)."""
    files = img.read_all(paths, "send")
    info = client.model_info(model)
    route = classifier.image_path(info, client.server_metadata().extensions, scaling)
    k = max(1, per_request)
    datas = [f.data for f in files]
    groups = [[datas[(i * k + j) % len(datas)] for j in range(k)] for i in range(len(datas))]
    requests = [classifier.request_many(g, route) for g in groups]
    each = f", {k} per request" if k > 1 else ""
    return Workload(client, model, requests, f"{len(files)} image(s) as {route.describe()}{each}", batch=k)


def tensor_workload(
    client: TritonClient,
    model: str,
    specs: dict[str, str] | None = None,
    shapes: dict[str, str] | None = None,
    batch: int = 1,
    seed: int = 0,
    images_how: str | None = None,
) -> Workload:
    """Random (or given) tensors for every input; ``images_how``: as :func:`infer.plan_inputs` takes it."""
    info = client.model_info(model)
    plans = infer.plan_inputs(
        info,
        specs,
        shapes,
        batch=batch,
        seed=seed,
        limit=client.connection.max_response_bytes,
        images_how=images_how,
    )
    inputs = [InputTensor(p.name, p.datatype, p.array) for p in plans]
    outputs = [OutputRequest(t.name) for t in info.metadata.outputs]
    desc = ", ".join(f"{p.name} {p.datatype} {list(p.shape)} {p.source}" for p in plans)
    return Workload(client, model, [(inputs, outputs)], desc, batch=batch if info.batched else 1)


@dataclass
class Step:
    """One level of a sweep: a concurrency (requests in flight) or a request rate (per second)."""

    model: str
    url: str
    mode: str  # "concurrency" | "rate"
    level: float
    count: int
    errors: int
    seconds: float
    latency: LatencySummary
    batch: int = 1
    breakdown: Breakdown = field(default_factory=Breakdown)
    first_error: str | None = None
    late: int = 0  # rate mode: requests a worker picked up more than LATE_S after they were due
    by_kind: dict[str, int] = field(default_factory=dict)  # errors per kind (health.KINDS)
    first_by_kind: dict[str, str] = field(default_factory=dict)
    stopped: str | None = None  # why the step ended before all its requests were sent
    stop_code: str | None = None  # the hint code of the error that stopped it
    not_sent: int = 0
    deadline_s: float | None = None  # each request's deadline at the end of warm-up

    @property
    def throughput(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else math.nan

    def to_dict(self) -> dict:
        lat = self.latency

        def r(x: float) -> float | None:
            return round(x, 3) if not math.isnan(x) else None

        out = {"model": self.model, "url": self.url}
        out["concurrency" if self.mode == "concurrency" else "rate"] = self.level
        out.update(
            {
                "count": self.count,
                "errors": self.errors,
                "seconds": round(self.seconds, 3),
                "throughput": r(self.throughput),
                "inferences_per_s": r(self.throughput * self.batch),
                "latency_ms": {k: r(getattr(lat, k)) for k in ("mean", "p50", "p90", "p95", "p99")},
                "server": self.breakdown.to_dict(),
                "first_error": self.first_error,
                "errors_by_kind": {k: self.by_kind.get(k, 0) for k in KINDS},
                "first_error_by_kind": {k: self.first_by_kind.get(k) for k in KINDS},
                "stopped": self.stopped,
                "stop_code": self.stop_code,
                "not_sent": self.not_sent,
                "deadline_s": r(self.deadline_s) if self.deadline_s is not None else None,
            }
        )
        if self.mode == "rate":
            out["late"] = self.late
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Step:
        lat = d.get("latency_ms") or {}
        mode = "concurrency" if "concurrency" in d else "rate"
        nan = float("nan")
        summary = LatencySummary(
            d.get("count", 0),
            *(lat.get(k) if lat.get(k) is not None else nan for k in ("mean", "p50", "p90", "p95", "p99")),
        )
        return cls(
            d.get("model", ""),
            d.get("url", ""),
            mode,
            d.get(mode, 0),
            d.get("count", 0),
            d.get("errors", 0),
            d.get("seconds", 0),
            summary,
            first_error=d.get("first_error"),
            late=d.get("late", 0),
            by_kind={k: v for k, v in (d.get("errors_by_kind") or {}).items() if v},
            first_by_kind={k: v for k, v in (d.get("first_error_by_kind") or {}).items() if v},
            stopped=d.get("stopped"),
            stop_code=d.get("stop_code"),
            not_sent=d.get("not_sent", 0),
        )

    def render(self, width: int = 80) -> str:
        """The step in plain text; the server's per-step rows fit ``width`` columns (the step names' column as
        wide as the longest, a name too long for it on a line of its own with its figures beneath). Other long
        lines (an error) are left whole for the caller to wrap."""
        lat = self.latency
        unit = "in flight" if self.mode == "concurrency" else "req/s offered"
        lines = [
            f"{self.model} at {self.url}, {self.level:g} {unit}",
            f"  requests {self.count}  errors {self.errors}  throughput {self.throughput:.1f} req/s"
            + (f" ({self.throughput * self.batch:.1f} inferences/s)" if self.batch > 1 else ""),
            "  latency ms  "
            + (
                "  ".join(f"{k} {_ms(getattr(lat, k))}" for k in ("mean", "p50", "p90", "p95", "p99"))
                if self.count
                else "- (no successful request)"
            ),
        ]
        if not math.isnan(self.breakdown.ensemble_ms):
            lines.append(f"  server: {self.model} {self.breakdown.ensemble_ms:.2f} ms per request")
        steps = self.breakdown.steps
        # "    NAME queue 1234.56 ms  compute 1234.56 ms  avg batch 12.5": 57 cells besides the name
        name_w = min(max([len(s.model) for s in steps] + [5]), max(5, width - 57))
        for s in steps:
            figures = (
                f"queue {s.queue_ms:7.2f} ms  compute {s.compute_ms:7.2f} ms  avg batch {s.avg_batch:.1f}"
            )
            name = s.model
            if len(name) > name_w:
                lines.append(f"    {name}")
                name = ""
            lines.append(f"    {name:<{name_w}} {figures}")
        if self.mode == "rate":
            lines.append(
                f"  late {self.late} (picked up more than {LATE_S * 1000:.0f} ms after due; latency counts from due)"
            )
        if self.errors:
            kinds = ", ".join(f"{k} {self.by_kind[k]}" for k in KINDS if self.by_kind.get(k))
            lines.append(f"  errors by kind: {kinds}")
            for k in KINDS:
                if self.first_by_kind.get(k):
                    lines.append(f"    first {k}: {self.first_by_kind[k]}")
        if self.stopped:
            lines.append(f"  stopped early: {self.stopped}; {self.not_sent} request(s) not sent")
        return "\n".join(lines)

    @property
    def server_gone(self) -> bool:
        """The step stopped because the server could not be reached any more (bench then exits 2)."""
        return self.stop_code == UNREACHABLE


@dataclass
class StreamStep:
    """One level of a decoupled (streaming) model's run (:mod:`streambench`): N streams in flight or a
    request rate; time to first response (from when the request was due, in rate mode), the gaps between
    responses and responses per second. Saved and overlaid as :class:`Step` is."""

    model: str
    url: str
    mode: str  # "concurrency" | "rate"
    level: float
    count: int  # requests whose stream ended
    errors: int
    seconds: float
    responses: int
    ttft: LatencySummary
    itl: LatencySummary
    first_error: str | None = None
    late: int = 0  # rate mode: as Step.late

    @property
    def concurrency(self) -> int:
        return int(self.level) if self.mode == "concurrency" else 0

    @property
    def requests_per_s(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else math.nan

    @property
    def responses_per_s(self) -> float:
        return self.responses / self.seconds if self.seconds > 0 else math.nan

    def to_dict(self) -> dict:
        def r(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 3)

        out: dict = {"model": self.model, "url": self.url}
        out["concurrency" if self.mode == "concurrency" else "rate"] = (
            int(self.level) if self.mode == "concurrency" else self.level
        )
        out.update(
            {
                "count": self.count,
                "errors": self.errors,
                "seconds": round(self.seconds, 3),
                "requests_per_s": r(self.requests_per_s),
                "responses": self.responses,
                "responses_per_s": r(self.responses_per_s),
                "ttft_ms": {k: r(getattr(self.ttft, k)) for k in ("p50", "p95", "p99")},
                "itl_ms": {k: r(getattr(self.itl, k)) for k in ("p50", "p99")},
                "first_error": self.first_error,
            }
        )
        if self.mode == "rate":
            out["late"] = self.late
        return out

    @classmethod
    def from_dict(cls, d: dict) -> StreamStep:
        nan = float("nan")

        def summary(key: str, count: int) -> LatencySummary:
            got = d.get(key) or {}
            v = {k: got.get(k) if got.get(k) is not None else nan for k in ("p50", "p95", "p99")}
            if key == "itl_ms":
                v["p95"] = nan  # not kept for the gaps
            return LatencySummary(count, nan, v["p50"], nan, v["p95"], v["p99"])

        mode = "concurrency" if "concurrency" in d else "rate"
        count = d.get("count", 0)
        return cls(
            d.get("model", ""),
            d.get("url", ""),
            mode,
            d.get(mode, 0),
            count,
            d.get("errors", 0),
            d.get("seconds", 0),
            d.get("responses", 0),
            summary("ttft_ms", count),
            summary("itl_ms", max(0, d.get("responses", 0) - count)),
            d.get("first_error"),
            d.get("late", 0),
        )

    def render(self) -> str:
        t, i = self.ttft, self.itl
        head = (
            f"{self.level:g} stream(s) in flight"
            if self.mode == "concurrency"
            else f"{self.level:g} req/s offered (open loop)"
        )
        lines = [
            f"{self.model} at {self.url}, {head}",
            f"  requests {self.count}  errors {self.errors}  {self.requests_per_s:.1f} req/s  "
            f"responses {self.responses}  {self.responses_per_s:.1f} responses/s",
            f"  first response ms  p50 {_ms(t.p50)}  p95 {_ms(t.p95)}  p99 {_ms(t.p99)}"
            + ("  (from when each request was due)" if self.mode == "rate" else ""),
            f"  between responses ms  p50 {_ms(i.p50)}  p99 {_ms(i.p99)}",
        ]
        if self.mode == "rate":
            lines.append(f"  late {self.late} (picked up more than {LATE_S * 1000:.0f} ms after due)")
        if self.first_error:
            lines.append(f"  first error: {self.first_error}")
        return "\n".join(lines)


LATE_S = 0.01


def _ms(x: float) -> str:
    """A latency in plain output: ``-`` where nothing was measured (no successful request), never ``nan``."""
    return "-" if math.isnan(x) else f"{x:.2f}"


GONE = "the server is gone"


def is_late(due: float, picked: float) -> bool:
    """A rate-mode request a worker picked up more than LATE_S after it was due (``late`` counts them)."""
    return picked - due > LATE_S


def open_loop(
    start: float,
    rate: float,
    requests: int,
    send: Callable[[int, float], None],
    halted: Callable[[], bool],
    workers: int,
) -> None:
    """Rate mode's schedule (open loop): request ``i`` is due at ``start + i / rate`` whether or not earlier
    ones have returned, and ``send(i, due)`` runs on a pool of ``workers``; the caller times each from
    ``due`` (queueing in the client is in the figures) and counts the late ones (:func:`is_late`). Returns
    when every request sent has ended."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench") as pool:
        for i in range(requests):
            if halted():
                break
            due = start + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            pool.submit(send, i, due)


class _Tally:
    """What a step's requests met, shared by its workers: latencies, errors by kind, and whether to stop."""

    def __init__(self, workers: int) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.by_kind: dict[str, int] = {}
        self.first: dict[str, str] = {}
        self.late = 0
        self.workers = workers
        self.timeouts_in_a_row = 0
        self.stopped: str | None = None
        self.stop_code: str | None = None

    def ok(self, ms: float, record: bool = True) -> None:
        with self.lock:
            if record:
                self.latencies.append(ms)
            self.timeouts_in_a_row = 0

    def failed(self, exc: ConsoleError) -> None:
        kind = error_kind(exc)
        with self.lock:
            self.errors.append(exc.message)
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            self.first.setdefault(kind, exc.message)
            self.timeouts_in_a_row = self.timeouts_in_a_row + 1 if exc.code == TIMEOUT else 0
            if self.stopped is None:
                if server_gone(exc):
                    self.stopped = f"{GONE} ({exc.message})"
                elif exc.code == STUB_UNHEALTHY:
                    self.stopped = f"the model's stub is not healthy ({exc.message})"
                elif self.timeouts_in_a_row >= self.workers:
                    self.stopped = f"{self.timeouts_in_a_row} requests in a row timed out ({exc.message})"
                if self.stopped is not None:
                    self.stop_code = exc.code

    @property
    def done(self) -> int:
        return len(self.latencies) + len(self.errors)


def run_step(
    w: Workload,
    concurrency: int | None = None,
    rate: float | None = None,
    requests: int = 100,
    warmup: int = 10,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Step:
    """One measured step; ``warmup`` requests first at the same concurrency (not counted). It ends: every
    request is bounded by its deadline, and sending stops once the model or server is known broken."""
    if (concurrency is None) == (rate is None):
        raise ConsoleError("a step has either a concurrency or a rate")
    mode, level = ("concurrency", concurrency) if concurrency is not None else ("rate", rate)
    workers = concurrency or min(64, max(1, int(rate) + 1))
    steps = w.client.model_info(w.model).steps

    def halted(t: _Tally) -> bool:
        return t.stopped is not None or (cancel is not None and cancel.is_set())

    def one(t: _Tally, i: int, due: float | None = None, record: bool = True) -> None:
        """Request ``i``; its latency from when it was due (rate mode) or from now (concurrency mode)."""
        picked = time.perf_counter()
        if halted(t):
            return
        if due is not None and is_late(due, picked):
            with t.lock:
                t.late += 1
        start = due if due is not None else picked
        try:
            w.send(i)
            t.ok((time.perf_counter() - start) * 1000.0, record)
        except ConsoleError as exc:
            t.failed(exc)
        if progress is not None and record:
            progress(t.done, requests, level)

    def closed_loop(t: _Tally, n: int, record: bool) -> None:
        counter = iter(range(n))

        def worker() -> None:
            while not halted(t):
                with t.lock:
                    i = next(counter, None)
                if i is None:
                    return
                one(t, i, record=record)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench") as pool:
            for f in [pool.submit(worker) for _ in range(workers)]:
                f.result()

    warm = _Tally(workers)
    closed_loop(warm, warmup, record=False)
    # a warm-up that found the model broken is the step's outcome (its errors are the ones to report)
    tally = warm if warm.stopped else _Tally(workers)
    deadline = w.client.deadline(w.model)
    before = statistics(w.client, timeout_is_none=True) if tally.stopped is None else None
    start = time.perf_counter()
    if tally.stopped is not None:
        pass
    elif mode == "concurrency":
        closed_loop(tally, requests, record=True)
    else:
        open_loop(start, rate, requests, lambda i, due: one(tally, i, due), lambda: halted(tally), workers)
    seconds = time.perf_counter() - start
    gone = tally.stop_code == UNREACHABLE
    after = statistics(w.client, timeout_is_none=True) if before is not None and not gone else None
    return Step(
        w.model,
        w.client.url,
        mode,
        level,
        len(tally.latencies),
        len(tally.errors),
        seconds,
        LatencySummary.of(tally.latencies),
        w.batch,
        breakdown(before, after, w.model, steps) if after is not None else Breakdown(names=list(steps)),
        tally.errors[0] if tally.errors else None,
        tally.late,
        dict(tally.by_kind),
        dict(tally.first),
        tally.stopped,
        tally.stop_code,
        (requests if warm.stopped else requests - tally.done) if tally.stopped else 0,
        deadline,
    )


@dataclass
class Run:
    model: str
    url: str
    engine: str
    mode: str
    inputs: str
    transport: str
    warmup: int
    requests: int
    started: float
    steps: list[Step | StreamStep] = field(default_factory=list)

    @property
    def streaming(self) -> bool:
        """A decoupled model's run: its steps are StreamSteps (TTFT, responses/s)."""
        return any(isinstance(s, StreamStep) for s in self.steps)

    def to_dict(self) -> dict:
        return {
            "streaming": self.streaming,
            "model": self.model,
            "url": self.url,
            "engine": self.engine,
            "mode": self.mode,
            "inputs": self.inputs,
            "transport": self.transport,
            "warmup": self.warmup,
            "requests": self.requests,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.started)),
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Run:
        started = time.mktime(time.strptime(d["started"], "%Y-%m-%dT%H:%M:%S")) if d.get("started") else 0.0
        return cls(
            d.get("model", ""),
            d.get("url", ""),
            d.get("engine", ""),
            d.get("mode", "concurrency"),
            d.get("inputs", ""),
            d.get("transport", "none"),
            d.get("warmup", 0),
            d.get("requests", 0),
            started,
            [
                StreamStep.from_dict(s) if "ttft_ms" in s else Step.from_dict(s)
                for s in d.get("steps", [])
                if isinstance(s, dict)
            ],
        )

    def label(self) -> str:
        return f"{self.engine} {time.strftime('%H:%M', time.localtime(self.started))}"


def sweep(
    w: Workload,
    levels: list[float],
    mode: str = "concurrency",
    requests: int = 100,
    warmup: int = 10,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> Run:
    run = Run(
        w.model, w.client.url, "triton-console", mode, w.description, w.shm, warmup, requests, time.time()
    )
    with w.transport():
        for level in levels:
            if cancel is not None and cancel.is_set():
                break
            kw = {"concurrency": int(level)} if mode == "concurrency" else {"rate": float(level)}
            step = run_step(w, requests=requests, warmup=warmup, progress=progress, cancel=cancel, **kw)
            run.steps.append(step)
            if on_step is not None:
                on_step(step)
            if step.stopped:
                break  # the next level would meet the same broken model or missing server
    return run


def runs_dir() -> Path:
    from triton_console.common.paths import data_dir

    return data_dir() / "runs"


def save(run: Run, directory: Path | None = None) -> Path:
    from triton_console.common import fsutil

    directory = directory or runs_dir()
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in run.model)
    path = (
        directory / f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(run.started))}-{safe}-{run.engine}.json"
    )
    n = 1
    while path.exists():
        n += 1
        path = path.with_name(f"{path.stem}-{n}.json")
    fsutil.write_text(path, json.dumps(run.to_dict(), indent=1))
    return path


def load_runs(model: str | None = None, directory: Path | None = None, limit: int = 20) -> list[Run]:
    """Saved runs, newest first (files that do not parse are skipped)."""
    directory = directory or runs_dir()
    out = []
    for path in sorted(directory.glob("*.json"), reverse=True) if directory.is_dir() else []:
        try:
            run = Run.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if model is None or run.model == model:
            out.append(run)
        if len(out) >= limit:
            break
    return out
