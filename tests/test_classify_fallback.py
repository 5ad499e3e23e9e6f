"""Headless ``classify IMAGE`` (no -m) while the ensembles are unloaded (a newcomer's trial, 2026-12): it fell back
to the backbone ``efficientnet_lite0_ort`` and printed its raw logits (`sports car (9.779)`, where the ensemble
says 0.735) with only its input's description on stderr. Now a note names the model chosen and why, and the
backbone's logits are shown as probabilities (softmax over its whole output, as docs/commands.md says).
A whole pipeline stands in before a backbone: the fused model, READY beside it, was passed over by name."""

from __future__ import annotations

import json

import pytest

from tests.conftest import image, run_cli
from tests.helpers import wait_until
from triton_console.tui.core.client.client import TritonClient

pytestmark = pytest.mark.server
ENSEMBLES = ("ensemble_python_efficientnet_lite0", "ensemble_python_resnet50")
BACKBONE = "efficientnet_lite0_ort"
FUSED = "fused_bytes_python_efficientnet_lite0"  # the first by name of the two fused models (both whole)


@pytest.fixture
def without_ensembles(server):
    client = TritonClient(server.grpc_url, "grpc", timeout=60)
    try:
        for name in ENSEMBLES:
            client.unload_model(name)
        wait_until(lambda: not any(client.is_model_ready(n) for n in ENSEMBLES), 60, "the ensembles unloaded")
        yield server
    finally:
        for name in ENSEMBLES:
            client.load_model(name)
        wait_until(lambda: all(client.is_model_ready(n) for n in ENSEMBLES), 120, "the ensembles back")
        client.close()


def test_classify_without_the_ensemble_says_who_stands_in_and_what_its_scores_are(without_ensembles):
    url = without_ensembles.grpc_url
    res = run_cli("classify", str(image("car.jpg")), "-u", url, "--json", timeout=120)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["model"] == FUSED and out["top"][0]["label"] == "sports car", out
    assert 0 < out["top"][0]["score"] <= 1, out  # its own probabilities
    assert f"{ENSEMBLES[0]} is not ready" in res.stderr and f"classifying with {FUSED}" in res.stderr, (
        res.stderr
    )

    res = run_cli("classify", str(image("car.jpg")), str(image("mug.jpg")), "-u", url, "-m", BACKBONE)
    assert res.returncode == 0, res.stderr
    # its logits as probabilities (softmax over the whole output), as the ensemble says them (it was 9.779)
    assert "sports car (0.73" in res.stdout.splitlines()[0], res.stdout
    assert "logits" not in res.stderr, res.stderr
