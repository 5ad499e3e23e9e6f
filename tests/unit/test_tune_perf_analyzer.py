"""``tune --engine perf_analyzer``: the perf_analyzer command a trial runs (the bench engine's own argv,
tui/core/load/perfanalyzer.py), built from the trial's request; no perf_analyzer needed to check it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from triton_console.tui.core.load.perfanalyzer import argv as command
from triton_console.tui.core.request.showcall import input_data


def _pairs(argv: list[str]) -> dict[str, list[str]]:
    """Each option's values (an option given twice, as --shape is, keeps both)."""
    out: dict[str, list[str]] = {}
    for flag, value in zip(argv[1::2], argv[2::2], strict=True):
        out.setdefault(flag, []).append(value)
    return out


def test_a_trial_at_a_concurrency_runs_one_count_window_of_its_requests():
    x = SimpleNamespace(name="X", array=np.ones((1, 3), dtype=np.float32))
    entry, dims = input_data([x], batched=True)
    data, out = Path("/tmp/pa/input.json"), Path("/tmp/pa/4.csv")
    argv = command(
        "/opt/pa/perf_analyzer",
        "per_request",
        "127.0.0.1:8001",
        "grpc",
        data,
        dims=dims,
        batch=1,
        requests=24,
        mode="concurrency",
        level=4.0,
        csv_out=out,
    )
    assert argv[0] == "/opt/pa/perf_analyzer"
    opts = _pairs(argv)
    assert opts["-m"] == ["per_request"] and opts["-u"] == ["127.0.0.1:8001"] and opts["-i"] == ["grpc"]
    assert opts["--input-data"] == [str(data)] and opts["-f"] == [str(out)] and opts["-b"] == ["1"]
    assert opts["--measurement-mode"] == ["count_windows"]
    assert opts["--measurement-request-count"] == ["24"]
    assert opts["--concurrency-range"] == ["4:4"] and "--request-rate-range" not in opts
    assert opts["--shape"] == ["X:3"]
    assert "--shared-memory" not in opts
    assert entry["X"]["shape"] == [3]


def test_a_trial_at_a_rate_with_shared_memory():
    argv = command(
        "perf_analyzer",
        "m",
        "localhost:8000",
        "http",
        Path("d.json"),
        dims={},
        batch=8,
        requests=100,
        mode="rate",
        level=20.5,
        csv_out=Path("o.csv"),
        shm="system",
    )
    opts = _pairs(argv)
    assert opts["--request-rate-range"] == ["20.5:20.5"] and "--concurrency-range" not in opts
    assert opts["-b"] == ["8"] and opts["-i"] == ["http"] and opts["--shared-memory"] == ["system"]
    assert "--shape" not in opts
