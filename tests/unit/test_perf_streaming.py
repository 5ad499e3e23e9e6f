"""``bench --engine perf_analyzer`` on a decoupled model: the argv (``--streaming`` and the profile export,
gRPC only) and the reading of what perf_analyzer 2.60 writes for a stream. perf_analyzer is not on this VM
(it needs glibc 2.38), so its outputs are samples in its documented format:

- ``tests/data/perf_analyzer_2.60_streaming.csv``: the header as ``ReportWriter::GenerateReport`` writes it
  at perf_analyzer r25.07 (2.60) for a decoupled model under the Triton service kind (server stats on):
  ``Response Throughput`` after ``Inferences/Second``, latencies in µs to each request's last response;
- the profile export (``--profile-export-file``, ``ProfileDataExporter``): ``experiments`` of
  ``{"experiment": {"mode", "value"}, "requests": [{"timestamp", "response_timestamps", "response_outputs"}]}``
  with steady-clock nanoseconds, the flags-only final response an empty output entry.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.load import perfanalyzer
from triton_console.tui.core.load.loadgen import Run

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "perf_analyzer_2.60_streaming.csv"
MS = 1_000_000  # ns


def _export() -> dict:
    def request(start: int, first_ms: int, gap_ms: int, n: int) -> dict:
        times = [start + (first_ms + i * gap_ms) * MS for i in range(n)]
        return {
            "timestamp": start,
            "request_inputs": {"COUNT": [n]},
            "response_timestamps": [*times, times[-1] + MS],  # then the flags-only final response
            "response_outputs": [{"TOKEN": f"tok{i}"} for i in range(n)] + [{}],
        }

    return {
        "experiments": [
            {
                "experiment": {"mode": "concurrency", "value": 2},
                "requests": [request(10**12, 42, 40, 5), request(2 * 10**12, 44, 41, 5)],
                "window_boundaries": [10**12, 3 * 10**12],
            }
        ],
        "version": "2.60.0",
        "service_kind": "triton",
        "endpoint": "",
    }


def test_streaming_argv_asks_for_streaming_and_the_profile_export(tmp_path):
    args = perfanalyzer.argv(
        "perf_analyzer",
        "tokens",
        "127.0.0.1:8001",
        "grpc",
        tmp_path / "input.json",
        {"COUNT": (1,)},
        1,
        20,
        "rate",
        12.5,
        tmp_path / "out.csv",
        export=tmp_path / "export.json",
    )
    assert args[:7] == ["perf_analyzer", "-m", "tokens", "-u", "127.0.0.1:8001", "-i", "grpc"]
    assert "--streaming" in args
    assert args[args.index("--profile-export-file") + 1] == str(tmp_path / "export.json")
    assert args[args.index("--request-rate-range") + 1] == "12.5:12.5"
    assert args[args.index("--shape") + 1] == "COUNT:1"
    plain = perfanalyzer.argv(
        "perf_analyzer", "m", "u", "http", tmp_path / "i", {}, 4, 20, "concurrency", 2, tmp_path / "o"
    )
    assert "--streaming" not in plain and "--profile-export-file" not in plain
    assert plain[plain.index("--concurrency-range") + 1] == "2:2"


def test_a_streaming_csv_row_and_its_export_make_a_stream_step():
    with SAMPLE.open() as fh:
        row = next(csv.DictReader(fh))
    step = perfanalyzer.stream_step(row, _export(), "tokens", "grpc://x", "concurrency", 2, 10.0)
    assert step.mode == "concurrency" and step.level == 2
    assert step.count == 96 and step.responses == 480  # the rates over the run's 10 s
    assert step.requests_per_s == pytest.approx(9.6) and step.responses_per_s == pytest.approx(48.0)
    assert step.ttft.p50 == pytest.approx(43.0)  # 42 and 44 ms: the first response, not the final flag
    assert step.itl.p50 == pytest.approx(40.5) and step.itl.count == 8  # 4 gaps each; the final flag is none
    d = step.to_dict()
    assert d["responses_per_s"] == 48.0 and d["ttft_ms"]["p50"] == 43.0
    back = Run.from_dict({"model": "tokens", "engine": "perf_analyzer", "steps": [d]}).steps[0]
    assert back.responses_per_s == pytest.approx(48.0) and back.ttft.p50 == 43.0


def test_without_an_export_the_rates_stay_and_ttft_is_unknown():
    with SAMPLE.open() as fh:
        row = next(csv.DictReader(fh))
    step = perfanalyzer.stream_step(row, None, "tokens", "grpc://x", "concurrency", 2, 10.0)
    assert step.responses == 480 and math.isnan(step.ttft.p50)
    assert step.to_dict()["ttft_ms"]["p50"] is None


def test_a_csv_without_response_throughput_is_one_clear_line():
    row = {"Concurrency": "1", "Inferences/Second": "5", "p50 latency": "1000"}
    with pytest.raises(ConsoleError, match="no 'Response Throughput' column"):
        perfanalyzer.stream_step(row, None, "tokens", "grpc://x", "concurrency", 1, 1.0)
