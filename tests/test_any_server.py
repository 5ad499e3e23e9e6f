"""A v2 server that is not Triton: KServe's own ModelServer (pip kserve), over HTTP and gRPC."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request

import numpy as np
import pytest

from tests.conftest import ROOT, image, run_cli
from tests.helpers import free_ports, rendered, rows, wait_for, wait_until
from triton_console.tui.core.classify import preprocessing

pytestmark = pytest.mark.server
PROTOCOLS = ("http", "grpc")


class KServe:
    def __init__(self, certfile: str | None = None, keyfile: str | None = None) -> None:
        self.http, self.grpc = free_ports(2)
        tls = ["--certfile", certfile, "--keyfile", keyfile] if certfile else []
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.kserve_server",
                f"--http-port={self.http}",
                f"--grpc-port={self.grpc}",
                *tls,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not certfile:
            wait_until(self._up, 60, "KServe's ModelServer to answer")

    def _up(self) -> bool:
        try:
            return (
                urllib.request.urlopen(f"http://127.0.0.1:{self.http}/v2/health/live", timeout=1).status
                == 200
            )
        except OSError:
            return False

    def url(self, protocol: str) -> str:
        return f"http://127.0.0.1:{self.http}" if protocol == "http" else f"127.0.0.1:{self.grpc}"

    def args(self, protocol: str) -> list[str]:
        return ["-u", self.url(protocol), "-i", protocol]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture(scope="module")
def kserve():
    k = KServe()
    yield k
    k.stop()


def test_status_over_http_names_the_server_and_what_it_lacks(kserve):
    res = run_cli("status", *kserve.args("http"), "--json", timeout=60)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["server"] == {
        "name": "kserve",
        "version": "0.21.0",
        "extensions": ["model_repository_extension"],
    }
    assert out["models_from"] == "model list"
    assert {m["name"]: m["state"] for m in out["models"]} == {"doubler": "READY", "tiny_classifier": "READY"}
    caps = out["capabilities"]
    assert caps["model_list"] and not caps["index"] and not caps["statistics"] and not caps["classification"]
    assert "no statistics: latency from the client only" in out["notes"]
    text = run_cli("status", *kserve.args("http"), timeout=60).stdout
    assert "kserve 0.21.0" in text and "tritonserver" not in text


def test_status_over_grpc_lists_the_models_it_is_told(kserve):
    res = run_cli("status", *kserve.args("grpc"), "--json", timeout=60)
    assert res.returncode == 0, res.stderr  # a live server without an index is not an error
    out = json.loads(res.stdout)
    assert out["models"] == [] and any("models are the ones you name" in n for n in out["notes"])
    res = run_cli("status", *kserve.args("grpc"), "-m", "doubler", "-m", "nope", "--json", timeout=60)
    out = json.loads(res.stdout)
    assert out["models_from"] == "names given"
    assert {m["name"]: m["state"] for m in out["models"]} == {"doubler": "READY", "nope": "UNAVAILABLE"}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_infer_on_kserve(kserve, tmp_path, protocol):
    x = np.array([[1.5, -2, 3, 0.25]], dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    res = run_cli(
        "infer",
        "doubler",
        "--input",
        f"INPUT=@{tmp_path / 'x.npy'}",
        *kserve.args(protocol),
        "--json",
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    (out,) = json.loads(res.stdout)["outputs"]
    assert out["values"] == (x * 2).reshape(-1).tolist() and out["shape"] == [1, 4]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_classify_on_kserve_prepares_the_image_and_ranks_on_the_client(kserve, protocol):
    res = run_cli(
        "classify",
        str(image("car.jpg")),
        "-m",
        "tiny_classifier",
        *kserve.args(protocol),
        "--json",
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    rec = json.loads(res.stdout)
    assert (
        rec["path"] == "tensor IMAGE FP32 NCHW 3x4x4, RGB, scaling none (default)"
        and rec["scores"] == "softmax"
    )
    pixels = np.asarray(preprocessing.decode(image("car.jpg").read_bytes(), 4, 4), dtype=np.float32)
    scores = np.concatenate([pixels.mean(axis=(0, 1)), [0.5, 0.25]])
    probs = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    assert [t["index"] for t in rec["top"]] == np.argsort(-probs).tolist()
    assert np.allclose([t["score"] for t in rec["top"]], np.sort(probs)[::-1], atol=1e-5)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_server_and_models_panes_on_kserve(kserve, protocol):
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=kserve.url(protocol), protocol=protocol))
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.press("2")
            state = app.query_one("#state")
            await wait_for(
                pilot,
                lambda: "kserve 0.21.0" in rendered(state),
                20,
                "the server's own name",
                show=lambda: rendered(state),
            )
            assert "no statistics: latency from the client only" in rendered(state)
            assert "tritonserver" not in rendered(state)
            await pilot.press("3")
            index = app.query_one("#index")
            if protocol == "grpc":  # no list over gRPC: the user names the model
                await wait_for(
                    pilot,
                    lambda: "a adds one by name" in rendered(app.query_one("#models-note")),
                    10,
                    "the note",
                )
                await pilot.press("a")
                box = app.query_one("#models-filter")
                box.value = "doubler"
                await pilot.press("enter")
            await wait_for(
                pilot, lambda: rows(index).get("doubler", "").startswith("READY"), 20, "doubler READY"
            )
            detail = app.query_one("#detail-text")
            await wait_for(
                pilot,
                lambda: (
                    "INPUT FP32 [-1, 4]" in str(detail.render()) or "INPUT FP32" in " ".join(lines_of(detail))
                ),
                10,
                "its metadata",
            )
            await pilot.press("4")
            pane = app.query_one("ClassifyPane")
            if protocol == "http":
                await wait_for(pilot, lambda: "tiny_classifier" in pane.routes, 20, "the image model found")
            # no statistics API and no metrics endpoint: the Metrics pane says so first, not an empty table
            await pilot.press("5")
            head = app.query_one("#metrics-head")
            await wait_for(
                pilot,
                lambda: rendered(head).startswith("no source answered: statistics API"),
                15,
                "why the Metrics pane is empty",
                show=lambda: rendered(head),
            )
            assert "metrics endpoint" in rendered(head)
            await pilot.press("q")

    from tests.helpers import lines_of

    asyncio.run(scenario())


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_generate_on_a_server_without_the_extension_is_one_line(kserve, protocol):
    r = run_cli("generate", "doubler", *kserve.args(protocol), "--param", "INPUT=[1,2,3,4]", "--stream")
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not offer" in lines[0], r.stderr
