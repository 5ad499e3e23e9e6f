"""The fused layout (``build --layout fused``) on the real bundled server: the same answers as the ensemble,
its own timings, correct per-request results inside a dynamic batch, and a place in the console."""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.conftest import EXPECTED, run_cli, url_args
from tests.helpers import rows, wait_for
from triton_console.build_tools import catalog, pipeline, repository
from triton_console.common.errors import ConsoleError
from triton_console.tui.core.classify.classifier import classify

pytestmark = pytest.mark.server
ENSEMBLE = "ensemble_python_efficientnet_lite0"
FUSED = catalog.MODELS["efficientnet-lite0"].fused


def _probs(server, model: str, data: bytes) -> np.ndarray:
    import tritonclient.grpc as tc

    raw = tc.InferenceServerClient(server.grpc_url)
    arr = np.frombuffer(data, dtype=np.uint8).reshape(1, -1)
    inp = tc.InferInput("INPUT", list(arr.shape), "UINT8")
    inp.set_data_from_numpy(arr)
    return raw.infer(model, [inp], outputs=[tc.InferRequestedOutput("OUTPUT")]).as_numpy("OUTPUT")[0]


def test_fused_answers_like_the_ensemble(server, images_dir):
    """Same top-1 as the ensemble and the known class on every test image; probabilities within 1e-4."""
    for name, (index, _label) in EXPECTED.items():
        data = (images_dir / name).read_bytes()
        ens, fused = _probs(server, ENSEMBLE, data), _probs(server, FUSED, data)
        assert fused.shape == (1000,) and fused.dtype == np.float32
        assert int(np.argmax(fused)) == int(np.argmax(ens)) == index, name
        assert float(np.max(np.abs(fused - ens))) <= 1e-4, name
        assert abs(float(fused.sum()) - 1.0) < 1e-4


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_classify_cli_reports_the_fused_models_timings(server, images_dir, protocol):
    res = run_cli("classify", str(images_dir), *url_args(server, protocol), "-m", FUSED, "--json")
    assert res.returncode == 0, res.stderr
    records = {r["image"].rsplit("/", 1)[-1]: r for r in map(json.loads, res.stdout.splitlines())}
    for name, (index, label) in EXPECTED.items():
        rec = records[name]
        assert (rec["top"][0]["index"], rec["top"][0]["label"]) == (index, label)
        timings = rec["timings_ms"]
        assert set(timings) == {"decode", "backbone", "softmax", "batch"}
        assert timings["batch"] >= 1 and timings["decode"] > 0 and timings["backbone"] > 0
        assert timings["decode"] + timings["backbone"] + timings["softmax"] < rec["latency_ms"]


def test_ragged_dynamic_batch_gives_each_request_its_own_answer(server, images_dir):
    """Many images of different sizes in flight at once: batches form, and no answer lands on the wrong request."""
    from triton_console.tui.core.client.client import TritonClient

    names = list(EXPECTED) * 8
    datas = {n: (images_dir / n).read_bytes() for n in EXPECTED}

    def one(name: str):
        c = TritonClient(server.grpc_url, "grpc", timeout=120)
        try:
            return name, classify(c, FUSED, datas[name], 1)
        finally:
            c.close()

    alone = {n: one(n)[1] for n in EXPECTED}
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(one, names))
    for name, result in results:
        assert result.top[0].index == EXPECTED[name][0], name
        assert abs(result.top[0].score - alone[name].top[0].score) < 1e-4, name
    # batches of 4 or more run on the CPU in two slices (backbone on one while the next decodes)
    assert max(dict(r.timings)["batch"] for _, r in results) >= 4, "no dynamic batch of 4 formed"


def test_a_bad_image_in_a_batch_fails_only_its_own_request(server, images_dir):
    import tritonclient.grpc as tc
    from tritonclient.utils import InferenceServerException

    raw = tc.InferenceServerClient(server.grpc_url)
    good = np.frombuffer((images_dir / "car.jpg").read_bytes(), dtype=np.uint8).reshape(1, -1)
    bad = np.frombuffer(b"\xff\xd8\xff\xe0 not a jpeg at all" * 4, dtype=np.uint8).reshape(1, -1)
    futures = []

    def request(arr):
        inp = tc.InferInput("INPUT", list(arr.shape), "UINT8")
        inp.set_data_from_numpy(arr)
        try:
            return raw.infer(FUSED, [inp]).as_numpy("OUTPUT")
        except InferenceServerException as exc:
            return exc.message()

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(request, good if i % 2 else bad) for i in range(16)]
    for i, f in enumerate(futures):
        out = f.result()
        if i % 2:
            assert isinstance(out, np.ndarray) and int(np.argmax(out)) == 817
        else:
            assert isinstance(out, str) and "Traceback" not in out and out, out
    assert raw.is_model_ready(FUSED)


