"""NVIDIA's perf_analyzer as a second load generator (``bench --engine perf_analyzer``): the same requests
(its ``--input-data`` file made from the workload), one run per level, its CSV read back into steps so its
figures stand beside ours. Not installed: one line that says how to get it."""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client.stats import LatencySummary
from triton_console.tui.core.load.loadgen import Run, Step, Workload
from triton_console.tui.core.request import showcall

HOW = (
    "perf_analyzer is not on PATH: pip install perf-analyzer (NVIDIA's wheel; it needs glibc 2.38+) "
    "or use the tritonserver SDK container (nvcr.io/nvidia/tritonserver:24.10-py3-sdk)"
)


def binary() -> str:
    path = shutil.which("perf_analyzer")
    if not path:
        raise ConsoleError(HOW)
    return path


def _step(row: dict, w: Workload, mode: str, level: float, seconds: float) -> Step:
    def us(key: str) -> float:
        try:
            return float(row[key]) / 1000.0
        except (KeyError, ValueError):
            return math.nan

    rate = float(row.get("Inferences/Second") or 0) / max(w.batch, 1)
    lat = LatencySummary(
        0, us("Avg latency"), us("p50 latency"), us("p90 latency"), us("p95 latency"), us("p99 latency")
    )
    count = int(round(rate * seconds))
    return Step(w.model, w.client.url, mode, level, count, 0, seconds, lat, w.batch)


def command(
    exe: str,
    model: str,
    url: str,
    protocol: str,
    data: Path,
    out: Path,
    batch: int,
    dims: dict[str, list[int]],
    mode: str,
    level: float,
    requests: int,
    shm: str = "none",
) -> list[str]:
    """perf_analyzer's argv for one level: the workload's request as ``--input-data``, a count-based window of
    ``requests`` requests, its CSV written to ``out``."""
    argv = [
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
        str(out),
    ]
    argv += [a for name, d in dims.items() for a in ("--shape", f"{name}:{','.join(map(str, d))}")]
    argv += (
        ["--concurrency-range", f"{int(level)}:{int(level)}"]
        if mode == "concurrency"
        else ["--request-rate-range", f"{level}:{level}"]
    )
    if shm != "none":
        argv += ["--shared-memory", shm]
    return argv


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
            argv = command(
                exe,
                w.model,
                w.client.endpoint.url,
                w.client.protocol,
                data,
                out,
                w.batch if batched else 1,
                dims,
                mode,
                level,
                requests,
                w.shm,
            )
            t0 = time.perf_counter()
            res = subprocess.run(argv, capture_output=True, text=True, timeout=900)
            seconds = time.perf_counter() - t0
            if res.returncode != 0 or not out.exists():
                tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
                raise ConsoleError(f"perf_analyzer failed at {level:g}: {' '.join(tail)[:400]}", exit_code=1)
            with out.open() as fh:
                rows = list(csv.DictReader(fh))
            if rows:
                run.steps.append(_step(rows[0], w, mode, level, seconds))
    return run
