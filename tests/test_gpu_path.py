"""The GPU flavour's code that can run without a GPU: the batched resize/crop/normalise arithmetic (on the
CPU), the JPEG gate in front of nvJPEG, chunking, the generated configs and the server's CUDA pool flags.
On the lent GPU machine (an H100, now an H200) the same code runs on CUDA (benchmarks/gpu.py checks top-1 there)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import EXPECTED, image
from triton_console.build_tools import repository
from triton_console.tui.core.classify import gpu_preprocessing as gp
from triton_console.tui.core.classify import preprocessing as pre
from triton_console.tui.core.server import process as srv

torch = pytest.importorskip("torch")


def full_decode(data: bytes):
    """What nvJPEG hands over: the whole image, RGB uint8 [3, h, w] (here decoded by Pillow)."""
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return torch.from_numpy(rgb.transpose(2, 0, 1).copy())


def jpeg(size, color=(200, 30, 30), exif: Image.Exif | None = None, mode="RGB") -> bytes:
    buf = io.BytesIO()
    fill = {"L": 120, "CMYK": (0, 200, 200, 0)}.get(mode, color)
    img = Image.new(mode, size, fill)
    img.save(buf, "JPEG", exif=exif or Image.Exif())
    return buf.getvalue()


def test_batched_gpu_arithmetic_matches_the_cpu_path_image_by_image():
    """Every test image, mixed and repeated out of order (so equal sizes form non-contiguous groups)."""
    names = list(EXPECTED)
    datas = [image(n).read_bytes() for n in names]
    order = [0, 1, 2, 2, 0, 1]
    out = torch.empty((len(order), 3, pre.CROP, pre.CROP))
    gp.JpegBatch(pre, "cpu").resize_crop_normalize([full_decode(datas[i]) for i in order], out)
    for k, i in enumerate(order):
        ref = pre.preprocess(datas[i])
        diff = np.abs(out[k].numpy() - ref)
        # small images decode identically; the 8.5 Mpx mug differs only by Pillow's DCT-domain draft
        # decode (a level or two of 255 on average: 1 level = 0.017 after normalisation)
        assert diff.mean() < 0.05, (names[i], diff.mean())
        if names[i] == "car.jpg":
            assert diff.max() < 1e-5
    assert torch.equal(out[0], out[4]) and torch.equal(out[2], out[3])


def test_large_photos_resize_a_few_at_a_time_with_the_same_result(monkeypatch):
    """The float copies of a resize are bounded (RESIZE_PIXELS): photos of one size split across kernels give
    the rows one kernel gives, in their places."""
    mug = full_decode(image("mug.jpg").read_bytes())
    car = full_decode(image("car.jpg").read_bytes())
    images = [mug, car, mug, mug, car]
    batch = gp.JpegBatch(pre, "cpu")
    whole = torch.empty((5, 3, pre.CROP, pre.CROP))
    batch.resize_crop_normalize(images, whole)
    calls = []
    real = gp.F.interpolate
    monkeypatch.setattr(gp.F, "interpolate", lambda x, **kw: calls.append(x.shape[0]) or real(x, **kw))
    monkeypatch.setattr(gp, "RESIZE_PIXELS", 2 * mug.shape[1] * mug.shape[2])  # two mugs per kernel
    split = torch.empty_like(whole)
    batch.resize_crop_normalize(images, split)
    assert sorted(calls) == [1, 2, 2]  # mugs 2 + 1, both cars in one
    assert torch.equal(split, whole)


def test_gpu_arithmetic_keeps_the_top1_of_the_cpu_path():
    from triton_console.build_tools import weights

    net, _ = weights.load("efficientnet-lite0", "imagenet")
    names = list(EXPECTED)
    out = torch.empty((3, 3, pre.CROP, pre.CROP))
    gp.JpegBatch(pre, "cpu").resize_crop_normalize([full_decode(image(n).read_bytes()) for n in names], out)
    with torch.no_grad():
        top1 = net(out).argmax(1).tolist()
    assert top1 == [EXPECTED[n][0] for n in names]


@pytest.mark.parametrize("w,h", [(640, 480), (480, 640), (300, 300), (1000, 257), (257, 1000)])
def test_resize_shape_and_crop_match_pillow_path(w, h):
    """Synthetic gradients of many aspect ratios: same shapes, same crop window as the CPU decoder."""
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :] * np.linspace(0.2, 1, h, dtype=np.float32)[:, None]
    rgb = np.stack([x, x[::-1], np.full_like(x, 90)], axis=-1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")  # lossless: both paths see the very same pixels
    out = torch.empty((1, 3, pre.CROP, pre.CROP))
    gp.JpegBatch(pre, "cpu").resize_crop_normalize([torch.from_numpy(rgb.transpose(2, 0, 1).copy())], out)
    ref = pre.preprocess(buf.getvalue())
    assert np.abs(out[0].numpy() - ref).mean() < 0.02  # antialias kernels differ by a rounding step at most


def test_header_gate_sends_only_plain_jpegs_to_nvjpeg():
    gate = gp.JpegBatch(pre, "cpu").header
    assert gate(jpeg((320, 240))) == (320, 240)
    assert gate(jpeg((64, 48), mode="L")) == (64, 48)
    rotated = Image.Exif()
    rotated[gp.EXIF_ORIENTATION] = 6
    assert gate(jpeg((320, 240), exif=rotated)) is None  # Pillow applies the rotation
    assert gate(jpeg((64, 64), mode="CMYK")) is None
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    assert gate(png.getvalue()) is None
    assert gate(b"\xff\xd8 truncated") is None
    # a header announcing 60000x60000 never reaches a decoder (Pillow's path gives the message)
    bomb = bytearray(jpeg((16, 16)))
    sof = bomb.index(b"\xff\xc0")
    bomb[sof + 5 : sof + 9] = (60000).to_bytes(2, "big") * 2
    assert gate(bytes(bomb)) is None


def test_chunks_bound_pixels_and_keep_order():
    sizes = [(4000, 3000)] * 5 + [(100, 100)] * 3
    groups = gp.chunks(sizes, limit=25_000_000)
    assert [i for g in groups for i in g] == list(range(8))
    assert all(sum(sizes[i][0] * sizes[i][1] for i in g) <= 25_000_000 or len(g) == 1 for g in groups)
    assert gp.chunks([(10_000, 10_000)], limit=1) == [[0]]  # one oversized image still gets a chunk


def test_preprocess_config_and_files_for_the_gpu_path(repo):
    cfg = repository.read_config(repo / "preprocess" / "config.pbtxt")
    params = {k: v.string_value for k, v in cfg.parameters.items()}
    assert params["gpu_decode"] == "auto" and params["gpu_output"] == "auto"
    installed = repo / "preprocess" / "1" / "imagenet_preprocessing_gpu.py"
    assert installed.read_bytes() == Path(gp.__file__).read_bytes()


@pytest.mark.parametrize(
    "gpus,pool_mb,expected",
    [
        (0, None, []),
        (1, None, ["--cuda-memory-pool-byte-size=0:1073741824"]),
        (2, 256, ["--cuda-memory-pool-byte-size=0:268435456", "--cuda-memory-pool-byte-size=1:268435456"]),
        (2, 0, []),
    ],
)
def test_cuda_pool_flags_follow_visible_gpus(monkeypatch, tmp_path, gpus, pool_mb, expected):
    monkeypatch.setattr(srv, "visible_gpus", lambda: gpus)
    binary = srv.ServerBinary("/usr/bin/tritonserver", "path")
    argv = srv.build_argv(binary, srv.ServerConfig(tmp_path, cuda_pool_mb=pool_mb), "p_")
    assert [a for a in argv if a.startswith("--cuda-memory-pool")] == expected


def test_visible_gpus_respects_cuda_visible_devices(monkeypatch):
    monkeypatch.setattr(srv.glob, "glob", lambda _: ["/dev/nvidia0", "/dev/nvidia1"])
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert srv.visible_gpus() == 2
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert srv.visible_gpus() == 1
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert srv.visible_gpus() == 0
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert srv.visible_gpus() == 0


def test_gpu_flavours_get_the_measured_tuning_only_on_a_gpu():
    from triton_console.build_tools import pipeline

    assert pipeline.default_tuning("python-torch", gpu=True, memory_gib=80) == pipeline.GPU_TUNING
    large = pipeline.default_tuning("python-torch", gpu=True, memory_gib=141)  # an H200
    assert large == {**pipeline.GPU_TUNING, "fused_instances": 8}
    assert pipeline.default_tuning("tensorrt", gpu=True)["preprocess_instances"] == 4
    assert pipeline.default_tuning("python-torch", gpu=False) == {}
    assert pipeline.default_tuning("python-onnxruntime", gpu=True) == pipeline.CPU_TUNING


def _cuda_decoder():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here (runs on the lent GPU machine: see benchmarks/gpu_device.sh)")
    pytest.importorskip("torchvision")
    return gp.JpegBatch(pre, "cuda")


def test_nvjpeg_path_on_cuda_matches_the_cpu_path_and_top1_in_fp16():
    """On a GPU: nvJPEG + batched resize vs Pillow on the CPU, and fp16 vs fp32 top-1, on every test image."""
    from triton_console.build_tools import weights

    gpu = _cuda_decoder()
    names = list(EXPECTED)
    datas = [image(n).read_bytes() for n in names]
    sizes = [gpu.header(d) for d in datas]
    out = gpu.run([torch.frombuffer(bytearray(d), dtype=torch.uint8) for d in datas], sizes)
    ref = np.stack([pre.preprocess(d) for d in datas])
    assert np.abs(out.cpu().numpy() - ref).mean(axis=(1, 2, 3)).max() < 0.05
    net, _ = weights.load("efficientnet-lite0", "imagenet")
    with torch.no_grad():
        fp32_cpu = net(torch.from_numpy(ref)).argmax(1).tolist()
        fp16_gpu = net.cuda().half()(out.half()).argmax(1).tolist()
    assert fp32_cpu == fp16_gpu == [EXPECTED[n][0] for n in names]


def _runtime():
    """The fused model's runtime module, as installed beside model.py (imported by path, like the stub does)."""
    from tests.helpers import model_runtime

    return model_runtime()


