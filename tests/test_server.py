"""End to end on the real bundled tritonserver: the generated ensembles answer correctly over both protocols."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tritonclient.grpc import model_config_pb2 as mc

from tests.conftest import EXPECTED, image, run_cli, url_args
from triton_console.tui.core.classify.classifier import classify

pytestmark = pytest.mark.server


def test_status_lists_every_model_ready(server, client):
    assert client.is_live() and client.is_ready()
    states = {m.name: m.state for m in client.repository_index().items}
    for name in (
        "preprocess",
        "postprocess",
        "efficientnet_lite0_ort",
        "resnet50_ort",
        "ensemble_python_efficientnet_lite0",
        "ensemble_python_resnet50",
    ):
        assert states[name] == "READY", states


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_classify_cli_gets_the_true_classes(server, images_dir, protocol):
    res = run_cli(
        "classify",
        str(images_dir),
        *url_args(server, protocol),
        "-m",
        "ensemble_python_efficientnet_lite0",
        "-k",
        "5",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    records = {r["image"].rsplit("/", 1)[-1]: r for r in map(json.loads, res.stdout.splitlines())}
    assert set(records) == set(EXPECTED)
    for name, (index, label) in EXPECTED.items():
        rec = records[name]
        assert rec["model"] == "ensemble_python_efficientnet_lite0"
        assert (rec["top"][0]["index"], rec["top"][0]["label"]) == (index, label)
        assert len(rec["top"]) == 5 and rec["latency_ms"] > 0
        assert "untrained" not in rec


def test_scores_match_in_process_torch(client, images_dir):
    """Server probabilities equal softmax(torch(preprocess(bytes))) of the very same weights."""
    import torch

    from triton_console.build_tools import weights
    from triton_console.tui.core.classify.preprocessing import preprocess

    net, _ = weights.load("efficientnet-lite0", "imagenet")
    for name in EXPECTED:
        data = (images_dir / name).read_bytes()
        with torch.no_grad():
            probs = torch.softmax(net(torch.from_numpy(preprocess(data)[None])), 1)[0].numpy()
        result = classify(client, "ensemble_python_efficientnet_lite0", data, k=5)
        ref_top = np.argsort(-probs)[:5]
        assert [t.index for t in result.top] == ref_top.tolist()
        for t in result.top:
            assert abs(t.score - float(probs[t.index])) < 1e-4


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_seed_style_raw_client(server, protocol):
    """The python_backend example's client: raw tritonclient, bytes as UINT8 [1, N], argmax of OUTPUT."""
    data = np.fromfile(image("mug.jpg"), dtype=np.uint8)
    data = np.expand_dims(data, axis=0)
    if protocol == "grpc":
        import tritonclient.grpc as tc

        c = tc.InferenceServerClient(server.grpc_url)
    else:
        import tritonclient.http as tc

        c = tc.InferenceServerClient(server.http_url)
    inp = tc.InferInput("INPUT", data.shape, "UINT8")
    inp.set_data_from_numpy(data)
    out = tc.InferRequestedOutput("OUTPUT")
    result = c.infer("ensemble_python_efficientnet_lite0", [inp], outputs=[out]).as_numpy("OUTPUT")
    assert result.shape == (1, 1000) and result.dtype == np.float32
    assert int(np.argmax(result)) == 504


def test_resnet50_random_answers_with_the_seed_shapes_and_says_untrained(server, client):
    data = image("mug.jpg").read_bytes()
    result = classify(client, "ensemble_python_resnet50", data, k=3)
    assert result.untrained and len(result.top) == 3
    assert abs(sum(t.score for t in result.top)) <= 1.0 + 1e-5
    cfg = client.model_config("ensemble_python_resnet50")
    assert cfg.max_batch_size == 256
    assert [(i.name, i.data_type, list(i.dims)) for i in cfg.input] == [("INPUT", mc.TYPE_UINT8, [-1])]
    assert [(o.name, o.data_type, list(o.dims)) for o in cfg.output] == [("OUTPUT", mc.TYPE_FP32, [1000])]
    res = run_cli(
        "classify",
        str(image("mug.jpg")),
        *url_args(server, client.protocol),
        "-m",
        "ensemble_python_resnet50",
    )
    assert res.returncode == 0 and "untrained" in res.stderr and "[untrained]" in res.stdout


def test_status_json(server):
    res = run_cli("status", *url_args(server, "grpc"), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) >= {"url", "live", "ready", "server_version", "server", "models"}
    assert out["live"] and out["server_version"] == out["server"]["version"]
    assert out["server"]["name"] == "triton" and "classification" in out["server"]["extensions"]
    # every model has the same keys; the explainer's cause and hint are null on a ready model
    assert all(
        set(m) == {"name", "version", "state", "reason", "cause", "hint", "checks"} for m in out["models"]
    )
    ready = [m for m in out["models"] if m["state"] == "READY"]
    assert ready and all(m["cause"] is None and m["hint"] is None for m in ready)


