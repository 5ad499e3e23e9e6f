"""GPU benchmark, run on the lent H100 by benchmarks/gpu_device.sh (see the README's GPU section).

One run: builds the repositories there, starts the bundled tritonserver, runs ``bench`` at concurrency
1/8/64 and a batch-heavy load (256 in flight) through (a) our pipeline and (b) the seed-style pipeline (full
PIL decode + resize on the CPU, same GPU backbone), measures the backbone alone on the GPU (the limit), and
checks top-1: fp16 GPU vs fp32 CPU on every test image.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from build_tools import pipeline, weights  # noqa: E402
from tui.core import bench, preprocessing  # noqa: E402
from tui.core import server as srv  # noqa: E402
from tui.core.client import TritonClient  # noqa: E402

RESNET = "ensemble_python_resnet50"
EFF = "ensemble_python_efficientnet_lite0"


def backbone_limit(batch_sizes=(1, 64, 256), seconds: float = 3.0) -> dict:
    """torch fp16 channels_last ResNet50 on the GPU with CUDA graphs: the ceiling for the pipeline."""
    import torch

    net, _ = weights.load("resnet50", "random")
    net = net.cuda().half().to(memory_format=torch.channels_last).eval()
    out = {}
    for b in batch_sizes:
        x = torch.randn(b, 3, 224, 224, device="cuda").half().contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            for _ in range(3):
                net(x)
            g = torch.cuda.CUDAGraph()
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                net(x)
            torch.cuda.current_stream().wait_stream(s)
            with torch.cuda.graph(g):
                net(x)
            torch.cuda.synchronize()
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                g.replay()
                n += 1
            torch.cuda.synchronize()
            dt = time.perf_counter() - t0
        out[b] = {"img_s": n * b / dt, "ms_per_batch": dt / n * 1000}
    return out


def backbone_through_triton(
    url: str, model: str = "resnet50_torch", batch: int = 64, concurrency: int = 4, seconds: float = 8.0
) -> dict:
    """The backbone model alone through the server: FP32 [batch,3,224,224] requests, several in flight."""
    import threading

    import numpy as np
    import tritonclient.grpc as tc

    x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224), dtype=np.float32)
    done = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker():
        client = tc.InferenceServerClient(url)
        inp = tc.InferInput("input", list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        client.infer(model, [inp])  # warm
        while time.perf_counter() < stop:
            client.infer(model, [inp])
            with lock:
                done[0] += batch

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"batch": batch, "concurrency": concurrency, "img_s": done[0] / (time.perf_counter() - t0)}


def multiprocess_load(
    url: str, images: list[str], processes: int = 8, concurrency: int = 32, requests: int = 1500
) -> dict:
    """Several ``triton-console bench`` processes at once: one Python client process tops out (GIL) long
    before the server does. Throughput is the sum over processes; latency the worst p50/p99 among them."""
    import subprocess

    argv = [
        sys.executable,
        "-m",
        "tui.cli",
        "bench",
        *images,
        "-u",
        url,
        "-m",
        RESNET,
        "--concurrency",
        str(concurrency),
        "--requests",
        str(requests),
        "--warmup",
        "10",
        "--json",
    ]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(processes)]
    runs = [json.loads(p.communicate()[0]) for p in procs]
    return {
        "processes": processes,
        "concurrency_each": concurrency,
        "img_s": sum(r["throughput"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "p50": max(r["latency_ms"]["p50"] for r in runs),
        "p99": max(r["latency_ms"]["p99"] for r in runs),
    }


def serve(repo: Path, tuning_note: str):
    cfg = srv.ServerConfig(repo, srv.free_port(), srv.free_port(), srv.free_port())
    s = srv.ManagedServer(cfg)
    s.start()
    s.wait_ready(600)
    print(f"server ready ({tuning_note}) at {s.grpc_url}", flush=True)
    return s


def run_loads(url: str, images: list[str], requests: int) -> dict:
    client = TritonClient(url, "grpc", timeout=120)
    out = {}
    for c in (1, 8, 64, 256):
        n = requests if c > 1 else max(200, requests // 10)
        r = bench.run(client, RESNET, images, concurrency=c, requests=n, warmup=20)
        out[c] = {
            "img_s": r.throughput,
            "p50": r.latency.p50,
            "p99": r.latency.p99,
            "errors": r.errors,
            "server": r.breakdown.to_dict(),
        }
        print(
            f"  concurrency {c}: {r.throughput:.0f} img/s p50 {r.latency.p50:.1f} p99 {r.latency.p99:.1f} ms "
            f"errors {r.errors}",
            flush=True,
        )
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--work", default="/tmp/tc-gpu")
    args = ap.parse_args()
    import torch

    images = sorted(str(p) for p in Path(args.images).iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    result: dict = {
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "images": [Path(p).name for p in images],
    }
    tuning = {
        "decode_threads": min(16, os.cpu_count() or 1),
        "preprocess_instances": 2,
        "queue_delay_us": 2000,
    }
    work = Path(args.work)
    fast, seed = work / "fast", work / "seed"
    for repo, style in ((fast, "fast"), (seed, "seed")):
        t = {**tuning, "preprocess_style": style}
        for model, w in (("resnet50", "random"), ("efficientnet-lite0", "imagenet")):
            report = pipeline.build(model, w, "auto", repo, tuning=t, force=True)
            print(f"built {report.ensemble} in {repo} ({report.backbone})", flush=True)
    result["backbone"] = report.backbone

    # top-1: fp32 torch on the CPU (reference) vs the fp16 GPU pipeline
    import numpy as np

    net, _ = weights.load("efficientnet-lite0", "imagenet")
    ref = {}
    with torch.no_grad():
        for p in images:
            x = torch.from_numpy(preprocessing.preprocess(Path(p).read_bytes())[None])
            ref[Path(p).name] = int(net(x).argmax())
    result["limit"] = backbone_limit()
    print("backbone alone:", json.dumps(result["limit"]), flush=True)

    s = serve(fast, "ours")
    try:
        client = TritonClient(s.grpc_url, "grpc", timeout=120)
        top1 = {Path(p).name: client.classify(Path(p).read_bytes(), EFF, 1).top[0].index for p in images}
        result["top1"] = {"fp32_cpu_reference": ref, "fp16_gpu_pipeline": top1, "agree": ref == top1}
        print("top-1", json.dumps(result["top1"]), flush=True)
        result["ours"] = run_loads(s.grpc_url, images, args.requests)
        result["ours_multiprocess"] = multiprocess_load(s.grpc_url, images)
        print("ours, 8 client processes:", json.dumps(result["ours_multiprocess"]), flush=True)
        result["backbone_via_triton"] = [backbone_through_triton(s.grpc_url, batch=b) for b in (64, 256)]
        print("backbone via triton:", json.dumps(result["backbone_via_triton"]), flush=True)
    finally:
        s.stop()
    s = serve(seed, "seed-style")
    try:
        result["seed_style"] = run_loads(s.grpc_url, images, args.requests // 3)
        result["seed_style_multiprocess"] = multiprocess_load(s.grpc_url, images, requests=300)
        print("seed-style, 8 client processes:", json.dumps(result["seed_style_multiprocess"]), flush=True)
    finally:
        s.stop()
    del np
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
