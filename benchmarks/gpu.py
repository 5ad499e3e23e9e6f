"""The GPU benchmark of record, run on the lent H200 by benchmarks/gpu_device.sh (docs/performance.md).

One run, one machine, the same images and the same load generator for every layout:

1. builds ResNet50 (random weights: throughput only) as the fused model, the fused-bytes model (IMAGES BYTES:
   k images per request) and our three-step ensemble in one repository, the seed-style ensemble (full Pillow decode, same tuning otherwise) in another, and
   EfficientNet-Lite0 (ImageNet weights) in the three layouts for the top-1 check;
2. limits, in-process, before any server runs: the backbone with CUDA graphs (fp16, batch 1/64/256) and
   every decoder on the same images (torchvision nvJPEG with one and three threads, Pillow draft in threads
   and in one process per core, nvImageCodec's hardware engines and hybrid path when its wheels are
   carried; ``--decoders-only`` runs just these), and the fused model's own decoder, routed by size or not;
3. top-1 of every test image: Pillow + fp32 torch on the CPU (the reference) vs the fused model and the
   ensemble through the server (nvJPEG + fp16), fused-bytes with 1, 3 and 16 images per request, and the
   fused model's own runtime in fp32/fp16 with nvJPEG, with Pillow only and routed;
4. perf_analyzer (NVIDIA's C++ load generator, gRPC, the images' bytes round-robin from ``--input-data``)
   at several concurrencies: fused, fused-bytes with ``-b`` 1 / 4 / 16, ensemble and seed-style, QA-size
   images and the three images; our own ``bench`` (8 processes) next to it at one concurrency;
5. the backbone model alone through the server over CUDA shared memory (perf_analyzer) vs its in-process
   limit at the same batch size;
6. optionally (``--tuning-sweep``) the fused model reloaded with other instance/worker counts.

Every stage saves what it measured (``--out`` folder: gpu.json, perf_analyzer.csv with every row tagged by
model, image set and concurrency), so a run cut short still reports. ``--smoke`` runs a minute-long subset.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from triton_console.build_tools import catalog, pipeline, weights  # noqa: E402
from triton_console.tui.core.classify import classifier, preprocessing  # noqa: E402
from triton_console.tui.core.client import stats  # noqa: E402
from triton_console.tui.core.client.client import TritonClient  # noqa: E402
from triton_console.tui.core.server import process as srv  # noqa: E402

RESNET, EFF = catalog.MODELS["resnet50"], catalog.MODELS["efficientnet-lite0"]
TORCH = catalog.backbone("python-torch")
QA = ("car.jpg", "vulture.jpeg")  # Triton's QA images: ordinary photo sizes


# ------------------------------------------------------------------------------------------------ limits
def backbone_limit(batch_sizes=(1, 64, 256), seconds: float = 2.0) -> dict:
    """torch fp16 channels_last ResNet50 on the GPU with CUDA graphs: the ceiling for any pipeline."""
    import torch

    net, _ = weights.load("resnet50", "random")
    net = net.cuda().half().to(memory_format=torch.channels_last).eval()
    out = {}
    for b in batch_sizes:
        x = torch.randn(b, 3, 224, 224, device="cuda").half().contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    net(x)
            torch.cuda.current_stream().wait_stream(s)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                net(x)
            torch.cuda.synchronize()
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                g.replay()
                n += 1
            torch.cuda.synchronize()
            dt = time.perf_counter() - t0
        out[str(b)] = {"img_s": n * b / dt, "ms_per_batch": dt / n * 1000}
    del net
    torch.cuda.empty_cache()
    return out


def decode_limit(paths: list[str], batch: int = 64, threads: int = 1, seconds: float = 2.0) -> dict:
    """nvJPEG decode + batched resize/crop/normalise in-process, ``threads`` threads each with its own CUDA
    stream and batches of ``batch`` images mixed as in the load: the ceiling of the decoding step."""
    import torch

    from triton_console.tui.core.classify.gpu_preprocessing import JpegBatch

    datas = [Path(p).read_bytes() for p in paths]
    items = [datas[i % len(datas)] for i in range(batch)]
    gpu = JpegBatch(preprocessing, "cuda")
    sizes = [gpu.header(b) for b in items]
    payloads = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in items]
    gpu.run(payloads, sizes, torch.float16)
    torch.cuda.synchronize()
    done = [0] * threads
    stop = time.perf_counter() + seconds

    def worker(k: int) -> None:
        stream = torch.cuda.Stream()
        with torch.cuda.stream(stream):
            while time.perf_counter() < stop:
                gpu.run(payloads, sizes, torch.float16)
                stream.synchronize()
                done[k] += batch

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return {"batch": batch, "threads": threads, "img_s": sum(done) / (time.perf_counter() - t0)}


def pillow_limit(paths: list[str], threads: int, seconds: float = 2.0) -> dict:
    """The CPU decoder (Pillow + the same preprocessing) in ``threads`` threads of one process."""
    from concurrent.futures import ThreadPoolExecutor

    datas = [Path(p).read_bytes() for p in paths]
    stop = time.perf_counter() + seconds
    done = [0] * threads

    def worker(k: int) -> None:
        i = k
        while time.perf_counter() < stop:
            preprocessing.preprocess(datas[i % len(datas)])
            done[k] += 1
            i += 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    return {"threads": threads, "img_s": sum(done) / (time.perf_counter() - t0)}


def _pillow_worker(args) -> int:
    paths, start, stop = args
    datas = [Path(p).read_bytes() for p in paths]
    preprocessing.preprocess(datas[0])
    time.sleep(max(0.0, start - time.time()))  # every process starts counting at the same moment
    n = 0
    while time.time() < stop:
        preprocessing.preprocess(datas[n % len(datas)])
        n += 1
    return n


def pillow_processes(paths: list[str], processes: int, seconds: float = 2.0) -> dict:
    """Pillow with ``draft`` (DCT-domain 1/2..1/8 scaling) + the same preprocessing in ``processes``
    processes, one per core: the CPU decoder with no GIL in the way."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(processes) as pool:
        start = time.time() + 3.0  # time enough for every process to start and import
        done = sum(pool.map(_pillow_worker, [(paths, start, start + seconds)] * processes))
        return {"processes": processes, "img_s": done / seconds}


