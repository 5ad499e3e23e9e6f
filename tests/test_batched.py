"""The fused-bytes layout (``build --layout fused-bytes``): k images of different sizes in one request
(IMAGES BYTES [1] with a batch dimension), through classify, bench and the raw protocol, with the same top-1
as one image per request; the ensemble's INPUT UINT8 [-1] contract is untouched and says why it takes one."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.conftest import EXPECTED, run_cli, url_args
from triton_console.build_tools import catalog
from triton_console.common.errors import ConsoleError
from triton_console.tui.core.classify.classifier import classify_many
from triton_console.tui.core.client.client import TritonClient

pytestmark = pytest.mark.server
SPEC = catalog.MODELS["efficientnet-lite0"]
BATCHED, ENSEMBLE = SPEC.fused_bytes, SPEC.ensemble
NAMES = list(EXPECTED)  # mug (8.5 Mpx), car, vulture: three sizes in one request


def _raw(server, model: str, datas: list[bytes]) -> np.ndarray:
    """tritonclient alone: the images as BYTES [k, 1]."""
    import tritonclient.grpc as tc

    arr = np.empty((len(datas), 1), dtype=np.object_)
    arr[:, 0] = datas
    inp = tc.InferInput("IMAGES", list(arr.shape), "BYTES")
    inp.set_data_from_numpy(arr)
    client = tc.InferenceServerClient(server.grpc_url)
    return client.infer(model, [inp], outputs=[tc.InferRequestedOutput("OUTPUT")]).as_numpy("OUTPUT")


def test_k_images_in_one_request_answer_as_one_per_request(server, images_dir):
    datas = [(images_dir / n).read_bytes() for n in NAMES]
    together = _raw(server, BATCHED, datas)
    assert together.shape == (3, 1000)
    alone = np.concatenate([_raw(server, BATCHED, [d]) for d in datas])
    assert [int(i) for i in together.argmax(1)] == [EXPECTED[n][0] for n in NAMES]
    assert float(np.max(np.abs(together - alone))) <= 1e-4
    sixteen = _raw(server, BATCHED, [datas[i % 3] for i in range(16)])
    assert [int(i) for i in sixteen.argmax(1)] == [EXPECTED[NAMES[i % 3]][0] for i in range(16)]


def test_requests_of_different_k_in_flight_each_get_their_own_rows(server, images_dir):
    datas = [(images_dir / n).read_bytes() for n in NAMES]
    jobs = [[datas[(s + j) % 3] for j in range(k)] for s, k in enumerate([1, 4, 2, 16, 3, 1, 5, 7] * 2)]
    with ThreadPoolExecutor(8) as pool:
        outs = list(pool.map(lambda g: _raw(server, BATCHED, g), jobs))
    for group, out in zip(jobs, outs, strict=True):
        want = [EXPECTED[NAMES[datas.index(d)]][0] for d in group]
        assert [int(i) for i in out.argmax(1)] == want


def test_a_bad_image_fails_its_request_and_names_it(server, images_dir):
    import tritonclient.grpc as tc

    good = (images_dir / "car.jpg").read_bytes()
    with pytest.raises(tc.InferenceServerException, match="image 2 of 3"):
        _raw(server, BATCHED, [good, b"not an image", good])
    assert int(_raw(server, BATCHED, [good]).argmax()) == 817  # the model still serves


def test_classify_cli_sends_k_images_per_request(server, images_dir):
    paths = [str(images_dir / n) for n in NAMES]
    res = run_cli("classify", *paths, *url_args(server, "grpc"), "-m", BATCHED, "--batch", "3", "--json")
    assert res.returncode == 0, res.stderr
    records = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["top"][0]["index"] for r in records] == [EXPECTED[n][0] for n in NAMES]
    assert [r["top"][0]["label"] for r in records] == [EXPECTED[n][1] for n in NAMES]
    assert len({r["latency_ms"] for r in records}) == 1  # one request's latency
    assert {r["timings_ms"]["batch"] for r in records} >= {3}


def test_the_ensemble_keeps_one_image_per_request_and_says_why(server, images_dir):
    datas = [(images_dir / n).read_bytes() for n in NAMES]
    client = TritonClient(server.grpc_url, "grpc")
    with pytest.raises(ConsoleError, match="fused-bytes"):
        classify_many(client, ENSEMBLE, datas)
    one = classify_many(client, ENSEMBLE, datas[:1])
    assert one[0].top[0].index == EXPECTED[NAMES[0]][0]


def test_bench_sends_k_images_per_request(server, images_dir):
    res = run_cli(
        "bench", str(images_dir), *url_args(server, "grpc"), "-m", BATCHED, "--batch", "4",
        "--concurrency", "2", "--requests", "12", "--warmup", "2", "--json",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    step = json.loads(res.stdout.splitlines()[-1])
    assert step["errors"] == 0 and step["count"] == 12
    assert step["inferences_per_s"] == pytest.approx(4 * step["throughput"], rel=0.01)
