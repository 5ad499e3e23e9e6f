"""Load on a decoupled (streaming) model: N streams in flight, each worker starting its next request when
its last stream ends, as the load generator's concurrency mode does for one-response models. What counts
for a stream is not one latency but three: time to first response (TTFT), the gaps between responses
(inter-response latency) and responses per second.

A separate workload beside :mod:`loadgen` (whose loop times one call per request), built on the one
streaming call (:class:`stream.StreamRun`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from triton_console.common.errors import Cancelled, ConsoleError
from triton_console.tui.core.client.client import TritonClient
from triton_console.tui.core.client.stats import LatencySummary
from triton_console.tui.core.request import stream
from triton_console.tui.core.request.infer import InputPlan

Progress = Callable[[int, int, float], None]  # (done, total, concurrency)


@dataclass
class StreamStep:
    model: str
    url: str
    concurrency: int
    count: int  # requests whose stream ended
    errors: int
    seconds: float
    responses: int
    ttft: LatencySummary
    itl: LatencySummary
    first_error: str | None = None

    @property
    def requests_per_s(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else math.nan

    @property
    def responses_per_s(self) -> float:
        return self.responses / self.seconds if self.seconds > 0 else math.nan

    def to_dict(self) -> dict:
        def r(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 3)

        return {
            "model": self.model,
            "url": self.url,
            "concurrency": self.concurrency,
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

    def render(self) -> str:
        t, i = self.ttft, self.itl
        lines = [
            f"{self.model} at {self.url}, {self.concurrency} stream(s) in flight",
            f"  requests {self.count}  errors {self.errors}  {self.requests_per_s:.1f} req/s  "
            f"responses {self.responses}  {self.responses_per_s:.1f} responses/s",
            f"  first response ms  p50 {t.p50:.2f}  p95 {t.p95:.2f}  p99 {t.p99:.2f}",
            f"  between responses ms  p50 {i.p50:.2f}  p99 {i.p99:.2f}",
        ]
        if self.first_error:
            lines.append(f"  first error: {self.first_error}")
        return "\n".join(lines)


def run_step(
    client: TritonClient,
    model: str,
    plans: list[InputPlan],
    concurrency: int,
    requests: int = 20,
    warmup: int = 2,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> StreamStep:
    """One measured level; ``warmup`` streams first at the same concurrency (not counted)."""
    lock = threading.Lock()
    ttfts: list[float] = []
    gaps: list[float] = []
    errors: list[str] = []
    done = [0, 0]  # streams ended, responses

    def one(record: bool) -> None:
        run = stream.start(client, model, plans)
        try:
            for _ in run:
                if cancel is not None and cancel.is_set():
                    run.cancel()
        except Cancelled:
            return
        except ConsoleError as exc:
            if record:
                with lock:
                    errors.append(exc.message)
            return
        if not record:
            return
        times = run.times_ms
        with lock:
            done[0] += 1
            done[1] += len(times)
            if times:
                ttfts.append(times[0])
            gaps.extend(b - a for a, b in zip(times, times[1:], strict=False))
            finished = done[0] + len(errors)
        if progress is not None:
            progress(finished, requests, concurrency)

    def closed_loop(n: int, record: bool) -> None:
        counter = iter(range(n))

        def worker() -> None:
            while not (cancel is not None and cancel.is_set()):
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                one(record)

        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench-stream") as pool:
            for f in [pool.submit(worker) for _ in range(concurrency)]:
                f.result()

    closed_loop(warmup, record=False)
    start = time.perf_counter()
    closed_loop(requests, record=True)
    seconds = time.perf_counter() - start
    return StreamStep(
        model,
        client.url,
        concurrency,
        done[0],
        len(errors),
        seconds,
        done[1],
        LatencySummary.of(ttfts),
        LatencySummary.of(gaps),
        errors[0] if errors else None,
    )


def sweep(
    client: TritonClient,
    model: str,
    plans: list[InputPlan],
    levels: list[int],
    requests: int = 20,
    warmup: int = 2,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    on_step: Callable[[StreamStep], None] | None = None,
) -> list[StreamStep]:
    steps = []
    for level in levels:
        if cancel is not None and cancel.is_set():
            break
        step = run_step(client, model, plans, int(level), requests, warmup, progress, cancel)
        steps.append(step)
        if on_step is not None:
            on_step(step)
    return steps
