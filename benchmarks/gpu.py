"""GPU benchmark, run on the lent H100 by benchmarks/gpu_device.sh (see the README's GPU section).

One run: builds the repositories there, starts the bundled tritonserver, runs ``bench`` at concurrency
1/8/64 and a batch-heavy load (256 in flight), plus 8 client processes at once (one Python client tops out
first), through (a) our pipeline (nvJPEG + fp16 torch backbone, GPU tensors between the steps), (b) the
seed-style pipeline with the same tuning (full PIL decode + resize on the CPU, same GPU backbone) and (c) the
seed as written (one preprocess instance, requests one after another). It measures the limits in-process
(the backbone with CUDA graphs; nvJPEG preprocessing), the backbone alone through the server (gRPC, and
CUDA shared memory), and checks top-1: nvJPEG + fp16 GPU vs Pillow + fp32 CPU on every test image.
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
from tui.core import bench, classifier, preprocessing, stats  # noqa: E402
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


def decode_limit(images: list[str], batch: int = 64, seconds: float = 3.0) -> dict:
    """nvJPEG decode + batched resize/crop/normalise in-process (one thread), the images mixed as in
    the load: the ceiling of one ``preprocess`` instance on this GPU."""
    import torch

    from tui.core.gpu_preprocessing import JpegBatch

    datas = [Path(p).read_bytes() for p in images]
    items = [datas[i % len(datas)] for i in range(batch)]
    gpu = JpegBatch(preprocessing, "cuda")
    sizes = [gpu.header(b) for b in items]
    payloads = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in items]
    gpu.run(payloads, sizes)
    torch.cuda.synchronize()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        gpu.run(payloads, sizes)
        torch.cuda.synchronize()
        n += batch
    return {"batch": batch, "img_s": n / (time.perf_counter() - t0)}


def backbone_through_triton(
    url: str,
    model: str = "resnet50_torch",
    batch: int = 64,
    concurrency: int = 4,
    seconds: float = 8.0,
    transport: str = "grpc",
) -> dict:
    """The backbone model alone through the server: FP32 [batch,3,224,224] requests, several in flight.

    ``grpc`` sends the tensor in each request (what a remote client pays: 600 KB per image); ``cuda_shm``
    registers a CUDA shared-memory region per client thread holding the batch already on the GPU, so the
    server hands the backbone device memory (the way to feed a GPU model from a co-located process)."""
    import threading

    import numpy as np
    import tritonclient.grpc as tc

    x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224), dtype=np.float32)
    done = [0]
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)

    def worker(k: int):
        client = tc.InferenceServerClient(url)
        inp = tc.InferInput("input", list(x.shape), "FP32")
        region = None
        try:
            if transport == "cuda_shm":
                import base64

                import cupy

                rt = cupy.cuda.runtime
                region = rt.malloc(x.nbytes)  # a whole allocation of its own: its IPC handle has no offset
                rt.memcpy(region, x.ctypes.data, x.nbytes, rt.memcpyHostToDevice)
                handle = base64.b64encode(bytes(rt.ipcGetMemHandle(region)))
                client.register_cuda_shared_memory(f"bench_in_{k}", handle, 0, x.nbytes)
                inp.set_shared_memory(f"bench_in_{k}", x.nbytes)
            else:
                inp.set_data_from_numpy(x)
            client.infer(model, [inp])  # warm
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        start.wait()
        deadline = time.perf_counter() + seconds
        while not errors and time.perf_counter() < deadline:
            client.infer(model, [inp])
            with lock:
                done[0] += batch
        if region is not None:
            client.unregister_cuda_shared_memory(f"bench_in_{k}")
            rt.free(region)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    out = {"transport": transport, "batch": batch, "concurrency": concurrency}
    if errors:
        return {**out, "error": errors[0]}
    return {**out, "img_s": done[0] / (time.perf_counter() - t0)}


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


def isolated(fn, *args, **kw) -> dict:
    """``fn(*args, **kw)`` in a child process: a crash in a CUDA client library is a result, not the end."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        try:
            return pool.apply_async(fn, args, kw).get(timeout=120)
        except Exception as exc:
            return {**kw, "error": f"{type(exc).__name__}: {exc}"}