def test_bad_images_do_not_stop_the_others(server, tmp_path, images_dir):
    (tmp_path / "a_text.jpg").write_text("this is not a jpeg")
    (tmp_path / "b_empty.png").write_bytes(b"")
    (tmp_path / "c_truncated.jpg").write_bytes((images_dir / "vulture.jpeg").read_bytes()[:3000])
    args = [str(tmp_path / n) for n in ("a_text.jpg", "b_empty.png", "c_truncated.jpg")]
    args += [str(images_dir / "car.jpg"), str(tmp_path / "missing.jpg")]
    res = run_cli(
        "classify", *args, *url_args(server, "grpc"), "-m", "ensemble_python_efficientnet_lite0", "--json"
    )
    assert res.returncode == 1
    recs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [("error" in r) for r in recs] == [True, True, True, False, True]
    assert "not a decodable image" in recs[0]["error"]
    assert "empty" in recs[1]["error"]
    assert "decode" in recs[2]["error"] or "truncated" in recs[2]["error"]
    assert recs[3]["top"][0]["index"] == 817
    assert "no such file" in recs[4]["error"]


def test_torch_backbone_flavour_serves_and_falls_back_to_cpu(tmp_path, images_dir):
    """The GPU flavour's own code, run for real: on a machine without CUDA it serves fp32 on the CPU."""
    from triton_console.build_tools import pipeline, repository
    from triton_console.tui.core.client.client import TritonClient
    from triton_console.tui.core.server import process as srv

    report = pipeline.build("efficientnet-lite0", "imagenet", "python-torch", tmp_path / "repo")
    assert (
        report.backbone == "python-torch"
        and (tmp_path / "repo" / "efficientnet_lite0_torch" / "1" / "model.pt").is_file()
    )
    cfg = repository.read_config(tmp_path / "repo" / "efficientnet_lite0_torch" / "config.pbtxt")
    params = {k: v.string_value for k, v in cfg.parameters.items()}
    assert params == {
        "FORCE_CPU_ONLY_INPUT_TENSORS": "no",
        "torchscript_file": "model.pt",
        "device": "auto",
        "precision": "fp16",
        "cuda_graphs": "true",
        "triton_console.scaling": "imagenet",
    }
    s = srv.ManagedServer(srv.ServerConfig(tmp_path / "repo", *srv.free_ports(3)))  # never one port twice
    s.start()
    try:
        s.wait_ready(180)
        client = TritonClient(s.grpc_url)
        for name, (index, _label) in EXPECTED.items():
            result = classify(
                client, "ensemble_python_efficientnet_lite0", (images_dir / name).read_bytes(), 1
            )
            assert result.top[0].index == index
        log = "\n".join(s.log)
        import torch

        expected = (
            "backbone on cuda (torch.float16), CUDA graphs on"
            if torch.cuda.is_available()
            else "backbone on cpu (torch.float32), CUDA graphs off"
        )
        assert expected in log
    finally:
        s.stop()


def test_auto_backbone_choice(monkeypatch):
    from triton_console.build_tools import engine, pipeline

    monkeypatch.setattr(engine, "tensorrt_available", lambda: True)
    assert pipeline.resolve_backbone("auto") == "tensorrt"
    monkeypatch.setattr(engine, "tensorrt_available", lambda: False)
    monkeypatch.setattr(pipeline, "cuda_available", lambda: True)
    assert pipeline.resolve_backbone("auto") == "python-torch"
    monkeypatch.setattr(pipeline, "cuda_available", lambda: False)
    assert pipeline.resolve_backbone("auto") == "python-onnxruntime"
    assert pipeline.resolve_backbone("onnxruntime") == "onnxruntime"


def test_statistics_read_the_same_over_grpc_and_http(server):
    """gRPC statistics are read from the protobuf message directly (not its slow JSON printer): same numbers."""
    from triton_console.tui.core.client.client import TritonClient

    g = TritonClient(server.grpc_url, "grpc").model_statistics("postprocess")
    h = TritonClient(server.http_url, "http").model_statistics("postprocess")
    assert g.items == h.items and not g.problems and not h.problems
    assert g.items[0].duration("success")[0] > 0


def test_status_probe_answers_for_every_model_of_the_generated_repository(server):
    """The seed's preprocess takes file bytes as UINT8 [-1]: the probe failed on it ('variable dimension
    [-1]: pass --shape') while the model was healthy. A decoder gets a tiny image; every model answers."""
    res = run_cli("status", *url_args(server, "grpc"), "--probe", "--json", timeout=120)
    assert res.returncode == 0, res.stderr
    models = {m["name"]: m for m in json.loads(res.stdout)["models"]}
    assert models["preprocess"]["probe"]["ok"], models["preprocess"]["probe"]
    assert all(m["probe"]["ok"] for m in models.values() if m["state"] == "READY"), [
        m["probe"] for m in models.values() if m["probe"] and not m["probe"]["ok"]
    ]


def test_classify_files_gives_the_ensembles_breakdown_only_when_asked(server, client):
    """The statistics calls behind the Classify pane's per-step breakdown (imported only then): each step of
    the ensemble with its request counted, and none of it for a plain classify."""
    from triton_console.tui.core.classify.files import classify_files

    model = "ensemble_python_efficientnet_lite0"
    [item] = classify_files(client, model, [str(image("car.jpg"))], with_breakdown=True)
    assert item.result.top[0].index == 817
    steps = item.breakdown.to_dict()["steps"]
    assert [s["model"] for s in steps][0] == "preprocess" and len(steps) == 3
    assert all(s["requests"] >= 1 for s in steps)
    [plain] = classify_files(client, model, [str(image("car.jpg"))])
    assert plain.breakdown is None and plain.result.top[0].index == 817