def nvimgcodec_limit(paths: list[str], batch: int = 64, backend: str = "hw", seconds: float = 2.0) -> dict:
    """nvImageCodec (``nvidia-nvimgcodec-cu13``, carried as wheels when present) decoding batches of
    ``batch`` images: ``hw`` the hardware JPEG engines, ``hybrid`` its GPU path; then the same resize, crop
    and normalise as torchvision's path (JpegBatch), so only the decoder differs. Pixels vs Pillow too."""
    import numpy as np
    import torch
    from nvidia import nvimgcodec

    from triton_console.tui.core.classify.gpu_preprocessing import JpegBatch

    kinds = {
        "hw": nvimgcodec.BackendKind.HW_GPU_ONLY,
        "hybrid": nvimgcodec.BackendKind.HYBRID_CPU_GPU,
        "gpu": nvimgcodec.BackendKind.GPU_ONLY,
    }
    dec = nvimgcodec.Decoder(backends=[nvimgcodec.Backend(kinds[backend])])
    datas = [Path(p).read_bytes() for p in paths]
    items = [datas[i % len(datas)] for i in range(batch)]
    gpu = JpegBatch(preprocessing, "cuda")

    out = torch.empty((batch, 3, 224, 224), device="cuda", dtype=torch.float16)

    def run():
        with torch.inference_mode():
            chw = [torch.as_tensor(im, device="cuda").permute(2, 0, 1) for im in dec.decode(items)]
            gpu.resize_crop_normalize(chw, out)

    first = dec.decode(datas)
    diffs = {}
    for p, im in zip(paths, first, strict=True):
        ref = np.asarray(preprocessing._open(Path(p).read_bytes()).convert("RGB"))
        got = torch.as_tensor(im, device="cuda").cpu().numpy()
        diffs[Path(p).name] = (
            int(np.abs(ref.astype(int) - got.astype(int)).max()) if ref.shape == got.shape else -1
        )
    run()
    torch.cuda.synchronize()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        run()
        n += batch
    torch.cuda.synchronize()
    return {
        "backend": backend,
        "batch": batch,
        "img_s": n / (time.perf_counter() - t0),
        "max_abs_vs_pillow": diffs,
    }