@pytest.fixture(scope="module")
def torchscript(tmp_path_factory):
    from triton_console.build_tools import export, weights

    net, _ = weights.load("efficientnet-lite0", "random")
    path = export.save_torchscript(net.eval(), tmp_path_factory.mktemp("ts") / "model.pt")
    return net.eval(), path


def test_torch_runner_splits_parts_across_the_batch_limit_on_the_cpu(torchscript):
    """Parts of 3, 1 and 6 rows through a runner capped at 4: ten rows of logits, in order, equal to eager."""
    net, path = torchscript
    runtime = _runtime()
    runner = runtime.TorchRunner(str(path), "cpu", "fp32", cuda_graphs=True, max_batch=4)
    x = torch.randn(10, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    out = runner.forward([x[:3], x[3:4], x[4:]])
    with torch.no_grad():
        ref = net(x).numpy()
    assert out.shape == (10, 1000)
    assert np.abs(out - ref).max() < 1e-3


def test_torch_runner_cuda_graphs_match_eager_on_cuda(torchscript):
    """On a GPU: a CUDA graph per batch bucket, parts split across the limit, fp16 top-1 equal to fp32 eager."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here (runs on the lent GPU machine: see benchmarks/gpu_device.sh)")
    net, path = torchscript
    runtime = _runtime()
    runner = runtime.TorchRunner(str(path), "cuda", "fp16", cuda_graphs=True, max_batch=8)
    x = torch.randn(13, 3, 224, 224, generator=torch.Generator().manual_seed(2))
    out = runner.forward([x[:5].cuda(), x[5:6], x[6:].cuda()])
    with torch.no_grad():
        ref = net(x).numpy()
    assert out.shape == (13, 1000)
    assert (out.argmax(1) == ref.argmax(1)).mean() >= 0.9  # fp16 on random weights: near-ties may flip
    assert sorted(runner.graphs) == [1, 8]  # warm-up bucket and the full one


def test_batch_decoder_on_cuda_routes_large_jpegs_to_pillow_and_agrees(tmp_path):
    """On a GPU: the fused model's decoder sends plain JPEGs up to the pixel limit to nvJPEG in parallel
    slices and the rest (the 8.5 Mpx mug, a PNG) to Pillow at the same time; each row equals the CPU path's."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here (runs on the lent GPU machine: see benchmarks/gpu_device.sh)")
    pytest.importorskip("torchvision")
    import shutil

    import triton_console.model_repository as sources

    shutil.copy(
        Path(sources.__file__).parent / "triton_console_runtime.py", tmp_path / "triton_console_runtime.py"
    )
    shutil.copy(Path(pre.__file__), tmp_path / "imagenet_preprocessing.py")
    shutil.copy(Path(gp.__file__), tmp_path / "imagenet_preprocessing_gpu.py")
    import importlib.util

    spec = importlib.util.spec_from_file_location("rt_under_test", tmp_path / "triton_console_runtime.py")
    rt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rt)
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 200, 30)).save(buf, "PNG")
    datas = [image(n).read_bytes() for n in EXPECTED] * 6 + [buf.getvalue()]
    decoder = rt.BatchDecoder(4, "auto", gpu_workers=3, gpu_max_pixels=4_000_000)
    assert decoder.gpu is not None
    out = decoder.decode([np.frombuffer(d, dtype=np.uint8) for d in datas], torch.float32)
    for d, (batch, error) in zip(datas, out, strict=True):
        assert error is None
        got = batch.cpu().numpy() if hasattr(batch, "cpu") else batch
        assert np.abs(got[0] - pre.preprocess(d)).mean() < 0.05
    kinds = [type(b).__name__ for b, _ in out]
    assert kinds.count("ndarray") == 6 + 1  # six mugs and the PNG went to Pillow
    decoder.close()
    # half the mugs to Pillow: each row is what Pillow (above) or nvJPEG alone gives for that image
    arrays = [np.frombuffer(d, dtype=np.uint8) for d in datas]
    pillow_rows = [np.asarray(b.cpu() if hasattr(b, "cpu") else b) for b, _ in out]
    nvjpeg = rt.BatchDecoder(4, "auto", gpu_workers=3)
    nvjpeg_rows = [
        b.cpu().numpy() if hasattr(b, "cpu") else b for b, _ in nvjpeg.decode(arrays, torch.float32)
    ]
    half = rt.BatchDecoder(4, "auto", gpu_workers=3, gpu_max_pixels=4_000_000, cpu_share=0.5)
    out = half.decode(arrays, torch.float32)
    assert [type(b).__name__ for b, _ in out].count("ndarray") == 3 + 1  # half the mugs, and the PNG
    for i, (batch, error) in enumerate(out):
        assert error is None
        want = pillow_rows[i] if isinstance(batch, np.ndarray) else nvjpeg_rows[i]
        got = batch if isinstance(batch, np.ndarray) else batch.cpu().numpy()
        assert np.abs(got - want).max() < 1e-5
    half.close()
    nvjpeg.close()


