"""Load on a decoupled (streaming) model: N streams in flight (each worker starting its next request when
its last stream ends, as the load generator's concurrency mode does for one-response models), or requests
at a fixed rate on the load generator's own open-loop schedule (:func:`loadgen.open_loop`: time to first
response counts from when each request was due, and the late ones are counted). What counts for a stream
is not one latency but three: time to first response (TTFT), the gaps between responses (inter-response
latency) and responses per second.

A separate workload beside :mod:`loadgen` (whose loop times one call per request), built on the one
streaming call (:class:`stream.StreamRun`); its steps are :class:`loadgen.StreamStep`, saved and loaded
with the other runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from triton_console.common.errors import Cancelled, ConsoleError
from triton_console.tui.core.client.client import TritonClient
from triton_console.tui.core.client.stats import LatencySummary
from triton_console.tui.core.load.loadgen import Run, StreamStep, is_late, open_loop
from triton_console.tui.core.request import stream
from triton_console.tui.core.request.infer import InputPlan

Progress = Callable[[int, int, float], None]  # (done, total, level)
RATE_WORKERS = 64  # streams in flight at most in rate mode (a stream holds its worker until it ends)


def run_step(
    client: TritonClient,
    model: str,
    plans: list[InputPlan],
    concurrency: int | None = None,
    requests: int = 20,
    warmup: int = 2,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    rate: float | None = None,
) -> StreamStep:
    """One measured level, ``concurrency`` streams in flight or ``rate`` requests per second; ``warmup``
    streams first (at the same concurrency, or one at a time in rate mode), not counted."""
    if (concurrency is None) == (rate is None):
        raise ConsoleError("a step has either a concurrency or a rate")
    mode, level = ("concurrency", float(concurrency)) if concurrency is not None else ("rate", float(rate))
    lock = threading.Lock()
    ttfts: list[float] = []
    gaps: list[float] = []
    errors: list[str] = []
    done = [0, 0, 0]  # streams ended, responses, late

    def halted() -> bool:
        return cancel is not None and cancel.is_set()

    def one(record: bool, due: float | None = None) -> None:
        picked = time.perf_counter()
        if due is not None and is_late(due, picked):
            with lock:
                done[2] += 1
        run = stream.start(client, model, plans)
        began = time.perf_counter()
        try:
            for _ in run:
                if halted():
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
        waited = (began - due) * 1000.0 if due is not None else 0.0  # rate mode: TTFT from when it was due
        with lock:
            done[0] += 1
            done[1] += len(times)
            if times:
                ttfts.append(times[0] + waited)
            gaps.extend(b - a for a, b in zip(times, times[1:], strict=False))
            finished = done[0] + len(errors)
        if progress is not None:
            progress(finished, requests, level)

    def closed_loop(n: int, workers: int, record: bool) -> None:
        counter = iter(range(n))

        def worker() -> None:
            while not halted():
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                one(record)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-stream") as pool:
            for f in [pool.submit(worker) for _ in range(workers)]:
                f.result()

    closed_loop(warmup, concurrency or 1, record=False)
    start = time.perf_counter()
    if mode == "concurrency":
        closed_loop(requests, int(level), record=True)
    else:
        open_loop(start, level, requests, lambda _i, due: one(True, due), halted, RATE_WORKERS)
    seconds = time.perf_counter() - start
    return StreamStep(
        model,
        client.url,
        mode,
        level,
        done[0],
        len(errors),
        seconds,
        done[1],
        LatencySummary.of(ttfts),
        LatencySummary.of(gaps),
        errors[0] if errors else None,
        done[2],
    )


def sweep(
    client: TritonClient,
    model: str,
    plans: list[InputPlan],
    levels: list[float],
    requests: int = 20,
    warmup: int = 2,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    on_step: Callable[[StreamStep], None] | None = None,
    mode: str = "concurrency",
    inputs: str = "",
) -> Run:
    """A run of steps, one per level (concurrencies, or rates with ``mode="rate"``), as loadgen.sweep."""
    run = Run(model, client.url, "triton-console", mode, inputs, "none", warmup, requests, time.time())
    for level in levels:
        if cancel is not None and cancel.is_set():
            break
        kw = {"concurrency": int(level)} if mode == "concurrency" else {"rate": float(level)}
        step = run_step(
            client, model, plans, requests=requests, warmup=warmup, progress=progress, cancel=cancel, **kw
        )
        run.steps.append(step)
        if on_step is not None:
            on_step(step)
    return run