def profile_stubs(seconds: float = 8.0) -> dict:
    """py-spy samples of every Python-backend stub while the load runs: the top frames by own time and by
    time including callees, per model instance. Needs py-spy on PATH (benchmarks/make_carry.sh)."""
    import shutil
    import subprocess
    from collections import Counter

    import psutil

    if not shutil.which("py-spy"):
        return {"error": "py-spy not on PATH"}
    stubs = {}
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = proc.info["cmdline"] or []
        if cmd and cmd[0].endswith("triton_python_backend_stub"):
            model = Path(cmd[1]).parent.parent.name if len(cmd) > 1 else "stub"
            stubs[proc.info["pid"]] = f"{model} (pid {proc.info['pid']})"
    runs = {
        pid: subprocess.Popen(
            [
                "py-spy",
                "record",
                "-p",
                str(pid),
                "-d",
                str(int(seconds)),
                "-r",
                "200",
                "--nonblocking",
                "-f",
                "raw",
                "-o",
                f"/tmp/spy-{pid}.txt",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for pid in stubs
    }
    out = {}
    for pid, run in runs.items():
        err = run.communicate()[1]
        own, incl, total = Counter(), Counter(), 0
        try:
            lines = Path(f"/tmp/spy-{pid}.txt").read_text().splitlines()
        except OSError:
            out[stubs[pid]] = {"error": err.strip()[-300:]}
            continue
        for line in lines:
            stack, _, count = line.rpartition(" ")
            n = int(count)
            frames = stack.split(";")
            total += n
            own[frames[-1]] += n
            for f in set(frames):
                incl[f] += n
        out[stubs[pid]] = {
            "samples": total,
            "own": [(f, round(100 * n / total, 1)) for f, n in own.most_common(12)],
            "inclusive": [(f, round(100 * n / total, 1)) for f, n in incl.most_common(25)],
        }
    return out


def seed_literal_tuning() -> dict:
    """The example as written: one preprocess instance decoding its requests one after another."""
    return {"decode_threads": 1, "preprocess_instances": 1, "queue_delay_us": 0, "preprocess_style": "seed"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--work", default="/tmp/tc-gpu")
    ap.add_argument("--tuning", default="{}", help="JSON overriding our pipeline's tuning")
    ap.add_argument("--profile", action="store_true", help="py-spy the stubs during the 8-process load")
    ap.add_argument(
        "--only",
        default="",
        help="comma list of: limit,ours,mp,backbone,seed,literal (default all but mp; mp: ours under the 8-process load only)",
    )
    args = ap.parse_args()
    import torch

    only = set(filter(None, args.only.split(","))) or {"limit", "ours", "backbone", "seed", "literal"}
    images = sorted(str(p) for p in Path(args.images).iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    result: dict = {
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "images": [Path(p).name for p in images],
    }
    out = Path(args.out)

    def save():  # after every stage: a run cut short still leaves what it measured
        out.write_text(json.dumps(result, indent=2))

    # what a build on this machine gets (pipeline.GPU_TUNING), and the same for the seed-style run
    tuning = {
        "decode_threads": min(16, os.cpu_count() or 1),
        **pipeline.GPU_TUNING,
        **json.loads(args.tuning),
    }
    result["tuning"] = tuning
    work = Path(args.work)
    repos = {
        "ours": (work / "fast", {**tuning, "preprocess_style": "fast"}),
        "seed": (work / "seed", {**tuning, "preprocess_style": "seed"}),
        "literal": (work / "literal", seed_literal_tuning()),
    }
    for key, (repo, t) in repos.items():
        if key in only or (key == "ours" and only & {"backbone", "mp"}):
            models = (("resnet50", "random"), ("efficientnet-lite0", "imagenet"))
            for model, w in models if key == "ours" and "ours" in only else models[:1]:
                report = pipeline.build(model, w, "auto", repo, tuning=t, force=True)
                print(f"built {report.ensemble} in {repo} ({report.backbone})", flush=True)
            result["backbone"] = report.backbone

    if "limit" in only:
        result["limit"] = backbone_limit()
        print("backbone alone:", json.dumps(result["limit"]), flush=True)
        result["decode_limit"] = decode_limit(images)
        print("GPU preprocessing alone:", json.dumps(result["decode_limit"]), flush=True)
        save()

    if only & {"ours", "mp", "backbone"}:
        s = serve(repos["ours"][0], "ours")
        try:
            if "ours" in only:
                # top-1: fp32 torch on the CPU with Pillow (reference) vs nvJPEG + the fp16 GPU pipeline
                net, _ = weights.load("efficientnet-lite0", "imagenet")
                with torch.no_grad():
                    ref = {
                        Path(p).name: int(
                            net(
                                torch.from_numpy(preprocessing.preprocess(Path(p).read_bytes())[None])
                            ).argmax()
                        )
                        for p in images
                    }
                client = TritonClient(s.grpc_url, "grpc", timeout=120)
                top1 = {
                    Path(p).name: classifier.classify(client, EFF, Path(p).read_bytes(), 1).top[0].index
                    for p in images
                }
                result["top1"] = {"fp32_cpu_reference": ref, "fp16_gpu_pipeline": top1, "agree": ref == top1}
                print("top-1", json.dumps(result["top1"]), flush=True)
                result["ours"] = run_loads(s.grpc_url, images, args.requests)
                save()
            if only & {"ours", "mp"}:
                if args.profile:
                    import threading

                    prof: dict = {}
                    spy = threading.Timer(5.0, lambda: prof.update(profile_stubs()))
                    spy.start()
                result["ours_multiprocess"] = multiprocess_load(s.grpc_url, images)
                if args.profile:
                    spy.join()
                    result["profile"] = prof
                    print("profile:", json.dumps(prof, indent=1), flush=True)
                print("ours, 8 client processes:", json.dumps(result["ours_multiprocess"]), flush=True)
                result["ours_server_stats"] = model_stats(s.grpc_url)
                print(json.dumps(result["ours_server_stats"]), flush=True)
                save()
            if "backbone" in only:
                result["backbone_via_triton"] = []
                for t, b, c in (
                    ("grpc", 64, 4),
                    ("cuda_shm", 64, 4),
                    ("cuda_shm", 256, 2),
                    ("cuda_shm", 256, 4),
                ):
                    r = isolated(backbone_through_triton, s.grpc_url, batch=b, transport=t, concurrency=c)
                    result["backbone_via_triton"].append(r)
                    print("backbone via triton:", json.dumps(r), flush=True)
                    save()
        finally:
            s.stop()
    if "seed" in only:
        s = serve(repos["seed"][0], "seed-style")
        try:
            result["seed_style"] = run_loads(s.grpc_url, images, args.requests // 3)
            save()
            result["seed_style_multiprocess"] = multiprocess_load(s.grpc_url, images, requests=300)
            print(
                "seed-style, 8 client processes:", json.dumps(result["seed_style_multiprocess"]), flush=True
            )
            save()
        finally:
            s.stop()
    if "literal" in only:
        s = serve(repos["literal"][0], "seed as written")
        try:
            result["seed_literal_multiprocess"] = multiprocess_load(s.grpc_url, images, requests=60)
            print("seed as written, 8 client processes:", json.dumps(result["seed_literal_multiprocess"]))
            save()
        finally:
            s.stop()
    save()
    return 0


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


if __name__ == "__main__":
    sys.exit(main())