# ------------------------------------------------------------------------------------------------ top-1
def runtime_module(repo: Path, model: str):
    """The fused model's runtime as installed beside its model.py (helpers load from that folder)."""
    import importlib.util

    path = repo / model / "1" / "triton_console_runtime.py"
    spec = importlib.util.spec_from_file_location("triton_console_runtime", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def top1_check(repo: Path, url: str, paths: list[str]) -> dict:
    """Pillow + fp32 torch on the CPU (the reference) vs each GPU path, EfficientNet-Lite0 ImageNet weights."""
    import numpy as np
    import torch

    net, _ = weights.load("efficientnet-lite0", "imagenet")
    names = [Path(p).name for p in paths]
    datas = [Path(p).read_bytes() for p in paths]
    with torch.no_grad():
        ref = [int(net(torch.from_numpy(preprocessing.preprocess(d)[None])).argmax()) for d in datas]
    client = TritonClient(url, "grpc", timeout=120)
    out: dict = {"fp32_cpu_reference": dict(zip(names, ref, strict=True))}
    served = {m.name for m in client.repository_index().items}
    for label, model in (("fused_fp16_server", EFF.fused), ("ensemble_fp16_server", EFF.ensemble)):
        if model not in served:
            continue
        got = [classifier.classify(client, model, d, 1).top[0].index for d in datas]
        out[label] = dict(zip(names, got, strict=True))
    if EFF.fused_bytes in served:  # k images per request: each image alone, all three at once, 16 (repeated)
        n = len(datas)
        out["fused_bytes_k1_fp16_server"] = {
            name: classifier.classify_many(client, EFF.fused_bytes, [d], 1)[0].top[0].index
            for name, d in zip(names, datas, strict=True)
        }
        for k in (n, 16):
            res = classifier.classify_many(client, EFF.fused_bytes, [datas[i % n] for i in range(k)], 1)
            got = [r.top[0].index for r in res]
            out[f"fused_bytes_k{k}_fp16_server"] = dict(zip(names, got[:n], strict=True))
            out[f"fused_bytes_k{k}_every_row_agrees"] = got == [got[i % n] for i in range(k)]
    rt = runtime_module(repo, EFF.fused)
    model_file = repo / EFF.fused / "1" / TORCH.artifact
    paths_ = [("nvjpeg", "auto", 0, 0), ("pillow", "off", 0, 0), ("routed", "auto", 4_000_000, 0)]
    if have_nvimgcodec():  # the large JPEGs (the mug) on the hardware engines, the rest on nvJPEG
        paths_.append(("hwjpeg", "auto", 0, 4_000_000))
    for tag, gpu, max_px, hw_px in paths_:
        decoder = rt.BatchDecoder(4, gpu, gpu_max_pixels=max_px, hw_min_pixels=hw_px)
        for precision in ("fp32", "fp16") if tag == "nvjpeg" else ("fp16",):
            runner = rt.TorchRunner(str(model_file), "cuda", precision, True, 8, probabilities=True)
            decoded = decoder.decode([np.frombuffer(d, dtype=np.uint8) for d in datas], runner.dtype)
            probs = runner.forward([b for b, _ in decoded])
            out[f"fused_runtime_{tag}_{precision}_gpu"] = dict(
                zip(names, probs.argmax(1).tolist(), strict=True)
            )
        out[f"decoder_{tag}"] = decoder.description
        if hw_px:
            out[f"decoder_{tag}_hw_images"] = decoder.hw_images
        decoder.close()
    out["agree"] = all(
        v == out["fp32_cpu_reference"] for k, v in out.items() if k.endswith(("server", "gpu"))
    ) and all(v for k, v in out.items() if k.endswith("every_row_agrees"))
    return out


# ------------------------------------------------------------------------------------------------ load
def input_data(paths: list[str], target: Path, name: str = "INPUT") -> Path:
    """perf_analyzer's --input-data: one entry per image, sent round-robin: its bytes as UINT8 [n] (INPUT),
    or as one BYTES element (IMAGES [1], the fused-bytes layout; ``-b k`` repeats it k times per request)."""
    import struct

    entries = []
    for p in paths:
        data = Path(p).read_bytes()
        shape = [len(data)] if name == "INPUT" else [1]
        if name != "INPUT":  # BYTES travel in their wire form: a 4-byte little-endian length, then the bytes
            data = struct.pack("<I", len(data)) + data
        entries.append({name: {"b64": base64.b64encode(data).decode(), "shape": shape}})
    target.write_text(json.dumps({"data": entries}))
    return target


class PerfAnalyzer:
    """perf_analyzer runs, each row appended (tagged) to one CSV and returned as a dict."""

    def __init__(self, exe: str, csv_path: Path, settings: list[str]) -> None:
        self.exe = exe
        self.csv_path = csv_path
        self.settings = settings
        self.fields: list[str] | None = None
        self.help = subprocess.run([exe, "--help"], capture_output=True, text=True).stdout

    def supports(self, flag: str) -> bool:
        return flag in self.help

    def run(
        self, tag: dict, model: str, url: str, level: int, extra: list[str], timeout: float = 120
    ) -> dict:
        out = Path(f"/tmp/pa-{os.getpid()}.csv")
        out.unlink(missing_ok=True)
        batch = ["-b", str(tag.get("batch", 1))] if "-b" not in extra else []
        argv = [self.exe, "-m", model, "-u", url, "-i", "grpc", *self.settings, *batch, *extra]
        argv += ["--concurrency-range", f"{level}:{level}", "-f", str(out)]
        t0 = time.perf_counter()
        try:
            res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {**tag, "concurrency": level, "error": f"timed out after {timeout:.0f} s"}
        seconds = time.perf_counter() - t0
        if res.returncode != 0 or not out.exists():
            tail = " ".join((res.stderr or res.stdout).strip().splitlines()[-4:])[-500:]
            return {**tag, "concurrency": level, "error": tail}
        rows = list(csv.DictReader(io.StringIO(out.read_text())))
        if not rows:
            return {**tag, "concurrency": level, "error": "no rows"}
        row = {"batch": 1, **tag, "wall_s": round(seconds, 1), **rows[0]}
        if self.fields is None:  # the first row's columns for every row: one table
            self.fields = list(row)
            with self.csv_path.open("w", newline="") as fh:
                csv.DictWriter(fh, fieldnames=self.fields).writeheader()
        with self.csv_path.open("a", newline="") as fh:
            csv.DictWriter(fh, fieldnames=self.fields, extrasaction="ignore").writerow(row)

        def ms(key: str) -> float | None:
            try:
                return round(float(rows[0][key]) / 1000.0, 2)
            except (KeyError, ValueError):
                return None

        return {
            **tag,
            "concurrency": level,
            "in_flight": level * int(tag.get("batch", 1)),
            "img_s": round(float(rows[0]["Inferences/Second"]), 1),  # inferences: requests × batch
            "p50_ms": ms("p50 latency"),
            "p99_ms": ms("p99 latency"),
            "server_queue_ms": ms("Server Queue"),
            "server_compute_ms": ms("Server Compute Infer"),
            "wall_s": round(seconds, 1),
        }


def bench_processes(
    url: str, model: str, paths: list[str], processes: int, concurrency: int, requests: int
) -> dict:
    """Our own ``bench`` from several processes at once (one Python client tops out on its GIL first):
    throughput is the sum, latency the worst p50/p99 among them."""
    argv = [sys.executable, "-m", "triton_console", "bench", *paths, "-u", url, "-m", model]
    argv += ["--concurrency", str(concurrency), "--requests", str(requests), "--warmup", "20", "--json"]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(processes)]
    runs = [json.loads(p.communicate()[0].splitlines()[-1]) for p in procs]
    return {
        "processes": processes,
        "concurrency_each": concurrency,
        "in_flight": processes * concurrency,
        "img_s": round(sum(r["throughput"] for r in runs), 1),
        "errors": sum(r["errors"] for r in runs),
        "p50_ms": max((r["latency_ms"]["p50"] or 0) for r in runs),
        "p99_ms": max((r["latency_ms"]["p99"] or 0) for r in runs),
        "first_error": next((r.get("first_error") for r in runs if r.get("first_error")), None),
    }


