"""The plain text of trace, status --probe and metrics fits the terminal (COLUMNS, else 80 through a pipe) and
keeps every figure: a newcomer on an 80-column terminal saw 87-96 columns (the README's commands)."""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.conftest import image, run_cli, url_args
from tests.test_metrics import EFF, Load

pytestmark = pytest.mark.server
FIGURE = re.compile(r"\d+\.\d+")


def _env(columns: int | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return env


def _fits(text: str, columns: int) -> list[str]:
    lines = text.splitlines()
    assert lines and max(len(ln) for ln in lines) <= columns, [ln for ln in lines if len(ln) > columns]
    return lines


@pytest.mark.parametrize("columns", [80, None])  # None: no COLUMNS, stdout a pipe: 80
def test_trace_fits_80_columns_with_whole_step_names_and_every_figure(server, columns):
    res = run_cli(
        "trace", EFF, str(image("car.jpg")), *url_args(server, "grpc"), "--count", "2", env=_env(columns)
    )
    assert res.returncode == 0, res.stderr
    lines = _fits(res.stdout, 80)
    rows = [ln for ln in lines if "│" in ln]
    assert len(rows) >= 2 * 9, lines  # three steps' four stages and the ensemble's send, per request
    assert all(ln.rstrip().endswith(" ms") and FIGURE.search(ln.split("│")[-1]) for ln in rows), rows
    summary = lines[lines.index("per stage over 2 requests, ms") + 1 :]
    assert len(summary) >= 9 and all(len(FIGURE.findall(ln)) == 2 for ln in summary), summary
    text = res.stdout
    for step in ("preprocess", "efficientnet_lite0_ort", "postprocess", EFF):
        assert f"  {step} " in text, step  # whole, never "ensemble_python_eff…"


def test_trace_honours_a_wider_terminal(server):
    res = run_cli(
        "trace", EFF, str(image("car.jpg")), *url_args(server, "grpc"), "--count", "1", env=_env(120)
    )
    assert res.returncode == 0, res.stderr
    widths = [len(ln) for ln in _fits(res.stdout, 120) if "│" in ln]
    assert max(widths) == 120  # the bars take the room there is


def test_status_probe_fits_80_columns_with_every_latency(server):
    models = [EFF, "fused_python_efficientnet_lite0", "preprocess"]
    argv = [a for m in models for a in ("-m", m)]
    res = run_cli("status", *url_args(server, "grpc"), "--probe", *argv, env=_env(80), timeout=120)
    assert res.returncode == 0, res.stderr
    lines = _fits(res.stdout, 80)
    for m in models:
        row = lines.index(next(ln for ln in lines if ln.startswith(f"  {m} ")))
        assert "READY" in lines[row] and re.fullmatch(r"    probe: ok in \d+\.\d ms", lines[row + 1]), lines


def test_status_wraps_a_long_reason_and_keeps_all_of_it(zoo):
    """boom's reason (its initialize's traceback) ran off the edge on the model's line."""
    res = run_cli("status", *url_args(zoo, "grpc"), "--json", timeout=120)
    reason = {m["name"]: m["reason"] for m in json.loads(res.stdout)["models"]}["boom"]
    res = run_cli("status", *url_args(zoo, "grpc"), env=_env(80), timeout=120)
    lines = _fits(res.stdout, 80)
    start = lines.index(next(ln for ln in lines if ln.startswith("    reason: ")))
    boom = lines.index(next(ln for ln in lines if ln.startswith("  boom ")))
    assert "UNAVAILABLE" in lines[boom] and lines[boom + 1].startswith("    why: ") and start > boom
    said = [lines[start].removeprefix("    reason: ")]
    for ln in lines[start + 1 :]:
        if not ln.startswith("      "):
            break
        said.append(ln.strip())
    words, whole = " ".join(said).split(), reason.split()
    assert len(reason) > 80 and words[:7] == whole[:7] and len(words) == len(whole), (said, reason)
    assert words[-1] == "initialize" and any(w.endswith("model.py(7):") for w in words)  # past column 80


def test_metrics_fits_80_columns_with_every_figure(server):
    with Load(server.grpc_url):
        res = run_cli(
            "metrics",
            *url_args(server, "grpc"),
            "--metrics-url",
            server.metrics_url,
            "--interval",
            "1",
            "--count",
            "2",
            env=_env(80),
            timeout=60,
        )
    assert res.returncode == 0, res.stderr
    lines = _fits(res.stdout, 80)
    header = next(ln for ln in lines if ln.lstrip().startswith("model "))
    assert header.split()[1:] == ["inf/s", "exec/s", "batch", "queue", "ms", "compute", "ms", "fail/s"]
    last = lines[len(lines) - 1 - lines[::-1].index(header) :]
    row = last.index(f"  {EFF}")  # longer than its column: a line of its own, the figures beneath
    figures = [float(x) for x in last[row + 1].split()]
    assert len(figures) == 6 and figures[0] > 0 and figures[4] > 0, last  # inf/s and compute ms
    rows = [len(FIGURE.findall(ln)) for ln in last[1:] if not ln.startswith("  GPU")]
    assert set(rows) <= {0, 6} and rows.count(6) >= 5, last  # a name alone, or a model's six figures


def test_compare_fits_80_columns_with_every_figure_and_its_path(server):
    """117 columns at 80: a 36-cell name column and the inputs' path at the end of each row."""
    res = run_cli(
        "compare", EFF, "efficientnet_lite0_ort", str(image("car.jpg")), *url_args(server, "grpc"),
        env=_env(80), timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = _fits(res.stdout, 80)
    assert lines[1].split() == ["model", "top-1", "top-5", "max|Δ|", "p50", "ms", "p95", "ms", "req/s"]
    eff = lines.index(f"  {EFF}")  # longer than its column: a line of its own, the figures beneath
    ort = lines.index(next(ln for ln in lines if ln.startswith("  efficientnet_lite0_ort ")))
    for row in (lines[eff + 1], lines[ort]):
        figures = row.split()[-6:]
        assert figures[:2] == ["100%", "100%"] and len(FIGURE.findall(" ".join(figures))) == 4, row
    assert lines[eff + 2] == "    path: encoded bytes → INPUT UINT8", lines
    assert lines[ort + 1].startswith("    path: tensor input FP32 NCHW 3x224x224"), lines


def test_bench_fits_80_columns_with_its_server_breakdown(server):
    """Its first line was 120 columns at 80, and each step of the server's breakdown 84."""
    res = run_cli(
        "bench", str(image("car.jpg")), *url_args(server, "grpc"), "-m", EFF, "--requests", "4",
        "--warmup", "1", env=_env(80), timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = _fits(res.stdout, 80)
    assert lines[0].startswith(f"{EFF}: 1 image(s) as encoded bytes") and lines[1].startswith("    ")
    assert " ".join(ln.strip() for ln in lines[:2]).endswith("warm-up 1 requests per step, not counted")
    steps = {ln.split()[0]: ln for ln in lines if ln.startswith("    ") and " queue " in ln}
    assert set(steps) == {"preprocess", "efficientnet_lite0_ort", "postprocess"}, lines
    assert all(len(FIGURE.findall(ln)) == 3 and ln.endswith(" avg batch 1.0") for ln in steps.values())


def test_infer_top5_fits_80_columns_with_whole_entries(server):
    """The top-5 line was 141 columns at 80: it wraps between entries, each index, label and score whole."""
    res = run_cli("infer", "efficientnet_lite0_ort", *url_args(server, "grpc"), env=_env(80), timeout=120)
    assert res.returncode == 0, res.stderr
    lines = _fits(res.stdout, 80)
    start = lines.index(next(ln for ln in lines if ln.startswith("    top-5 (softmax): ")))
    said = " ".join(ln.strip() for ln in lines[start:]).removeprefix("top-5 (softmax): ")
    entries = said.split(", ")
    assert len(entries) == 5 and all(re.fullmatch(r"\d+ \S.* \d\.\d{4}", e) for e in entries), entries
    assert all(ln.startswith("        ") for ln in lines[start + 1 :]) and len(lines) > start + 1
    for ln in lines[start:]:  # wrapped between entries: no line ends inside one
        assert ln.endswith(",") or ln is lines[-1] or ln.endswith(":"), lines[start:]
