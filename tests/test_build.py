"""Build tools without a server: models, weights, export + numeric check, engine argv, repository."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests import resnet50_reference as reference
from tests.conftest import CLI, ROOT, run_cli
from triton_console.build_tools import catalog, engine, export, models, pipeline, repository, weights
from triton_console.common.errors import Cancelled, ConsoleError
from triton_console.common.progress import Progress
from triton_console.model_repository import configs

TORCHVISION_KEYS = ROOT / "tests" / "data" / "resnet50_torchvision_state_dict.json"


def test_resnet50_state_dict_matches_torchvision_layout():
    """Key for key and shape for shape, against a listing taken from torchvision itself."""
    ours = {k: list(v.shape) for k, v in models.ResNet50().state_dict().items()}
    theirs = json.loads(TORCHVISION_KEYS.read_text())
    assert list(ours) == list(theirs)
    assert ours == theirs


def test_resnet50_matches_torchvision_logits():
    """The same seeded weights and inputs through our ResNet50 give torchvision's logits, as recorded from
    torchvision 0.28.0 (tests/resnet50_reference.py says why recorded and how to record them again)."""
    recorded = np.load(reference.LOGITS)["logits"]
    ours = reference.logits(models.ResNet50())
    assert ours.shape == recorded.shape == (2, 1000)
    assert np.abs(ours - recorded).max() <= 1e-4 * np.abs(recorded).max()
    assert (ours.argmax(1) == recorded.argmax(1)).all()


def test_resnet50_matches_torchvision_where_it_imports():
    """Live against torchvision wherever one is installed (tests/resnet50_reference.py imports even a CUDA build
    beside a CPU torch)."""
    try:
        tv = reference.import_torchvision()
    except ImportError as exc:
        pytest.skip(f"torchvision is not installed here ({exc})")
    theirs = reference.logits(tv.models.resnet50(weights=None))
    ours = reference.logits(models.ResNet50())
    assert np.abs(ours - theirs).max() <= 1e-4 * np.abs(theirs).max()


def test_random_weights_are_seeded_and_flagged():
    import torch

    a, info = weights.load("resnet50", "random")
    b, _ = weights.load("resnet50", "random")
    assert not info.trained and info.choice == "random"
    assert all(
        torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


def test_weights_from_path_and_bad_path(tmp_path):
    import torch

    net, _ = weights.load("resnet50", "random")
    path = tmp_path / "w.pt"
    torch.save(net.state_dict(), path)
    loaded, info = weights.load("resnet50", str(path))
    assert info.choice == "file" and info.trained and info.sha256
    assert torch.equal(loaded.fc.weight, net.fc.weight)
    with pytest.raises(ConsoleError, match="neither"):
        weights.load("resnet50", str(tmp_path / "missing.pt"))
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConsoleError, match="cannot read weights"):
        weights.load("resnet50", str(tmp_path / "bad.pt"))
    # EfficientNet weights do not fit ResNet50: say so
    eff, _ = weights.load("efficientnet-lite0", "imagenet")
    torch.save(eff.state_dict(), tmp_path / "eff.pt")
    with pytest.raises(ConsoleError, match="do not fit"):
        weights.load("resnet50", str(tmp_path / "eff.pt"))


def test_imagenet_resnet50_offline_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    offline = catalog.ImagenetWeights(url="http://127.0.0.1:9/resnet50-0676ba61.pth")
    monkeypatch.setitem(catalog.MODELS, "resnet50", replace(catalog.MODELS["resnet50"], imagenet=offline))
    with pytest.raises(ConsoleError) as info:
        weights.load("resnet50", "imagenet")
    assert "--weights PATH" in str(info.value)
    assert not list(tmp_path.rglob("*.pth")), "no partial download may be left behind"


def test_cached_download_is_hash_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    dest = weights.cache_dir() / "resnet50-0676ba61.pth"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"tampered")
    with pytest.raises(ConsoleError, match="hash check"):
        weights.load("resnet50", "imagenet")


def test_efficientnet_predicts_with_packaged_weights(images_dir):
    """Real ImageNet weights: the three test images get their true classes (swish left alone)."""
    import torch

    from tests.conftest import EXPECTED
    from triton_console.tui.core.classify.preprocessing import preprocess

    net, info = weights.load("efficientnet-lite0", "imagenet")
    assert info.trained
    batch = torch.from_numpy(
        __import__("numpy").stack([preprocess((images_dir / n).read_bytes()) for n in EXPECTED])
    )
    with torch.no_grad():
        top1 = net(batch).argmax(1).tolist()
    assert top1 == [idx for idx, _ in EXPECTED.values()]


@pytest.mark.parametrize("model,choice", [("efficientnet-lite0", "imagenet"), ("resnet50", "random")])
def test_export_and_numeric_check(tmp_path, model, choice):
    import onnx

    net, _ = weights.load(model, choice)
    out = export.export_onnx(net, tmp_path / "m.onnx")
    graph = onnx.load(str(out)).graph
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert graph.input[0].name == "input" and graph.output[0].name == "output"
    assert isinstance(dims[0], str) and dims[1:] == [3, 224, 224]
    report = export.check_numerics(net, out, batch=3)
    assert report.passed and report.max_abs_diff <= 1e-4 and report.top1_agree == 3
    assert not [p for p in tmp_path.iterdir() if p.name != "m.onnx"], "temp files left behind"


def test_numeric_check_catches_a_different_model(tmp_path):
    net, _ = weights.load("efficientnet-lite0", "imagenet")
    export.export_onnx(net, tmp_path / "m.onnx")
    import torch

    with torch.no_grad():
        net._fc.bias += 0.5  # the ONNX file no longer matches the torch model
    assert not export.check_numerics(net, tmp_path / "m.onnx").passed


# --------------------------------------------------------------------------------------------- engine


def test_trtexec_argv_uses_current_flags(tmp_path):
    argv = engine.trtexec_argv(
        "/usr/bin/trtexec", tmp_path / "m.onnx", tmp_path / "m.plan", engine.BatchRange(1, 8, 256)
    )
    assert argv[0] == "/usr/bin/trtexec"
    assert f"--onnx={tmp_path / 'm.onnx'}" in argv and f"--saveEngine={tmp_path / 'm.plan'}" in argv
    assert "--minShapes=input:1x3x224x224" in argv
    assert "--optShapes=input:8x3x224x224" in argv
    assert "--maxShapes=input:256x3x224x224" in argv
    assert "--fp16" in argv and "--explicitBatch" not in argv
    assert "--fp16" not in engine.trtexec_argv("t", Path("a"), Path("b"), engine.BatchRange(), fp16=False)


@pytest.mark.parametrize("lo,opt,hi", [(0, 1, 1), (2, 1, 4), (1, 8, 4), (1, 1, 100000)])
def test_batch_range_is_validated(lo, opt, hi):
    with pytest.raises(ConsoleError, match="batch sizes"):
        engine.BatchRange(lo, opt, hi)


def test_engine_without_tensorrt_exits_2_with_advice(tmp_path, monkeypatch):
    if engine.tensorrt_available():
        pytest.skip("TensorRT is installed here")
    (tmp_path / "m.onnx").write_bytes(b"x")
    res = run_cli("engine", "--onnx", str(tmp_path / "m.onnx"), "--output", str(tmp_path / "m.plan"))
    assert res.returncode == 2
    assert "TensorRT is not available" in res.stderr and "trtexec" in res.stderr
    assert not (tmp_path / "m.plan").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"], "no temp plan left behind"


def test_engine_with_fake_trtexec_runs_argv_and_streams(tmp_path, monkeypatch):
    """A stand-in trtexec records its argv and writes the engine where it was told."""
    fake = tmp_path / "trtexec"
    fake.write_text(
        "#!/usr/bin/env python3\nimport sys\nprint('&&&& RUNNING TensorRT.trtexec', flush=True)\n"
        "plan=[a.split('=',1)[1] for a in sys.argv if a.startswith('--saveEngine=')][0]\n"
        "open(plan,'wb').write(b'PLAN')\nopen(sys.argv[0]+'.argv','w').write('\\n'.join(sys.argv[1:]))\n"
    )
    fake.chmod(0o755)
    (tmp_path / "m.onnx").write_bytes(b"onnx")
    monkeypatch.setenv("TRTEXEC", str(fake))
    lines = []
    engine.build_engine(
        tmp_path / "m.onnx",
        tmp_path / "out" / "m.plan",
        engine.BatchRange(1, 4, 64),
        progress=Progress(log=lines.append),
    )
    assert (tmp_path / "out" / "m.plan").read_bytes() == b"PLAN"
    assert any("RUNNING TensorRT" in ln for ln in lines)
    argv = (tmp_path / "trtexec.argv").read_text().splitlines()
    assert "--maxShapes=input:64x3x224x224" in argv and "--fp16" in argv


def test_failing_trtexec_reports_its_output(tmp_path, monkeypatch):
    fake = tmp_path / "trtexec"
    fake.write_text("#!/bin/sh\necho '[E] [TRT] ModelImporter: unsupported op'\nexit 3\n")
    fake.chmod(0o755)
    (tmp_path / "m.onnx").write_bytes(b"onnx")
    monkeypatch.setenv("TRTEXEC", str(fake))
    with pytest.raises(ConsoleError, match="unsupported op"):
        engine.build_engine(tmp_path / "m.onnx", tmp_path / "m.plan")
    assert not (tmp_path / "m.plan").exists()


# ------------------------------------------------------------------------------------------ repository


def _parse(path: Path):
    return repository.read_config(path)


def test_generated_repository_keeps_the_seed_contract(repo):
    pb = configs.model_config_pb2()
    for name in ("ensemble_python_resnet50", "ensemble_python_efficientnet_lite0"):
        c = _parse(repo / name / "config.pbtxt")
        assert c.platform == "ensemble" and c.max_batch_size == 256
        assert [(i.name, i.data_type, list(i.dims)) for i in c.input] == [("INPUT", pb.TYPE_UINT8, [-1])]
        assert [(o.name, o.data_type, list(o.dims)) for o in c.output] == [("OUTPUT", pb.TYPE_FP32, [1000])]
        assert c.output[0].label_filename == "labels.txt"
        labels = (repo / name / "labels.txt").read_text().splitlines()
        assert len(labels) == 1000 and labels[504] == "coffee mug"
        assert [s.model_name for s in c.ensemble_scheduling.step][::2] == ["preprocess", "postprocess"]
    backbone = _parse(repo / "resnet50_ort" / "config.pbtxt")
    assert [(i.name, list(i.dims)) for i in backbone.input] == [("input", [3, 224, 224])]
    assert [(o.name, list(o.dims)) for o in backbone.output] == [("output", [1000])]
    # labels beside the backbone too: its classification answers are "score:index:label" (tests/test_labels.py)
    assert backbone.output[0].label_filename == "labels.txt"
    assert (repo / "resnet50_ort" / "labels.txt").read_text() == (repo / name / "labels.txt").read_text()
    marker = json.loads((repo / repository.MARKER).read_text())
    assert marker["ensembles"]["ensemble_python_resnet50"]["weights"]["trained"] is False
    assert (
        _parse(repo / "ensemble_python_resnet50" / "config.pbtxt")
        .parameters["triton_console.trained"]
        .string_value
        == "false"
    )


def test_tensorrt_backbone_config_is_the_seeds():
    c = configs.backbone_config("resnet50_trt", "tensorrt")
    assert c.platform == "tensorrt_plan" and c.max_batch_size == 256
    assert c.instance_group[0].kind == configs.model_config_pb2().ModelInstanceGroup.KIND_GPU
    assert repository.backbone_name("resnet50", "tensorrt") == "resnet50_trt"
    text = repository.validate(c)
    assert 'platform: "tensorrt_plan"' in text


def test_validate_rejects_broken_configs():
    c = configs.ensemble_config(
        catalog.MODELS["resnet50"], "resnet50_trt", {"choice": "random", "trained": False}
    )
    c.ensemble_scheduling.step[1].input_map["input"] = "nowhere"
    with pytest.raises(ConsoleError, match="before anything writes it"):
        repository.validate(c)
    bad = configs.postprocess_config()
    bad.input[0].dims[:] = [0]
    with pytest.raises(ConsoleError, match="invalid dims"):
        repository.validate(bad)


def test_user_directory_is_not_overwritten_without_force(tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("precious")
    res = run_cli("build", "--model", "efficientnet-lite0", "--repository", str(target))
    assert res.returncode == 2 and "--force" in res.stderr
    assert (target / "notes.txt").read_text() == "precious"


def test_cancelled_build_leaves_previous_repository_intact(tmp_path):
    target = tmp_path / "repo"
    pipeline.build("efficientnet-lite0", "imagenet", "python-onnxruntime", target)
    before = {p.relative_to(target): p.stat().st_mtime_ns for p in target.rglob("*") if p.is_file()}
    progress = Progress()
    with pytest.raises(Cancelled):
        # cancel right after the check step: export already wrote into staging
        pipeline.build(
            "efficientnet-lite0",
            "imagenet",
            "python-onnxruntime",
            target,
            progress=progress,
            on_step=lambda s, st, d: progress.cancel() if (s, st) == ("check", "done") else None,
        )
    after = {p.relative_to(target): p.stat().st_mtime_ns for p in target.rglob("*") if p.is_file()}
    assert before == after
    assert [p.name for p in tmp_path.iterdir()] == ["repo"], "staging directory left behind"


def test_rebuild_keeps_other_ensembles(repo, tmp_path):
    """The session's repository was built EfficientNet-Lite0 (three layouts) then ResNet50 into one folder: a copy
    of it shows the ResNet50 build kept the others; rebuilding EfficientNet-Lite0 in it keeps ResNet50 (no
    second ResNet50 export here: ~10 s)."""
    target = tmp_path / "repo"
    shutil.copytree(repo, target)
    every = [
        "efficientnet_lite0_ort",
        "ensemble_python_efficientnet_lite0",
        "ensemble_python_resnet50",
        "fused_bytes_python_efficientnet_lite0",
        "fused_python_efficientnet_lite0",
        "postprocess",
        "preprocess",
        "resnet50_ort",
    ]
    assert sorted(p.name for p in target.iterdir() if p.is_dir()) == every
    pipeline.build("efficientnet-lite0", "imagenet", "python-onnxruntime", target)
    assert sorted(p.name for p in target.iterdir() if p.is_dir()) == every
    assert repository.has_model(target, "resnet50") and repository.has_model(target, "efficientnet-lite0")


def test_sigint_during_build_keeps_previous_repository(tmp_path):
    target = tmp_path / "repo"
    assert run_cli("build", "--model", "efficientnet-lite0", "--repository", str(target)).returncode == 0
    before = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    proc = subprocess.Popen(
        [*CLI, "build", "--model", "resnet50", "--weights", "random", "--repository", str(target)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    # wait until the export step has begun, then interrupt
    for line in proc.stderr:
        if "== export" in line:
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    after = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert before == after
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"], "staging or temp files left behind"
