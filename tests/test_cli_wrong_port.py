"""A newcomer's second trial of the headless commands (2026-12): what each said, and what it says now."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import image, run_cli

FUSED = "fused_python_efficientnet_lite0"


def _wrong_port(server, protocol: str) -> tuple[str, str, str]:
    """(the -u value, the one error line, its code) for a client of ``protocol`` on the other port."""
    if protocol == "grpc":  # gRPC (the default) on the HTTP port
        hostport = server.http_url
        return (
            hostport,
            f"{hostport} answered, but not over gRPC: is it the HTTP port? try http://{hostport}",
            "not-grpc",
        )
    hostport = server.grpc_url
    said = f"{hostport} answered, but not over HTTP: is it the gRPC port? try grpc://{hostport}"
    return f"http://{hostport}", said, "not-http"


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_classify_without_a_model_on_the_wrong_port_says_so(server, protocol):
    """It said "no ready image model on grpc://HOST:8000; pass -m MODEL" (exit 2, JSON code null)."""
    url, said, code = _wrong_port(server, protocol)
    res = run_cli("classify", str(image("car.jpg")), "-u", url, timeout=60)
    assert res.returncode == 2 and res.stderr.splitlines() == [f"error: {said}"], res.stderr
    res = run_cli("classify", str(image("car.jpg")), "-u", url, "--json", timeout=60)
    assert res.returncode == 2
    assert json.loads(res.stdout) == {"model": None, "error": said, "code": code}


def test_infer_on_the_wrong_port_says_so_and_exits_2(server):
    """It said "model '...' is not ready on grpc://HOST:8000 (not loaded)", exit 1 (unreachable is 2)."""
    url, said, code = _wrong_port(server, "grpc")
    res = run_cli("infer", FUSED, "-u", url, timeout=60)
    assert res.returncode == 2 and res.stderr.splitlines() == [f"error: {said}"], res.stderr
    res = run_cli("infer", FUSED, "-u", url, "--json", timeout=60)
    assert res.returncode == 2
    assert json.loads(res.stdout) == {"model": FUSED, "error": said, "code": code}


def test_metrics_on_the_http_port_says_so_and_exits_2(server):
    """gRPC assumed on the HTTP port: the metrics URL was taken as port + 1 (the trial's gRPC port), its HTTP/2
    frames were printed as the reason, no source could be read, and it exited 0."""
    url, said, _ = _wrong_port(server, "grpc")
    res = run_cli("metrics", "-u", url, "--count", "1", "--interval", "0.5", timeout=60)
    assert res.returncode == 2 and res.stderr.splitlines() == [f"error: {said}"], res.stderr
    assert res.stdout == ""


def test_metrics_url_on_the_grpc_port_is_named_not_printed_as_bytes(server):
    hostport = server.grpc_url
    res = run_cli(
        "metrics", "-u", f"http://{server.http_url}", "--metrics-url", f"http://{hostport}/metrics",
        "--count", "1", "--interval", "0.5", "--json", timeout=60,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr  # the statistics API is one source
    point = json.loads(res.stdout)
    assert point["sources"] == ["statistics API"]
    assert point["missing"] == [
        f"metrics endpoint (cannot read metrics at http://{hostport}/metrics: {hostport} answered as an HTTP/2 "
        "(gRPC) server, not with Prometheus text: is it the gRPC port? Triton's metrics port is usually 1 above "
        "it (--metrics-url URL))"
    ]


def test_metrics_without_any_source_fails(monkeypatch, capsys):
    """No statistics API and no metrics endpoint: one error line, exit 1 (it printed empty tables, exit 0)."""
    from triton_console.common.errors import ConsoleError
    from triton_console.tui.commands import metrics as cmd
    from triton_console.tui.core.server import metrics as mt

    point = mt.Point(0.0, 1.0, {}, {}, {}, [], ["statistics API (x)", "metrics endpoint (y)"], {}, [])
    monkeypatch.setattr(mt.Poller, "poll", lambda self: point)
    monkeypatch.setattr(cmd, "client", lambda args: type("C", (), {"url": "grpc://h:1"})())
    args = type("A", (), {"interval": 0.5, "count": 1, "json": False})()
    with pytest.raises(ConsoleError) as info:
        cmd.run(args)
    assert info.value.exit_code == 1 and info.value.code == "unsupported"
    assert info.value.message == (
        "no metrics source could be read on grpc://h:1: statistics API (x); metrics endpoint (y)"
    )


def test_load_of_a_model_the_repository_lacks_says_so_as_unload_does(server):
    """It printed Triton's "failed to poll from model repository" with code null; unload said "not found"."""
    res = run_cli("load", "nosuch", "-u", server.grpc_url, "--json", timeout=60)
    assert res.returncode == 1, res.stderr
    out = json.loads(res.stdout)
    assert out["ok"] is False and out["code"] == "model-not-found", out
    said = f"model 'nosuch' not found: the repository of grpc://{server.grpc_url} has no model of that name"
    assert out["error"] == said
    res = run_cli("load", "nosuch", "-u", server.grpc_url, timeout=60)
    assert res.returncode == 1 and res.stdout.splitlines() == [f"nosuch: load failed: {said}"], res.stdout


def test_trace_and_infer_take_a_folder_as_their_hint_says(server, images_dir, tmp_path):
    """The hint said "give image files or a folder"; the folder then failed "is a directory", exit 2."""
    res = run_cli("trace", FUSED, "-u", server.grpc_url, timeout=60)
    assert res.returncode == 2 and "give image files or a folder" in res.stderr, res.stderr
    note = (
        f"note: {images_dir} is a folder: sending its first image, {images_dir / 'car.jpg'} "
        "(and 2 more, not sent: give one file to choose)"
    )
    res = run_cli(
        "trace", FUSED, str(images_dir), "-u", server.grpc_url, "--count", "2", "--json", timeout=120
    )
    assert res.returncode == 0 and res.stderr.splitlines() == [note], res.stderr
    assert json.loads(res.stdout)
    res = run_cli("infer", FUSED, str(images_dir), "-u", server.grpc_url, "--json", timeout=60)
    assert res.returncode == 0 and res.stderr.splitlines() == [note], res.stderr
    assert json.loads(res.stdout)["inputs"][0]["source"] == f"@{images_dir / 'car.jpg'}"
    res = run_cli("infer", FUSED, str(tmp_path), "-u", server.grpc_url, timeout=60)
    assert res.returncode == 2 and res.stderr.splitlines() == [
        f"error: {tmp_path}: a folder with no image files in it"
    ]


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_classify_of_a_backbone_shows_probabilities_not_logits(server, protocol):
    """docs/commands.md says softmax on the client when a tensor model returns logits; it printed the server's
    top-k of logits (``sports car (9.779)``, ``"scores": "model"``) with a note on stderr."""
    url = server.grpc_url if protocol == "grpc" else f"http://{server.http_url}"
    car = str(image("car.jpg"))
    res = run_cli(
        "classify", car, "-m", "efficientnet_lite0_ort", "-u", url, "-k", "2", "--json", timeout=120
    )
    assert res.returncode == 0, res.stderr
    rec = json.loads(res.stdout)
    assert rec["scores"] == "softmax" and [t["index"] for t in rec["top"]] == [817, 511], rec
    assert abs(rec["top"][0]["score"] - 0.735) < 0.01  # what the ensemble (softmax in the model) says
    res = run_cli("classify", car, "-m", "efficientnet_lite0_ort", "-u", url, timeout=120)
    assert res.returncode == 0 and res.stdout.startswith(f"{car}: sports car (0.73"), res.stdout
    assert "logits" not in res.stderr, res.stderr


def test_classify_json_is_ascii_as_the_docs_example_shows(server):
    """docs/commands.md showed ``"path": "encoded bytes → INPUT UINT8"``; the output escapes the arrow."""
    from tests.conftest import ROOT

    res = run_cli(
        "classify", str(image("car.jpg")), "-m", FUSED, "-u", server.grpc_url, "--json", timeout=120
    )
    assert res.returncode == 0, res.stderr
    said = '"path": "encoded bytes \\u2192 INPUT UINT8"'
    assert said in res.stdout and res.stdout.isascii(), res.stdout
    assert json.loads(res.stdout)["path"] == "encoded bytes → INPUT UINT8"
    example = [
        line for line in (ROOT / "docs" / "commands.md").read_text().splitlines() if '"path": "' in line
    ]
    assert example and all(said in line for line in example), example


def test_status_all_ping_is_a_round_trip_not_the_connection_setup(server, tmp_path):
    """``status --all`` said 115-245 ms to localhost where the Servers pane said <1 ms: it timed the client's
    first call, which also connects (and imports the protocol's client)."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}  # an empty servers file: the current row only
    res = run_cli("status", "--all", "-u", server.grpc_url, "--json", timeout=60, env=env)
    assert res.returncode == 0, res.stderr
    row = json.loads(res.stdout)
    assert row["current"] is True and row["live"] is True, row
    assert row["ping_ms"] < 50, row  # a loopback round trip (it was 115-245 ms, ~136 here)
