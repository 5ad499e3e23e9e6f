"""Headless defects a newcomer found (2026-12): classify's per-image errors without a ``code`` and without an
``error:`` line on stderr, bench's missing image with ``"code": null``, bench given the model as its first word
(as infer takes it), bench's hint naming infer's syntax, gRPC pointed at Triton's HTTP port saying only "Socket
closed", and a bench of a single model reporting its server time as ``ensemble_ms``."""

from __future__ import annotations

import json

import pytest

from tests.conftest import image, run_cli

pytestmark = pytest.mark.server
EFF = "ensemble_python_efficientnet_lite0"
FUSED = "fused_python_efficientnet_lite0"


def test_classify_of_a_missing_file_gives_a_code_and_one_error_line(server, tmp_path):
    """``{"image", "error"}`` and nothing on stderr: infer and bench say ``code`` and ``error: ...``."""
    missing = str(tmp_path / "no" / "such.jpg")
    res = run_cli("classify", missing, "-m", FUSED, "-u", server.grpc_url, "--json", timeout=60)
    assert res.returncode == 1, res.stderr
    assert json.loads(res.stdout) == {
        "image": missing,
        "error": "no such file or directory",
        "code": "no-such-file",
    }
    assert res.stderr.splitlines() == [f"error: {FUSED}: {missing}: no such file or directory"], res.stderr


def test_classify_with_some_failures_says_how_many_on_stderr(server, tmp_path):
    missing, folder = str(tmp_path / "gone.jpg"), tmp_path / "empty"
    folder.mkdir()
    for as_json in (False, True):
        res = run_cli(
            "classify", missing, str(image("car.jpg")), str(folder), "-m", FUSED, "-u", server.grpc_url,
            *(["--json"] if as_json else []), timeout=60,
        )  # fmt: skip
        assert res.returncode == 1, res.stderr
        errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
        assert errors == [
            f"error: {FUSED}: 2 of 3 images failed; the first: {missing}: no such file or directory"
        ]
        if as_json:
            codes = [json.loads(ln).get("code", "absent") for ln in res.stdout.splitlines()]
            assert codes == ["no-such-file", "absent", "unreadable-file"], res.stdout


def test_bench_of_a_missing_image_gives_the_same_code(server, tmp_path):
    missing = str(tmp_path / "such.jpg")
    res = run_cli("bench", missing, "-m", FUSED, "-u", server.grpc_url, "--json", timeout=60)
    assert res.returncode == 2, res.stderr
    said = json.loads(res.stdout)
    assert said == {"model": FUSED, "error": f"{missing}: no such file or directory", "code": "no-such-file"}
    assert res.stderr.splitlines() == [f"error: {missing}: no such file or directory"]


@pytest.mark.parametrize("more", [[], ["car.jpg"]])
def test_bench_given_the_model_first_says_it_takes_the_model_with_m(server, more):
    """``bench MODEL`` (as infer, trace, tune and compare take their model) said "MODEL: no such file or
    directory"."""
    words = [str(image(m)) for m in more]
    res = run_cli("bench", FUSED, *words, "-u", server.grpc_url, "--json", timeout=60)
    assert res.returncode == 2, res.stderr
    tail = words[0] if words else "IMAGE..."
    said = f"{FUSED}: no such file; bench takes the model with -m: triton-console bench -m {FUSED} {tail}"
    assert json.loads(res.stdout)["error"] == said
    assert res.stderr.splitlines() == [f"error: {said}"]


def test_bench_of_an_image_model_without_images_names_benchs_own_syntax(server):
    """The hint said "or the image after the model's name": infer's syntax, which bench reads as an image."""
    res = run_cli("bench", "-m", FUSED, "-u", server.grpc_url, timeout=60)
    assert res.returncode == 2, res.stderr
    assert res.stderr.splitlines() == [
        f"error: {FUSED} takes encoded images in INPUT: give image files or a folder "
        f"(bench: `triton-console bench -m {FUSED} car.jpg`, or a folder instead of car.jpg)"
    ]


def test_grpc_pointed_at_the_http_port_says_so(server):
    """gRPC (the default) on Triton's HTTP port said only "... Socket closed"; the opposite mistake already
    said "answered, but not over HTTP: is it the gRPC port?"."""
    hostport = server.http_url
    res = run_cli("status", "-u", hostport, "--json", timeout=60)
    assert res.returncode == 2, res.stderr
    said = f"{hostport} answered, but not over gRPC: is it the HTTP port? try http://{hostport}"
    out = json.loads(res.stdout)
    assert out["live"] is False and out["error"] == said and out["code"] == "not-grpc", out
    assert res.stderr.splitlines() == [f"error: {said}"]
    ok = run_cli("status", "-u", f"http://{hostport}", "--json", timeout=60)
    assert ok.returncode == 0 and json.loads(ok.stdout)["live"] is True, ok.stderr
    # the metrics port answers any path with 200 too: its text says which port it is
    metrics = f"127.0.0.1:{server.cfg.metrics_port}"
    res = run_cli("status", "-u", metrics, "--json", timeout=60)
    said = f"{metrics} answered, but not over gRPC: it is a metrics port (Triton's gRPC port is usually 1 below it)"
    assert res.returncode == 2 and json.loads(res.stdout)["error"] == said, res.stdout


def test_bench_of_a_single_model_names_its_server_time_model_ms(server):
    """The fused model (no ensemble) reported ``"server": {"ensemble_ms": 56.8, "steps": []}``."""
    car = str(image("car.jpg"))
    timed = {}
    for model in (FUSED, EFF):
        res = run_cli(
            "bench", car, "-m", model, "-u", server.grpc_url, "--requests", "5", "--warmup", "1", "--json",
            timeout=120,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        timed[model] = json.loads(res.stdout)["server"]
    assert set(timed[FUSED]) == {"model_ms", "steps"} and timed[FUSED]["steps"] == [], timed
    assert timed[FUSED]["model_ms"] > 0
    assert set(timed[EFF]) == {"ensemble_ms", "steps"} and timed[EFF]["ensemble_ms"] > 0  # as it was
    assert [s["model"] for s in timed[EFF]["steps"]] == [
        "preprocess",
        "efficientnet_lite0_ort",
        "postprocess",
    ]
