"""Trace records as Triton 2.51 writes them (ids repeated, one timestamp per row, steps as children of the
ensemble's record), cut into spans; the settings put back as they were."""

from __future__ import annotations

import json

from triton_console.tui.core.server import trace


def _rows(rid, model, parent, stamps):
    head = {"id": rid, "model_name": model, "model_version": 1}
    if parent is not None:
        head["parent_id"] = parent
    return [head] + [{"id": rid, "timestamps": [{"name": n, "ns": ns}]} for n, ns in stamps]


STEP = (
    "REQUEST_START",
    "QUEUE_START",
    "COMPUTE_START",
    "COMPUTE_INPUT_END",
    "COMPUTE_OUTPUT_START",
    "COMPUTE_END",
    "REQUEST_END",
)


def _file() -> str:
    ms = 1_000_000
    rows = _rows(
        2, "a", 1, zip(STEP, (1 * ms, 1 * ms, 2 * ms, 3 * ms, 13 * ms, 14 * ms, 14 * ms), strict=True)
    )
    rows += _rows(
        3, "b", 1, zip(STEP, (15 * ms, 15 * ms, 16 * ms, 16 * ms, 36 * ms, 37 * ms, 37 * ms), strict=True)
    )
    rows += _rows(
        1,
        "ens",
        None,
        [
            ("GRPC_WAITREAD_START", -500 * ms),
            ("GRPC_WAITREAD_END", 0),
            ("REQUEST_START", 0),
            ("REQUEST_END", 38 * ms),
        ]
        + [("GRPC_SEND_START", 37 * ms), ("GRPC_SEND_END", 40 * ms)],
    )
    return json.dumps(rows)


def test_a_request_is_its_steps_spans_without_the_idle_wait():
    (req,) = trace.requests_of("ens", trace.records(_file()))
    assert req.total_ms == 40.0  # the wait for the request to arrive is not its time
    assert req.answered_ms == 37.0  # the send began there: the client has its answer soon after
    got = [(s.model, s.stage, s.start_ms, s.ms) for s in req.spans]
    assert got == [
        ("a", "queue", 1.0, 1.0),
        ("a", "compute input", 2.0, 1.0),
        ("a", "infer", 3.0, 10.0),
        ("a", "compute output", 13.0, 1.0),
        ("b", "queue", 15.0, 1.0),
        ("b", "compute input", 16.0, 0.0),
        ("b", "infer", 16.0, 20.0),
        ("b", "compute output", 36.0, 1.0),
        ("ens", "send", 37.0, 3.0),
    ]
    stages = {(s["model"], s["stage"]): s["p50_ms"] for s in trace.percentiles([req])}
    assert stages[("b", "infer")] == 20.0
    bars = trace.waterfall(req, width=20)
    assert len(bars) == 9 and bars[6].startswith("b     infer") and "20.000 ms" in bars[6]


def test_a_file_still_being_written_gives_its_complete_records():
    text = _file()
    cut = text[: text.index('"b"') + 40]  # mid-record
    recs = trace.records(cut)
    assert recs[2]["model"] == "a" and len(recs[2]["ts"]) == len(STEP)
    assert trace.records("[{") == {}


def test_settings_go_back_to_the_servers_unless_the_model_had_its_own():
    server = {"trace_level": ["OFF"], "trace_rate": ["1000"], "trace_count": ["-1"], "log_frequency": ["0"]}
    mine = dict(server, trace_rate=["10"])
    assert trace.restore_values(mine, server) == {
        "trace_level": None,
        "trace_rate": ["10"],
        "trace_count": None,
        "log_frequency": None,
    }


def test_a_trace_file_out_of_reach_is_none(tmp_path):
    assert trace.trace_file({"trace_file": [str(tmp_path / "nowhere" / "t.json")]}) is None
    assert trace.trace_file({"trace_file": [str(tmp_path / "t.json")]}) == tmp_path / "t.json"
    assert trace.trace_file({}) is None


def test_the_report_fits_the_columns_it_is_given():
    """The Try form and the Classify pane draw the report in the width they have: every line fits, the bars
    shrink (never below 8 cells) and long model names are cut."""
    recs = trace.records(_file().replace('"a"', '"a_step_with_a_name_much_longer_than_the_screen_allows"'))
    (req,) = trace.requests_of("ens", recs)
    result = trace.Trace("ens", "trace", [req, req], trace.percentiles([req, req]))
    for columns in (60, 76, 120):
        lines = trace.report(result, columns)
        assert max(len(ln) for ln in lines) <= columns, (columns, lines)
        assert (
            lines[0] == "request 1: answered at 37.00 ms (last record 40.00)"
            and "per stage over 2 requests, ms" in lines
        )
        assert sum("█" in ln for ln in lines) == 18
    wide = trace.report(result)  # the CLI's: 24-cell bars, names up to 40
    assert "│" + " " * 9 + "█" * 12 + " " * 3 + "│" in wide[7]  # b's infer: 20 of the 40 ms, from 16 ms
    assert all("p50" in ln and "p99" in ln for ln in wide[wide.index("per stage over 2 requests, ms") + 1 :])


def test_an_ensembles_step_names_stay_whole_at_80_columns():
    """`triton-console trace` on the generated ensemble was 96 columns wide; cut to 80 with the old split the
    names became "efficientnet_lite0_…" and "ensemble_python_eff…": the names get their room first now."""
    name = "ensemble_python_efficientnet_lite0"  # 34: the generated ensemble's
    recs = trace.records(_file().replace('"ens"', f'"{name}"'))
    (req,) = trace.requests_of(name, recs)
    result = trace.Trace(name, "trace", [req], trace.percentiles([req]))
    lines = trace.report(result, 80)
    assert max(len(ln) for ln in lines) <= 80, lines
    assert sum(name in ln for ln in lines) == 2 and "…" not in "".join(lines)  # its send, in both parts
    assert all(len(ln.split("│")[1]) >= 12 for ln in lines[1:10])  # the bars keep 12 cells at least


def test_a_statistics_report_has_means_and_no_bars():
    result = trace.Trace(
        "ens",
        "statistics",
        [trace.Request(12.0, [], 12.0)],
        [{"model": "a", "stage": "compute", "mean_ms": 4.5}],
        note="the server's trace file is not readable here",
    )
    assert trace.report(result, 80) == [
        "request 1: 12.00 ms  (client 12.00 ms)",
        "per stage over 1 request, ms",
        "  a  compute        mean    4.500",
    ]


def test_the_report_says_when_the_server_answered_and_counts_one_request_as_one():
    """The records' own span (to the send's completion and the release) read as slower than the client saw
    ("request 1: 15.47 ms  (client 11.79 ms)"), and one request was "1 requests"."""
    (req,) = trace.requests_of("ens", trace.records(_file()))
    req.client_ms = 38.5
    lines = trace.report(trace.Trace("ens", "trace", [req], trace.percentiles([req])))
    assert lines[0] == "request 1: answered at 37.00 ms (last record 40.00)  (client 38.50 ms)"
    assert "per stage over 1 request, ms" in lines
    assert req.to_dict()["answered_ms"] == 37.0
    narrow = trace.report(trace.Trace("ens", "trace", [req], trace.percentiles([req])), 60)
    assert narrow[:2] == ["request 1: answered at 37.00 ms (last record 40.00)", "  (client 38.50 ms)"]
    assert max(len(ln) for ln in narrow) <= 60
