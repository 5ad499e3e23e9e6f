"""A newcomer's second trial of the headless commands (2026-12): what each said, and what it says now."""

from __future__ import annotations

import json

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