def test_route_sends_jpegs_from_the_pixel_limit_to_the_hardware_engines():
    """The fused decoder's split by size: from ``min_pixels`` (w x h) to the hardware JPEG engines, the rest
    to nvJPEG's CUDA path, positions in order; 0 sends everything to the CUDA path."""
    rt = _runtime()
    sizes = [(256, 256), (3361, 2521), (500, 375), (2000, 2000), (1999, 2000)]
    assert rt.route(sizes, 4_000_000) == ([0, 2, 4], [1, 3])
    assert rt.route(sizes, 0) == ([0, 1, 2, 3, 4], [])
    assert rt.route([], 4_000_000) == ([], [])


def test_a_share_of_the_large_jpegs_goes_to_pillow_spread_evenly():
    """``large_jpeg_cpu_share``: that fraction of the JPEGs over the size limit to Pillow, evenly spread over
    consecutive images and batches (not the first third of each batch); 1 all, 0 none."""
    rt = _runtime()
    third = rt.Share(1 / 3)
    picks = [third.to_cpu() for _ in range(9)]
    assert picks == [False, False, True] * 3
    assert all(rt.Share(1).to_cpu() for _ in range(5))
    assert not any(rt.Share(0).to_cpu() for _ in range(5))
    quarter = rt.Share(0.25)
    assert sum(quarter.to_cpu() for _ in range(400)) == 100
    assert rt.Share(7).share == 1.0 and rt.Share(-1).share == 0.0


