"""Classification requests as the console makes them: one image, many images, or a concurrent load.

``classify`` (CLI), the Classify pane and ``bench`` all send requests through :func:`classifier.classify`, so
a measured latency is the latency of the path users actually run.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from . import classifier
from . import images as img
from .classifier import Classification
from .client import TIMEOUT, TritonClient
from .errors import EXIT_USAGE, ConsoleError
from .stats import Breakdown, LatencySummary, breakdown


@dataclass
class ItemResult:
    """One image's outcome: a classification or an error, never both."""

    path: str
    result: Classification | None = None
    error: str | None = None
    breakdown: Breakdown | None = None
    data: bytes | None = field(default=None, repr=False)  # the bytes that were sent (for previews)
    code: str | None = None  # the error's hint code (see client.py)

    def to_dict(self) -> dict:
        out: dict = {"image": self.path}
        if self.result is not None:
            out.update(self.result.to_dict())
            if self.result.untrained:
                out["untrained"] = True
        else:
            out["error"] = self.error
        return out


def _statistics(client: TritonClient) -> list | None:
    """All models' statistics, or None where the server has none (latency then comes from the client only)."""
    try:
        return client.model_statistics().items
    except ConsoleError as exc:
        if exc.exit_code == EXIT_USAGE:
            raise
        return None


def classify_files(
    client: TritonClient,
    model: str,
    paths: list[str],
    k: int = 5,
    with_breakdown: bool = False,
    cancel: threading.Event | None = None,
    scaling: str | None = None,
    labels: list[str] | None = None,
) -> Iterator[ItemResult]:
    """Classify each file in turn; per-image problems become results, a lost server raises (exit 2)."""
    info = client.model_info(model)
    route = classifier.image_path(info, client.server_metadata().extensions, scaling)
    steps = info.steps if with_breakdown else []
    for path in img.expand(paths):
        if cancel is not None and cancel.is_set():
            return
        item = img.read(path)
        if item.error is not None:
            yield ItemResult(path, error=item.error)
            continue
        try:
            before = _statistics(client) if steps else None
            result = classifier.classify(client, model, item.data, k, path=route, labels=labels)
            after = _statistics(client) if before is not None else None
            bd = breakdown(before, after, model, steps) if after is not None else None
            yield ItemResult(path, result=result, breakdown=bd, data=item.data)
        except ConsoleError as exc:
            if exc.exit_code == EXIT_USAGE and exc.code != TIMEOUT:
                raise  # the server is gone: the other images would fail the same way
            yield ItemResult(path, error=exc.message, code=exc.code)


# ------------------------------------------------------------------------------------------------ load


@dataclass
class BenchResult:
    model: str
    url: str
    concurrency: int
    count: int
    errors: int
    seconds: float
    latency: LatencySummary
    breakdown: Breakdown = field(default_factory=Breakdown)
    first_error: str | None = None

    @property
    def throughput(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else math.nan

    def to_dict(self) -> dict:
        lat = self.latency
        return {
            "model": self.model,
            "url": self.url,
            "concurrency": self.concurrency,
            "count": self.count,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "throughput": round(self.throughput, 2),
            "latency_ms": {
                "mean": round(lat.mean, 3),
                "p50": round(lat.p50, 3),
                "p90": round(lat.p90, 3),
                "p95": round(lat.p95, 3),
                "p99": round(lat.p99, 3),
            },
            "server": self.breakdown.to_dict(),
            "first_error": self.first_error,
        }

    def render(self) -> str:
        lat = self.latency
        lines = [
            f"{self.model} at {self.url}, concurrency {self.concurrency}",
            f"  requests {self.count}  errors {self.errors}  throughput {self.throughput:.1f} img/s",
            f"  latency ms  mean {lat.mean:.2f}  p50 {lat.p50:.2f}  p90 {lat.p90:.2f}  p99 {lat.p99:.2f}",
        ]
        if not math.isnan(self.breakdown.ensemble_ms):
            lines.append(f"  server: ensemble {self.breakdown.ensemble_ms:.2f} ms per request")
        for s in self.breakdown.steps:
            lines.append(
                f"    {s.model:<28} queue {s.queue_ms:7.2f} ms  compute {s.compute_ms:7.2f} ms  "
                f"avg batch {s.avg_batch:.1f}"
            )
        if self.first_error:
            lines.append(f"  first error: {self.first_error}")
        return "\n".join(lines)


def load_payloads(paths: list[str]) -> list[bytes]:
    files = [img.read(p) for p in img.expand(paths)]
    bad = [f for f in files if f.error]
    if bad:
        raise ConsoleError(f"{bad[0].path}: {bad[0].error}")
    if not files:
        raise ConsoleError("no images to send")
    return [f.data for f in files]


def run(
    client: TritonClient,
    model: str,
    paths: list[str],
    concurrency: int = 1,
    requests: int = 100,
    warmup: int = 10,
    k: int = 1,
) -> BenchResult:
    """Send ``requests`` classifications with ``concurrency`` in flight, cycling over the images.

    Each worker thread keeps its own connection (the client is per-thread underneath), as
    perf_analyzer's concurrency mode does. Statistics are read before and after the measured part.
    """
    payloads = load_payloads(paths)
    info = client.model_info(model)
    route = classifier.image_path(info, client.server_metadata().extensions)
    steps = info.steps

    def classify_item(data: bytes) -> None:
        classifier.classify(client, model, data, k, path=route)

    counter = iter(range(requests))
    lock = threading.Lock()

    def next_index() -> int | None:
        with lock:
            return next(counter, None)

    for i in range(warmup):  # serially: connections, model instances and caches warm up
        classify_item(payloads[i % len(payloads)])
    latencies: list[float] = []
    errors: list[str] = []
    before = _statistics(client)

    def worker() -> None:
        while (i := next_index()) is not None:
            data = payloads[i % len(payloads)]
            t0 = time.perf_counter()
            try:
                classify_item(data)
                dt = (time.perf_counter() - t0) * 1000.0
                with lock:
                    latencies.append(dt)
            except ConsoleError as exc:
                with lock:
                    errors.append(exc.message)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench") as pool:
        for f in [pool.submit(worker) for _ in range(concurrency)]:
            f.result()
    seconds = time.perf_counter() - start
    after = _statistics(client) if before is not None else None
    return BenchResult(
        model=model,
        url=client.url,
        concurrency=concurrency,
        count=len(latencies),
        errors=len(errors),
        seconds=seconds,
        latency=LatencySummary.of(latencies),
        breakdown=breakdown(before, after, model, steps) if after is not None else Breakdown(),
        first_error=errors[0] if errors else None,
    )