def model_stats(url: str) -> dict:
    """Per model since start: requests, executions, mean batch, and mean ms per request of queue, input,
    infer and output (Triton counts an execution's time once for each request in it)."""
    out = {}
    for name, per in stats.totals_by_model(TritonClient(url, "grpc").model_statistics().items).items():
        n, ex = per["success"][0], per["executions"][0]
        if not n or not ex:
            continue
        out[name] = {
            "requests": n,
            "executions": ex,
            "avg_batch": round(n / ex, 2),
            **{
                f"{k}_ms": round(per[key][1] / 1e6 / n, 3)
                for k, key in (
                    ("queue", "queue"),
                    ("input", "compute_input"),
                    ("infer", "compute_infer"),
                    ("output", "compute_output"),
                )
            },
        }
    return out


def serve(repo: Path, note: str) -> srv.ManagedServer:
    cfg = srv.ServerConfig(
        repo, srv.free_port(), srv.free_port(), srv.free_port(), model_control="explicit", load_models=["*"]
    )
    s = srv.ManagedServer(cfg)
    t0 = time.perf_counter()
    s.start()
    s.wait_ready(600)
    print(f"server ready ({note}) at {s.grpc_url} in {time.perf_counter() - t0:.0f} s", flush=True)
    return s


def reload_with(url: str, repo: Path, model: str, changes: dict) -> None:
    """Reload ``model`` with its config changed (instances, queue delay, parameters) through the
    repository API's config override: no restart, the files stay as built."""
    import tritonclient.grpc as tc
    from google.protobuf import json_format

    from triton_console.build_tools import repository

    config = repository.read_config(repo / model / "config.pbtxt")
    if "instances" in changes:
        config.instance_group[0].count = int(changes["instances"])
    if "queue_delay_us" in changes:
        config.dynamic_batching.max_queue_delay_microseconds = int(changes["queue_delay_us"])
    for key, value in changes.get("parameters", {}).items():
        config.parameters[key].string_value = str(value)
    tc.InferenceServerClient(url).load_model(model, config=json_format.MessageToJson(config))


# the fused model's settings tried by --tuning-sweep (QA-size images, 256 in flight); the best is kept for
# the rest of the run (the most img/s with p99 <= 100 ms, else the most img/s)
SWEEP = [
    {"instances": 1, "parameters": {"gpu_workers": 3}},
    {"instances": 2, "parameters": {"gpu_workers": 3}},
    {"instances": 3, "parameters": {"gpu_workers": 2}},
    {"instances": 4, "parameters": {"gpu_workers": 2}},
]


# --three-sweep: the fused model's settings tried on the three images (the 8.5 Mpx mug among them) at 256 in
# flight: more instances keep more nvJPEG batches in flight on the JPEG engines (torchvision's batched decode
# runs baseline JPEGs there, so nvImageCodec's hardware route competes for the same engines), and a share of
# the large JPEGs to Pillow's DCT scaling adds the CPU cores as a second decoder. "qa": also measured on the
# QA images (its p99 goal), for settings that change every image's path.
THREE_SWEEP = [
    {"instances": 4, "qa": True},
    {"instances": 8, "qa": True},
    {"instances": 8, "parameters": {"gpu_max_pixels": 4_000_000, "large_jpeg_cpu_share": 0.34}},
    {"instances": 8, "parameters": {"gpu_max_pixels": 4_000_000, "large_jpeg_cpu_share": 0.2}},
    {"instances": 12, "qa": True},
    {"instances": 12, "parameters": {"gpu_max_pixels": 4_000_000, "large_jpeg_cpu_share": 0.2}},
]