def test_hardware_jpeg_is_optional(monkeypatch, tmp_path):
    """Without nvImageCodec (or where it will not start) there is no hardware route and the decoder says so
    in its description: the nvJPEG/Pillow paths stay as they are."""
    import sys

    rt = _installed_runtime(tmp_path)
    monkeypatch.setitem(sys.modules, "nvidia.nvimgcodec", None)  # import fails as if not installed
    assert rt.hardware_jpeg() is None
    decoder = rt.BatchDecoder(2, "auto", hw_min_pixels=4_000_000)
    try:
        assert decoder.hw is None and "hardware JPEG" not in decoder.description
        data = image("car.jpg").read_bytes()
        ((batch, error),) = decoder.decode([np.frombuffer(data, dtype=np.uint8)])
        assert error is None and np.abs(np.asarray(batch)[0] - pre.preprocess(data)).max() < 1e-5
    finally:
        decoder.close()


def test_hardware_jpeg_that_will_not_start_is_reported_not_raised(monkeypatch):
    import sys
    import types

    rt = _runtime()

    class Broken:
        def __getattr__(self, name):
            raise RuntimeError("CUDA Runtime failure: '#35'")

    fake = types.ModuleType("nvidia.nvimgcodec")
    fake.__getattr__ = Broken().__getattr__
    parent = types.ModuleType("nvidia")
    parent.nvimgcodec = fake
    monkeypatch.setitem(sys.modules, "nvidia", parent)
    monkeypatch.setitem(sys.modules, "nvidia.nvimgcodec", fake)
    said = []
    assert rt.hardware_jpeg(said.append) is None
    assert said and "no hardware JPEG decoding" in said[0] and "#35" in said[0]


