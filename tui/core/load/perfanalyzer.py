"""NVIDIA's perf_analyzer as a second load generator (``bench --engine perf_analyzer``): the same requests
(its ``--input-data`` file made from the workload), one run per level, its CSV read back into steps so its
figures stand beside ours. Not installed: one line that says how to get it.

A decoupled model runs with ``--streaming`` (perf_analyzer streams only over gRPC). Its CSV (2.60,
``report_writer.cc``) then adds ``Response Throughput`` (responses/s) after ``Inferences/Second``
(requests/s), and its latencies run from each request to its last response; time to first response and
the gaps between responses are not in the CSV, so they are read from ``--profile-export-file`` (each
request's ``timestamp`` and ``response_timestamps``, ns).
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from triton_console.common.errors import EXIT_USAGE, ConsoleError
from triton_console.tui.core.client.stats import LatencySummary
from triton_console.tui.core.load.loadgen import Run, Step, StreamStep, Workload
from triton_console.tui.core.request import showcall

HOW = (
    "perf_analyzer is not on PATH: pip install perf-analyzer (NVIDIA's wheel; it needs glibc 2.38+) "
    "or use the tritonserver SDK container (nvcr.io/nvidia/tritonserver:24.10-py3-sdk)"
)
REQUESTS_PER_S = "Inferences/Second"
RESPONSES_PER_S = "Response Throughput"  # decoupled models only


def binary() -> str:
    path = shutil.which("perf_analyzer")
    if not path:
        raise ConsoleError(HOW)
    return path


def argv(
    exe: str,
    model: str,
    url: str,
    protocol: str,
    data: Path,
    dims: dict[str, tuple[int, ...]],
    batch: int,
    requests: int,
    mode: str,
    level: float,
    csv_out: Path,
    shm: str = "none",
    export: Path | None = None,
) -> list[str]:
    """One perf_analyzer run at one level, count-based windows of ``requests`` requests; ``export`` (a
    decoupled model): ``--streaming`` and the per-request profile export."""
    out = [
        exe,
        "-m",
        model,
        "-u",
        url,
        "-i",
        protocol,
        "--input-data",
        str(data),
        "-b",
        str(batch),
        "--measurement-mode",
        "count_windows",
        "--measurement-request-count",
        str(requests),
        "--stability-percentage",
        "50",
        "--max-trials",
        "10",
        "-f",
        str(csv_out),
    ]
    out += [a for name, d in dims.items() for a in ("--shape", f"{name}:{','.join(map(str, d))}")]
    out += (
        ["--concurrency-range", f"{int(level)}:{int(level)}"]
        if mode == "concurrency"
        else ["--request-rate-range", f"{level}:{level}"]
    )
    if shm != "none":
        out += ["--shared-memory", shm]
    if export is not None:
        out += ["--streaming", "--profile-export-file", str(export)]
    return out


def _float(row: dict, key: str) -> float:
    try:
        return float(row[key])
    except (KeyError, TypeError, ValueError):
        return math.nan


def _step(row: dict, w: Workload, mode: str, level: float, seconds: float) -> Step:
    def us(key: str) -> float:
        return _float(row, key) / 1000.0

    rate = float(row.get(REQUESTS_PER_S) or 0) / max(w.batch, 1)
    lat = LatencySummary(
        0, us("Avg latency"), us("p50 latency"), us("p90 latency"), us("p95 latency"), us("p99 latency")
    )
    count = int(round(rate * seconds))
    return Step(w.model, w.client.url, mode, level, count, 0, seconds, lat, w.batch)


def stream_times(export: dict) -> tuple[list[float], list[float]]:
    """Time to first response and the gaps between responses (ms) of every request in a profile export
    (all its experiments). A flags-only final response (perf_analyzer asks for one) has an empty output
    entry: it ends the stream but is no response."""
    ttfts: list[float] = []
    gaps: list[float] = []
    for experiment in export.get("experiments") or []:
        for r in experiment.get("requests") or []:
            times = [t for t in r.get("response_timestamps") or [] if isinstance(t, (int, float))]
            outputs = r.get("response_outputs")
            if isinstance(outputs, list) and len(outputs) == len(times) and times and not outputs[-1]:
                times = times[:-1]
            start = r.get("timestamp")
            if not times or not isinstance(start, (int, float)):
                continue
            ttfts.append((times[0] - start) / 1e6)
            gaps.extend((b - a) / 1e6 for a, b in zip(times, times[1:], strict=False))
    return ttfts, gaps


def stream_step(
    row: dict, export: dict | None, model: str, url: str, mode: str, level: float, seconds: float
) -> StreamStep:
    """A decoupled model's step from perf_analyzer's CSV row (requests/s, responses/s) and its profile
    export (TTFT, gaps); counts are the rates over the run's ``seconds``, as for one-response steps."""
    requests_per_s, responses_per_s = _float(row, REQUESTS_PER_S), _float(row, RESPONSES_PER_S)
    if math.isnan(responses_per_s):
        raise ConsoleError(
            f"perf_analyzer's CSV has no {RESPONSES_PER_S!r} column: it did not run {model} as decoupled",
            exit_code=1,
        )
    ttfts, gaps = stream_times(export or {})
    count = int(round((0 if math.isnan(requests_per_s) else requests_per_s) * seconds))
    responses = int(round(responses_per_s * seconds))
    return StreamStep(
        model,
        url,
        mode,
        level,
        count,
        0,
        seconds,
        responses,
        LatencySummary.of(ttfts),
        LatencySummary.of(gaps),
    )