def unload_and_wait(url: str, names: list[str], timeout: float = 90) -> None:
    """Unload models and wait until the index says so (their stubs and GPU memory gone): a reload otherwise
    holds the old instances and the new at once."""
    import tritonclient.grpc as tc

    client = tc.InferenceServerClient(url)
    for name in names:
        try:
            client.unload_model(name)
        except Exception as exc:  # noqa: BLE001 (not loaded: nothing to wait for)
            print(f"unload {name}: {exc}", flush=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        index = client.get_model_repository_index(as_json=True).get("models", [])
        if not any(m.get("name") in names and m.get("state") in ("READY", "UNLOADING") for m in index):
            return
        time.sleep(0.5)


def best_variant(rows: list[dict]) -> int:
    ok = [i for i, r in enumerate(rows) if "img_s" in r]
    within = [i for i in ok if (rows[i].get("p99_ms") or 1e9) <= 100]
    pool = within or ok
    return max(pool, key=lambda i: rows[i]["img_s"]) if pool else 0


def decoder_limit(
    repo: Path,
    model: str,
    paths: list[str],
    batch: int = 64,
    seconds: float = 2.0,
    max_px: int = 0,
    hw_px: int = 0,
) -> dict:
    """The fused model's own decoder (nvJPEG slices + Pillow beside it) on batches of ``batch`` images;
    ``max_px``: JPEGs over it go to Pillow's threads (DCT scaling) beside nvJPEG; ``hw_px``: JPEGs from it
    to the hardware JPEG engines (nvImageCodec) beside nvJPEG's CUDA path."""
    import numpy as np
    import torch

    rt = runtime_module(repo, model)
    decoder = rt.BatchDecoder(
        min(16, os.cpu_count() or 1), "auto", gpu_workers=3, gpu_max_pixels=max_px, hw_min_pixels=hw_px
    )
    datas = [np.frombuffer(Path(p).read_bytes(), dtype=np.uint8) for p in paths]
    items = [datas[i % len(datas)] for i in range(batch)]
    decoder.decode(items, torch.float16)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        decoder.decode(items, torch.float16)
        n += batch
    torch.cuda.synchronize()
    decoder.close()
    return {
        "batch": batch,
        "img_s": n / (time.perf_counter() - t0),
        "decoder": decoder.description,
        "hw_images": decoder.hw_images,
    }


def have_nvimgcodec() -> bool:
    try:
        import nvidia.nvimgcodec  # noqa: F401
    except ImportError:
        return False
    return True


def decoders(sets: dict, images: list[str], note, pillow: bool = True) -> dict:
    """Every decoder on the same sets (and the mug alone), batches of 64: torchvision nvJPEG with 1 and 3
    threads, nvImageCodec's hardware engines and hybrid path when carried, Pillow draft in threads of one
    process and in one process per core. Returns the sets measured."""
    mug = [p for p in images if Path(p).name == "mug.jpg"]
    decode_sets = {**sets, "mug": mug} if mug else dict(sets)
    dl = {}
    for name, paths in decode_sets.items():
        for threads in (1, 3):
            dl[f"{name}_{threads}t"] = decode_limit(paths, threads=threads)
    note("decode_limit", dl)
    cores = min(16, os.cpu_count() or 1)
    if pillow:
        note("pillow_limit", {f"{k}_{cores}t": pillow_limit(v, cores) for k, v in decode_sets.items()})
        note("pillow_processes", {k: pillow_processes(v, cores) for k, v in decode_sets.items()})
    if not have_nvimgcodec():
        note("nvimgcodec_limit", "nvidia-nvimgcodec not carried in this run")
        return decode_sets
    rows = {}
    for backend in ("hw", "hybrid") if pillow else ("hw",):
        for k, v in decode_sets.items():
            try:
                rows[f"{backend}_{k}"] = nvimgcodec_limit(v, backend=backend)
            except Exception as exc:  # noqa: BLE001 (a backend that does not start is a result)
                rows[f"{backend}_{k}"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    note("nvimgcodec_limit", rows)
    return decode_sets


# ------------------------------------------------------------------------------------------------ main
def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", required=True)
    ap.add_argument("--out", required=True, help="folder for gpu.json and perf_analyzer.csv")
    ap.add_argument("--work", default="/tmp/tc-gpu")
    ap.add_argument("--tuning", default="{}", help="JSON overriding the GPU tuning of every build")
    ap.add_argument("--smoke", action="store_true", help="a short run: fused only, one level per image set")
    ap.add_argument("--tuning-sweep", action="store_true", help="reload the fused model with other settings")
    ap.add_argument(
        "--skip",
        default="",
        help="comma list of stages to skip: limits,decoders,pillow,top1,bench,ensemble,seed,seedqa,"
        "backbone,bytes (the fused-bytes layout),hwab (fused with the hardware JPEG route off as well)",
    )
    ap.add_argument(
        "--hw-min-pixels",
        type=int,
        default=None,
        help="the fused model's hardware JPEG route (nvImageCodec) from this many pixels (default: the "
        "build's GPU tuning; 0 off); with nvImageCodec present the load is run with it on and off",
    )
    ap.add_argument(
        "--backbone-variants",
        action="store_true",
        help="the backbone over CUDA shm also with 2 instances, with its output handed over on the GPU "
        "(DLPack), and both",
    )
    ap.add_argument(
        "--three-sweep",
        action="store_true",
        help="reload the fused model with THREE_SWEEP's settings, three images at 256 in flight; the most "
        "img/s is kept for the rest of the run (fused and fused-bytes)",
    )
    ap.add_argument("--sweep", default="", help="JSON list replacing THREE_SWEEP for --three-sweep")
    ap.add_argument(
        "--deadline-s",
        type=float,
        default=0,
        help="start no load after this many seconds from the start (0: none); what was measured is kept",
    )
    ap.add_argument("--window-ms", type=int, default=2000)
    ap.add_argument("--levels", default="{}", help="JSON: (concurrency, k) per image set for a layout")
    ap.add_argument(
        "--backbone-shapes", default="", help="batch x concurrency list for the backbone, e.g. 64x4,256x4"
    )
    ap.add_argument(
        "--decoders-only",
        action="store_true",
        help="only every decoder on every image set (no build, no server): a call that carries nvImageCodec",
    )
    args = ap.parse_args()
    started = time.monotonic()
    import torch

    skip = set(filter(None, args.skip.split(",")))
    images = sorted(str(p) for p in Path(args.images).iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    qa = [p for p in images if Path(p).name in QA]
    sets = {"qa": qa, "three": images}
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    tuning = {
        **pipeline.default_tuning("python-torch", gpu=True),  # what a build on this GPU gets
        "decode_threads": min(16, os.cpu_count() or 1),
        **json.loads(args.tuning),
    }
    if args.hw_min_pixels is not None:
        tuning["hw_jpeg_min_pixels"] = args.hw_min_pixels
    hw_px = int(tuning.get("hw_jpeg_min_pixels", 0) or 0)
    result: dict = {
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "images": {k: [Path(p).name for p in v] for k, v in sets.items()},
        "tuning": tuning,
    }

    def save() -> None:  # after every stage: a run cut short still leaves what it measured
        (out_dir / "gpu.json").write_text(json.dumps(result, indent=2))

    def note(key: str, value) -> None:
        result[key] = value
        print(f"{key}: {json.dumps(value)}", flush=True)
        save()

    note("nvimgcodec", have_nvimgcodec())
    if args.decoders_only:
        decoders(sets, images, note, pillow="pillow" not in skip)
        print(summary(result), flush=True)
        return 0

    # -- 1. builds
    work = Path(args.work)
    ours, seed = work / "ours", work / "seed"
    t0 = time.perf_counter()
    builds = [(ours, "resnet50", "random", "fused"), (ours, "efficientnet-lite0", "imagenet", "fused")]
    if "bytes" not in skip:
        builds += [
            (ours, "resnet50", "random", "fused-bytes"),
            (ours, "efficientnet-lite0", "imagenet", "fused-bytes"),
        ]
    if not args.smoke:
        if "ensemble" not in skip or "backbone" not in skip:  # the backbone model comes with the ensemble
            builds.append((ours, "resnet50", "random", "ensemble"))
        if "ensemble" not in skip:
            builds.append((ours, "efficientnet-lite0", "imagenet", "ensemble"))
        if "seed" not in skip:
            builds.append((seed, "resnet50", "random", "ensemble"))
    for repo, model, w, layout in builds:
        t = {**tuning, "preprocess_style": "seed" if repo == seed else "fast"}
        if model == "efficientnet-lite0":  # only the top-1 check: one instance (8 each for all four fused
            t["fused_instances"] = 1  # models, ~4 GB an instance, ran the H200 out of memory at load)
        report = pipeline.build(model, w, "python-torch", repo, tuning=t, force=True, layout=layout)
        print(f"built {report.ensemble} ({report.backbone}, {layout}) in {repo}", flush=True)
    note("build_s", round(time.perf_counter() - t0, 1))

    # -- 2. limits
    if "limits" not in skip:
        note("backbone_limit", backbone_limit((1, 64, 256) if not args.smoke else (64,)))
        mug = [p for p in images if Path(p).name == "mug.jpg"]
        decode_sets = (
            decoders(sets, images, note, pillow="pillow" not in skip)
            if "decoders" not in skip
            else {**sets, "mug": mug}
        )
        dl = {k: decoder_limit(ours, RESNET.fused, v) for k, v in decode_sets.items()}
        if "pillow" not in skip:
            dl.update(
                {
                    f"{k}_routed_4mpx": decoder_limit(ours, RESNET.fused, v, max_px=4_000_000)
                    for k, v in decode_sets.items()
                    if k != "qa"
                }
            )
        if have_nvimgcodec():  # the hardware engines beside nvJPEG's CUDA path, routed by size
            px = hw_px or 4_000_000
            dl.update(
                {
                    f"{k}_hw_{px}": decoder_limit(ours, RESNET.fused, v, hw_px=px)
                    for k, v in decode_sets.items()
                }
            )
        note("fused_decoder_limit", dl)

    exe = shutil.which("perf_analyzer")
    settings = ["--async", "--measurement-mode", "time_windows", "-p", str(args.window_ms)]
    settings += ["--stability-percentage", "25", "--max-trials", "6"]
    pa = PerfAnalyzer(exe, out_dir / "perf_analyzer.csv", settings) if exe else None
    if pa is None:
        note("perf_analyzer", "not on PATH: load stages skipped")
    else:
        note("perf_analyzer_settings", settings)
    data = {k: input_data(v, work / f"input-{k}.json") for k, v in sets.items()}
    data.update(
        {f"{k}-bytes": input_data(v, work / f"input-{k}-bytes.json", "IMAGES") for k, v in sets.items()}
    )
    # (concurrency, images per request): fused-bytes at the same images in flight as fused, k = 1 / 4 / 16
    levels = {
        "fused": {"qa": [(64, 1), (128, 1), (256, 1), (512, 1)], "three": [(64, 1), (256, 1)]},
        "fused-bytes": {
            "qa": [(128, 1), (256, 1), (32, 4), (64, 4), (8, 16), (16, 16)],
            "three": [(256, 1), (64, 4), (16, 16)],
        },
        "ensemble": {"qa": [(256, 1)], "three": [(256, 1)]},
    }
    if args.smoke:
        levels = {"fused": {"qa": [(256, 1)], "three": [(256, 1)]}, "fused-bytes": {"qa": [(16, 16)]}}
    for kind, sets_ in json.loads(args.levels).items():  # e.g. {"fused": {"three": [[256, 1]]}}
        levels[kind] = {k: [tuple(x) for x in v] for k, v in sets_.items()}

    def load(kind: str, model: str, url: str) -> list[dict]:
        rows = []
        for set_name, lv in levels.get(kind, {}).items():
            for level, k in lv:
                tag = {"layout": kind, "images": set_name, "model": model, "batch": k}
                if args.deadline_s and time.monotonic() - started > args.deadline_s:
                    rows.append({**tag, "concurrency": level, "error": "not run: the run's deadline"})
                    continue
                if kind.startswith("fused") and kind != "fused-bytes":
                    tag["hw_jpeg_min_pixels"] = int(kind.split("=")[1]) if "hw=" in kind else hw_px
                r = pa.run(
                    tag,
                    model,
                    url,
                    level,
                    ["--input-data", str(data[set_name + ("-bytes" if kind == "fused-bytes" else "")])],
                )
                print(json.dumps(r), flush=True)
                rows.append(r)
        return rows

    # -- the seed-style ensemble first (the denominator of the ratios: a run cut short still has it)
    if pa is not None and not args.smoke and "seed" not in skip:
        s = serve(seed, "seed-style")
        try:
            levels["seed"] = {"qa": [(256, 1)], "three": [(64, 1), (256, 1)]}
            if "seedqa" in skip:
                del levels["seed"]["qa"]
            result["perf_analyzer"] = {
                "seed": load("seed", RESNET.ensemble, s.grpc_url.removeprefix("grpc://"))
            }
            save()
            note("server_stats_seed", model_stats(s.grpc_url))
        finally:
            (out_dir / "server-seed.log").write_text("\n".join(list(s.log)[-200:]))
            s.stop()

    # -- 3-6 on our repository
    s = serve(ours, "fused + ensemble")
    try:
        url = s.grpc_url.removeprefix("grpc://")
        if "top1" not in skip:
            note("top1", top1_check(ours, s.grpc_url, images))
        if pa is not None and args.tuning_sweep:
            sweep = []
            for variant in SWEEP:
                params = {"log_stats_s": 2, **variant.get("parameters", {})}
                reload_with(url, ours, RESNET.fused, {**variant, "parameters": params})
                tag = {"layout": "fused " + json.dumps(variant, separators=(",", ":")), "images": "qa"}
                r = pa.run(
                    {**tag, "model": RESNET.fused}, RESNET.fused, url, 256, ["--input-data", str(data["qa"])]
                )
                r["model_log"] = [ln[ln.find("fused stats") :] for ln in s.log if "fused stats" in ln][-2:]
                print(json.dumps(r), flush=True)
                sweep.append(r)
                s.log.clear()
            best = SWEEP[best_variant(sweep)]
            # the three images: the 8.5 Mpx mug through Pillow's DCT scaling beside nvJPEG, or nvJPEG for all
            rows3 = []
            for max_px in (4_000_000, 1_000_000_000):
                params = {"log_stats_s": 2, **best["parameters"], "gpu_max_pixels": max_px}
                reload_with(url, ours, RESNET.fused, {**best, "parameters": params})
                tag = {"layout": f"fused gpu_max_pixels={max_px}", "images": "three", "model": RESNET.fused}
                r = pa.run(tag, RESNET.fused, url, 256, ["--input-data", str(data["three"])])
                r["model_log"] = [ln[ln.find("fused stats") :] for ln in s.log if "fused stats" in ln][-2:]
                print(json.dumps(r), flush=True)
                rows3.append((max_px, r))
                s.log.clear()
            max_px = max(rows3, key=lambda x: x[1].get("img_s", 0))[0]
            best = {**best, "parameters": {**best["parameters"], "gpu_max_pixels": max_px}}
            reload_with(
                url, ours, RESNET.fused, {**best, "parameters": {"log_stats_s": 5, **best["parameters"]}}
            )
            note("fused_tuning_sweep", {"rows": sweep, "three": [r for _, r in rows3], "kept": best})
        if pa is not None and args.three_sweep:
            base = {k: tuning[k] for k in ("gpu_workers", "decode_threads") if k in tuning}
            rows = []
            # only the model under test on the GPU while it is reloaded (the others come back after)
            unload_and_wait(url, [RESNET.fused_bytes, EFF.fused, EFF.fused_bytes])
            sweep3 = json.loads(args.sweep) if args.sweep else THREE_SWEEP
            for variant in sweep3:
                if args.deadline_s and time.monotonic() - started > args.deadline_s - 120:
                    break  # two minutes kept for the loads with the setting kept
                params = {**base, "log_stats_s": 2, **variant.get("parameters", {})}
                unload_and_wait(url, [RESNET.fused])
                reload_with(
                    url, ours, RESNET.fused, {"instances": variant["instances"], "parameters": params}
                )
                label = json.dumps({k: v for k, v in variant.items() if k != "qa"}, separators=(",", ":"))
                for set_name in ("three", "qa") if variant.get("qa") else ("three",):
                    if args.deadline_s and time.monotonic() - started > args.deadline_s:
                        break
                    tag = {"layout": "fused " + label, "images": set_name, "model": RESNET.fused}
                    r = pa.run(tag, RESNET.fused, url, 256, ["--input-data", str(data[set_name])])
                    r["model_log"] = [ln[ln.find("fused stats") :] for ln in s.log if "fused stats" in ln][
                        -2:
                    ]
                    print(json.dumps(r), flush=True)
                    rows.append({**r, "variant": sweep3.index(variant)})
                    s.log.clear()
            three = [r for r in rows if r["images"] == "three" and "img_s" in r]
            kept = sweep3[max(three, key=lambda r: r["img_s"])["variant"]] if three else sweep3[0]
            change = {"instances": kept["instances"], "parameters": {**base, **kept.get("parameters", {})}}
            hw_px = int(change["parameters"].get("hw_jpeg_min_pixels", hw_px))
            unload_and_wait(url, [RESNET.fused])
            reload_with(url, ours, RESNET.fused, change)
            if "bytes" not in skip:
                reload_with(url, ours, RESNET.fused_bytes, change)
            note("three_sweep", {"rows": rows, "kept": change})
        if pa is not None:
            if not args.smoke and "backbone" not in skip:
                backbone = catalog.backbone("python-torch").model_name(RESNET)
                # as built (the GPU tuning's instances and output device), then the variants if asked
                built = {
                    "instances": int(tuning.get("backbone_instances", 1)),
                    "parameters": {"output_device": str(tuning.get("backbone_output", "cpu"))},
                }
                variants = [{"instances": 1, "parameters": {"output_device": "cpu"}}]
                if not args.backbone_variants:
                    variants = [built]
                else:
                    variants += [
                        {"instances": 2, "parameters": {"output_device": "cpu"}},
                        {"instances": 1, "parameters": {"output_device": "gpu"}},
                        {"instances": 2, "parameters": {"output_device": "gpu"}},
                    ]
                shapes = ((64, 4), (256, 4)) if args.backbone_variants else ((64, 4), (256, 2), (256, 4))
                if args.backbone_shapes:
                    shapes = [tuple(map(int, x.split("x"))) for x in args.backbone_shapes.split(",")]
                rows = []
                for variant in variants:
                    if args.backbone_variants:
                        reload_with(url, ours, backbone, variant)
                    for b, c in shapes:
                        extra = [
                            "-b",
                            str(b),
                            "--shared-memory",
                            "cuda",
                            "--output-shared-memory-size",
                            str(b * 1000 * 4),
                        ]
                        tag = {"layout": "backbone", "images": "random", "model": backbone, "batch": b}
                        tag["instances"] = variant["instances"]
                        tag["output_device"] = variant["parameters"]["output_device"]
                        r = pa.run(tag, backbone, url, c, extra)
                        print(json.dumps(r), flush=True)
                        rows.append(r)
                    note("backbone_via_server_cuda_shm", rows)
            loads = result.setdefault("perf_analyzer", {})
            loads["fused"] = load("fused", RESNET.fused, url)
            save()
            if have_nvimgcodec() and "hwab" not in skip:
                # the same fused model with the hardware JPEG route the other way (off if the build has it on)
                other = 0 if hw_px else 4_000_000
                params = {k: tuning[k] for k in ("gpu_workers", "decode_threads") if k in tuning}
                reload_with(url, ours, RESNET.fused, {"parameters": {**params, "hw_jpeg_min_pixels": other}})
                levels[f"fused hw={other}"] = {
                    "three": levels["fused"].get("three", []),
                    **({"qa": [(256, 1)]} if "qa" in levels["fused"] else {}),
                }
                loads[f"fused hw={other}"] = load(f"fused hw={other}", RESNET.fused, url)
                reload_with(url, ours, RESNET.fused, {"parameters": {**params, "hw_jpeg_min_pixels": hw_px}})
                save()
            if "bytes" not in skip:
                loads["fused-bytes"] = load("fused-bytes", RESNET.fused_bytes, url)
                save()
            if "bench" not in skip:
                note(
                    "bench_fused_qa",
                    bench_processes(s.grpc_url, RESNET.fused, qa, 8, 32, 600 if args.smoke else 1500),
                )
            if not args.smoke and "ensemble" not in skip:
                loads["ensemble"] = load("ensemble", RESNET.ensemble, url)
                save()
        note("server_stats_ours", model_stats(s.grpc_url))
    finally:
        (out_dir / "server-ours.log").write_text("\n".join(list(s.log)[-400:]))
        s.stop()

    print(summary(result), flush=True)
    save()
    return 0


def summary(r: dict) -> str:
    lines = [f"{r['gpu']}  torch {r['torch']}  {r['cpus']} CPUs  {r['date']}"]
    for k, v in (r.get("backbone_limit") or {}).items():
        lines.append(f"backbone limit batch {k}: {v['img_s']:.0f} img/s")
    for k, v in (r.get("decode_limit") or {}).items():
        lines.append(f"nvJPEG decode limit {k}: {v['img_s']:.0f} img/s")
    for k, v in (r.get("pillow_processes") or {}).items():
        lines.append(f"Pillow draft, {v['processes']} processes, {k}: {v['img_s']:.0f} img/s")
    nv = r.get("nvimgcodec_limit")
    for k, v in nv.items() if isinstance(nv, dict) else []:
        lines.append(f"nvImageCodec {k}: {v.get('img_s', 0):.0f} img/s {v.get('error', '')}")
    for k, v in (r.get("fused_decoder_limit") or {}).items():
        lines.append(f"fused decoder {k}: {v['img_s']:.0f} img/s")
    for x in r.get("backbone_via_server_cuda_shm") or []:
        if "img_s" in x:
            lines.append(
                f"backbone via server, CUDA shm, {x.get('instances', 1)} inst, out {x.get('output_device', 'cpu')}, "
                f"batch {x['batch']} c={x['concurrency']}: {x['img_s']:.0f} img/s"
                f" (queue {x.get('server_queue_ms')} infer {x.get('server_compute_ms')} ms)"
            )
    for kind, rows in (r.get("perf_analyzer") or {}).items():
        for x in rows:
            if "error" in x:
                lines.append(f"{kind:<9} {x['images']:<6} c={x['concurrency']:<4} ERROR {x['error'][:120]}")
            else:
                lines.append(
                    f"{kind:<11} {x['images']:<6} c={x['concurrency']:<4} k={x.get('batch', 1):<3} {x['img_s']:8.0f} img/s  p50 {x['p50_ms']} p99 {x['p99_ms']} ms"
                )
    for x in (r.get("three_sweep") or {}).get("rows", []):
        lines.append(
            f"sweep {x['layout']} {x['images']}: {x.get('img_s', x.get('error'))} img/s p99 {x.get('p99_ms')}"
        )
    if "three_sweep" in r:
        lines.append(f"kept: {json.dumps(r['three_sweep']['kept'])}")
    if "top1" in r:
        lines.append(f"top-1 agree: {r['top1']['agree']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