def test_gpu_builds_route_large_jpegs_to_the_engines_and_set_the_backbone_output(tmp_path):
    """The tuning reaches the generated configs: the fused model's hardware route when asked (off by default),
    and the GPU default for the backbone (two instances, output handed over on the GPU)."""
    from triton_console.build_tools import pipeline

    tuning = {**pipeline.GPU_TUNING, "hw_jpeg_min_pixels": 4_000_000}
    pipeline.build(
        "efficientnet-lite0", "random", "python-onnxruntime", tmp_path, tuning=tuning, layout="fused"
    )
    pipeline.build("efficientnet-lite0", "random", "python-onnxruntime", tmp_path, tuning=tuning)
    spec = pipeline.catalog.MODELS["efficientnet-lite0"]
    fused = repository.read_config(tmp_path / spec.fused / "config.pbtxt")
    assert fused.parameters["hw_jpeg_min_pixels"].string_value == "4000000"
    backbone = pipeline.catalog.backbone("python-onnxruntime").model_name(spec)
    cfg = repository.read_config(tmp_path / backbone / "config.pbtxt")
    assert cfg.parameters["output_device"].string_value == "gpu"  # the GPU default
    assert cfg.instance_group[0].count == 2
    cpu = tmp_path / "cpu"
    pipeline.build("efficientnet-lite0", "random", "python-onnxruntime", cpu, layout="fused")
    plain = repository.read_config(cpu / spec.fused / "config.pbtxt")
    assert plain.parameters["hw_jpeg_min_pixels"].string_value == "0"  # off unless the tuning asks


def test_torch_runner_hands_back_a_tensor_where_it_runs(torchscript):
    """``host=False`` (the backbone's DLPack output): a torch tensor on the model's device with the same
    logits as the host array, across the batch limit."""
    net, path = torchscript
    runner = _runtime().TorchRunner(str(path), "cpu", "fp32", cuda_graphs=True, max_batch=4)
    x = torch.randn(6, 3, 224, 224, generator=torch.Generator().manual_seed(3))
    on_device = runner.forward([x[:5], x[5:]], host=False)
    assert isinstance(on_device, torch.Tensor) and on_device.dtype == torch.float32
    assert on_device.shape == (6, 1000)
    assert np.abs(on_device.numpy() - runner.forward([x])).max() < 1e-4


def _installed_runtime(folder: Path):
    """The runtime with its helpers beside it, as the build installs them in a model's version folder."""
    import importlib.util
    import shutil

    import triton_console.model_repository as sources

    shutil.copy(
        Path(sources.__file__).parent / "triton_console_runtime.py", folder / "triton_console_runtime.py"
    )
    shutil.copy(Path(pre.__file__), folder / "imagenet_preprocessing.py")
    shutil.copy(Path(gp.__file__), folder / "imagenet_preprocessing_gpu.py")
    spec = importlib.util.spec_from_file_location("rt_installed", folder / "triton_console_runtime.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