def _run(args: list[str], level: float, csv_out: Path) -> list[dict]:
    res = subprocess.run(args, capture_output=True, text=True, timeout=900)
    if res.returncode != 0 or not csv_out.exists():
        tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
        raise ConsoleError(f"perf_analyzer failed at {level:g}: {' '.join(tail)[:400]}", exit_code=1)
    with csv_out.open() as fh:
        return list(csv.DictReader(fh))


def sweep(
    w: Workload, levels: list[float], mode: str = "concurrency", requests: int = 100, warmup: int = 10
) -> Run:
    """One perf_analyzer run per level, count-based windows of ``requests`` requests."""
    exe = binary()
    inputs, _ = w.requests[0]
    batched = w.client.model_info(w.model).batched
    entry, dims = showcall.input_data(inputs, batched)
    run = Run(
        w.model, w.client.url, "perf_analyzer", mode, w.description, w.shm, warmup, requests, time.time()
    )
    with tempfile.TemporaryDirectory(prefix="triton-console-pa-") as tmp:
        data = Path(tmp) / "input.json"
        data.write_text(json.dumps({"data": [entry]}))
        for level in levels:
            out = Path(tmp) / f"{level}.csv"
            args = argv(
                exe,
                w.model,
                w.client.endpoint.url,
                w.client.protocol,
                data,
                dims,
                w.batch if batched else 1,
                requests,
                mode,
                level,
                out,
                w.shm,
            )
            t0 = time.perf_counter()
            rows = _run(args, level, out)
            seconds = time.perf_counter() - t0
            if rows:
                run.steps.append(_step(rows[0], w, mode, level, seconds))
    return run


def stream_sweep(
    client,
    model: str,
    plans,
    levels: list[float],
    mode: str = "concurrency",
    requests: int = 20,
    warmup: int = 2,
    description: str = "",
) -> Run:
    """A decoupled model under perf_analyzer ``--streaming`` (gRPC only: refused over HTTP in one line)."""
    if client.protocol != "grpc":
        raise ConsoleError(
            f"{model} is decoupled: perf_analyzer streams it only over gRPC (--streaming); use -i grpc",
            exit_code=EXIT_USAGE,
        )
    exe = binary()
    batched = client.model_info(model).batched
    entry, dims = showcall.input_data(plans, batched)
    run = Run(model, client.url, "perf_analyzer", mode, description, "none", warmup, requests, time.time())
    with tempfile.TemporaryDirectory(prefix="triton-console-pa-") as tmp:
        data = Path(tmp) / "input.json"
        data.write_text(json.dumps({"data": [entry]}))
        for level in levels:
            out, export = Path(tmp) / f"{level}.csv", Path(tmp) / f"{level}.export.json"
            args = argv(
                exe,
                model,
                client.endpoint.url,
                "grpc",
                data,
                dims,
                1,
                requests,
                mode,
                level,
                out,
                export=export,
            )
            t0 = time.perf_counter()
            rows = _run(args, level, out)
            seconds = time.perf_counter() - t0
            try:
                exported = json.loads(export.read_text()) if export.exists() else None
            except (OSError, ValueError):
                exported = None
            if rows:
                run.steps.append(stream_step(rows[0], exported, model, client.url, mode, level, seconds))
    return run
