"""The load generator behind ``bench`` and the Bench pane: any model, a concurrency sweep or fixed request
rates, warm-up kept out of the figures, the server-side breakdown per step (ensemble steps included), runs
saved as JSON and loaded again for comparison.

Concurrency mode works as perf_analyzer's: N requests in flight, each worker sending its next request when
the last one returns. Rate mode is open-loop: requests leave on schedule whether or not earlier ones have
returned (late starts are counted).
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
from triton_console.tui.core.client.client import TritonClient
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
) -> Workload:
    info = client.model_info(model)
    plans = infer.plan_inputs(
        info, specs, shapes, batch=batch, seed=seed, limit=client.connection.max_response_bytes
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
    late: int = 0  # rate mode: requests that left more than 10 ms after their slot

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
        )

    def render(self) -> str:
        lat = self.latency
        unit = "in flight" if self.mode == "concurrency" else "req/s offered"
        lines = [
            f"{self.model} at {self.url}, {self.level:g} {unit}",
            f"  requests {self.count}  errors {self.errors}  throughput {self.throughput:.1f} req/s"
            + (f" ({self.throughput * self.batch:.1f} inferences/s)" if self.batch > 1 else ""),
            f"  latency ms  mean {lat.mean:.2f}  p50 {lat.p50:.2f}  p90 {lat.p90:.2f}  p95 {lat.p95:.2f}  p99 {lat.p99:.2f}",
        ]
        if not math.isnan(self.breakdown.ensemble_ms):
            lines.append(f"  server: {self.model} {self.breakdown.ensemble_ms:.2f} ms per request")
        for s in self.breakdown.steps:
            lines.append(
                f"    {s.model:<28} queue {s.queue_ms:7.2f} ms  compute {s.compute_ms:7.2f} ms  avg batch {s.avg_batch:.1f}"
            )
        if self.first_error:
            lines.append(f"  first error: {self.first_error}")
        return "\n".join(lines)


def run_step(
    w: Workload,
    concurrency: int | None = None,
    rate: float | None = None,
    requests: int = 100,
    warmup: int = 10,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Step:
    """One measured step; ``warmup`` requests first at the same concurrency (not counted)."""
    if (concurrency is None) == (rate is None):
        raise ConsoleError("a step has either a concurrency or a rate")
    mode, level = ("concurrency", concurrency) if concurrency is not None else ("rate", rate)
    workers = concurrency or min(64, max(1, int(rate) + 1))
    steps = w.client.model_info(w.model).steps
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    late = 0

    def one(i: int) -> None:
        t0 = time.perf_counter()
        try:
            w.send(i)
            with lock:
                latencies.append((time.perf_counter() - t0) * 1000.0)
        except ConsoleError as exc:
            with lock:
                errors.append(exc.message)
        if progress is not None:
            progress(len(latencies) + len(errors), requests, level)

    def closed_loop(n: int, record: bool) -> None:
        counter = iter(range(n))

        def worker() -> None:
            while not (cancel is not None and cancel.is_set()):
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                if record:
                    one(i)
                else:
                    with contextlib.suppress(ConsoleError):
                        w.send(i)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench") as pool:
            for f in [pool.submit(worker) for _ in range(workers)]:
                f.result()

    closed_loop(warmup, record=False)
    before = statistics(w.client, timeout_is_none=True)
    start = time.perf_counter()
    if mode == "concurrency":
        closed_loop(requests, record=True)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench") as pool:
            for i in range(requests):
                if cancel is not None and cancel.is_set():
                    break
                slot = start + i / rate
                wait = slot - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                elif wait < -0.01:
                    late += 1
                pool.submit(one, i)
    seconds = time.perf_counter() - start
    after = statistics(w.client, timeout_is_none=True) if before is not None else None
    return Step(
        w.model,
        w.client.url,
        mode,
        level,
        len(latencies),
        len(errors),
        seconds,
        LatencySummary.of(latencies),
        w.batch,
        breakdown(before, after, w.model, steps) if after is not None else Breakdown(),
        errors[0] if errors else None,
        late,
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
    steps: list[Step] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
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
            [Step.from_dict(s) for s in d.get("steps", [])],
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
