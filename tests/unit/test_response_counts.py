"""Response counts of decoupled models from the statistics extension's ``response_stats`` (a map of response
index to ``{compute_infer, compute_output, success, fail, empty_response, cancel}``, Triton's
docs/protocol/extension_statistics.md): counted where a server reports them, None where it does not (the
Python backend never reports response statistics), and the Metrics pane's line for each case."""

from __future__ import annotations

from triton_console.tui.core.client import responses as rs
from triton_console.tui.core.server import metrics as mt


def _row(name: str, requests: int, response_stats: dict) -> dict:
    d = {"count": requests, "ns": requests * 1000}
    return {
        "name": name,
        "version": "1",
        "inference_count": requests,
        "execution_count": requests,
        "inference_stats": {k: d for k in rs.DURATIONS},
        "batch_stats": [],
        "response_stats": response_stats,
    }


def _resp(n: int) -> dict:
    d = {"count": n, "ns": n * 10}
    return {k: d for k in ("compute_infer", "compute_output", "success")} | {"fail": {}, "empty_response": {}}


def test_response_stats_are_counted_and_an_empty_map_is_none():
    parsed = rs.statistics_json(
        {
            "model_stats": [
                _row("llm", 4, {"0": _resp(4), "1": _resp(4), "2": _resp(3)}),
                _row("tokens", 4, {}),  # Triton 2.51, a decoupled Python model
            ]
        }
    )
    by = {s.name: s for s in parsed.items}
    assert by["llm"].responses == 11 and by["tokens"].responses is None


def test_rates_and_the_panes_line_for_both_cases():
    before = rs.statistics_json({"model_stats": [_row("llm", 4, {"0": _resp(4)}), _row("tokens", 4, {})]})
    after = rs.statistics_json(
        {"model_stats": [_row("llm", 8, {"0": _resp(8), "1": _resp(6)}), _row("tokens", 6, {})]}
    )
    rates = mt.rates(mt.from_statistics(before.items), mt.from_statistics(after.items), 2.0, {})
    assert rates["llm"].resp_s == 5.0 and rates["llm"].inf_s == 2.0  # (14 - 4) responses in 2 s
    assert rates["tokens"].resp_s is None
    point = mt.Point(
        0.0, 2.0, rates, {}, {}, [], [], {}, decoupled={"llm": "tensorrtllm", "tokens": "python"}
    )
    assert point.responses_line("llm") == "llm: 5.0 responses/s (2.0 requests/s, 2.5 per request)"
    assert point.responses_line("tokens") == (
        "tokens: responses: not reported by this server for decoupled Python models"
    )
    assert point.responses_line("other") is None