def test_fused_model_in_the_console(server, images_dir):
    """Listed beside the ensemble in the Models pane, offered in the Classify pane, with where the time went."""
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.classify import ClassifyPane
    from triton_console.tui.panes.models import ModelsPane

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc", start_dir=str(images_dir)))
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("3")
            index = app.query_one(ModelsPane).query_one("#index")
            await wait_for(pilot, lambda: FUSED in rows(index), 30, "the fused model listed")
            assert ENSEMBLE in rows(index) and "READY" in rows(index)[FUSED]
            await pilot.press("4")
            pane = app.query_one(ClassifyPane)
            await wait_for(pilot, lambda: FUSED in pane.routes, 30, "the fused model offered")
            pane.query_one("#model").value = FUSED
            car = str(images_dir / "car.jpg")
            pane.classify([car])
            table = pane.query_one("#breakdown")
            await wait_for(pilot, lambda: "sports car" in rows(table).get(car, ""), 60, "car classified")
            steps = str(table.get_cell(car, "steps")).split("/")
            assert len(steps) == 4 and all(float(s) >= 0 for s in steps[:3]), steps
            detail = str(pane.query_one("#row-detail").render())
            assert "decode" in detail and "backbone" in detail and re.search(r"ms, batch \d", detail), detail
            await pilot.press("q")

    asyncio.run(scenario())


def test_build_refuses_a_backbone_the_fused_layout_cannot_run(tmp_path):
    for backbone in ("onnxruntime", "tensorrt"):
        with pytest.raises(ConsoleError, match="fused layout runs its backbone in Python"):
            pipeline.build("efficientnet-lite0", "random", backbone, tmp_path / "r", layout="fused")
    assert not (tmp_path / "r").exists()


def test_fused_repository_contents(repo):
    """One model directory, the shared runtime beside its model.py, a parsed config with TIMINGS."""
    assert repository.has_model(repo, "efficientnet-lite0", "fused")
    assert repository.has_model(repo, "efficientnet-lite0", "ensemble")
    version = repo / FUSED / "1"
    for f in ("model.py", "triton_console_runtime.py", "imagenet_preprocessing.py", "model.onnx"):
        assert (version / f).is_file(), f
    config = repository.read_config(repo / FUSED / "config.pbtxt")
    assert [o.name for o in config.output] == ["OUTPUT", "TIMINGS"]
    assert config.backend == "python" and config.max_batch_size == 256
    # on onnxruntime, the fused model and the ensemble's backbone alike: spin on after a lone image, never
    # under load (the decoders have the cores then; make bench's spinning section)
    assert config.parameters["ort_spinning"].string_value == "lone"
    backbone = repository.read_config(repo / "efficientnet_lite0_ort" / "config.pbtxt")
    assert backbone.parameters["ort_spinning"].string_value == "lone"
    marker = repository.read_marker(repo)["ensembles"][FUSED]
    assert marker["layout"] == "fused" and marker["models"] == [FUSED]


@pytest.mark.parametrize("value", ["true", "false", "run", "lone", ""])
def test_every_onnxruntime_spinning_mode_gives_the_same_logits(repo, value):
    """ort_spinning "run" (the CPU default, threads spin only during a run) is a session option, not another
    computation: each mode answers an image and a batch exactly like onnxruntime's default."""
    from tests.test_gpu_path import _runtime

    runtime = _runtime()
    mode = runtime.spinning_of(value)
    assert mode == {"true": True, "false": False, "run": "run", "lone": "lone", "": True}[value]
    path = str(repo / FUSED / "1" / "model.onnx")
    batch = np.random.default_rng(0).random((2, 3, 224, 224), dtype=np.float32)
    plain = runtime.OrtRunner(path)
    runner = runtime.OrtRunner(path, spinning=mode)
    # a lone image first ("lone": its own session; within the load window after a batch it would not be)
    assert np.array_equal(runner.forward([batch[:1]]), plain.forward([batch[:1]]))
    assert np.array_equal(runner.forward([batch]), plain.forward([batch]))
