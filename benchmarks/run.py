"""The benchmark suite: one run, the same images, every figure as a ratio against a reference.

    .venv/bin/python -m benchmarks.run [--images DIR] [--requests 60] [--out bench-results/cpu.json]

1. in-process reference: Pillow decode + the same preprocessing + onnxruntime on the same ONNX file;
2. bare client: a minimal raw tritonclient call to the ensemble;
3. console path: the console's own classify code (tui.core.classifier.classify);
4. seed-style preprocessing (full decode, resize, crop) vs ours, with top-1 agreement;
5. throughput at concurrency 1/4/8/16 through the ensemble vs onnxruntime-alone batched throughput;
6. start-up: ``triton-console --help`` vs ``python -c pass``; the console's first paint; event-loop lag while
   the Classify pane works.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.core import bench, classifier, preprocessing  # noqa: E402
from tui.core import server as srv  # noqa: E402
from tui.core.client import TritonClient  # noqa: E402
from tui.core.stats import percentile  # noqa: E402

MODEL_KEY = "efficientnet-lite0"
ENSEMBLE = "ensemble_python_efficientnet_lite0"


def p50(xs):
    return percentile(xs, 50)


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def ort_session(path: Path, threads: int = 0):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def raw_client_call(url: str):
    """The seed's client, minimal: bytes as UINT8 [1, N] to INPUT, OUTPUT back."""
    import tritonclient.grpc as tc

    client = tc.InferenceServerClient(url)

    def call(data: bytes):
        arr = np.frombuffer(data, dtype=np.uint8).reshape(1, -1)
        inp = tc.InferInput("INPUT", list(arr.shape), "UINT8")
        inp.set_data_from_numpy(arr)
        return client.infer(ENSEMBLE, [inp], outputs=[tc.InferRequestedOutput("OUTPUT")]).as_numpy("OUTPUT")

    return call


def startup(n: int = 7) -> dict:
    def wall(argv):
        return statistics.median(
            timed(lambda: subprocess.run(argv, capture_output=True, check=True, cwd=ROOT), n)
        )

    base = wall([sys.executable, "-c", "pass"])
    helpt = wall([sys.executable, "-m", "tui.cli", "--help"])
    return {"python_pass_ms": base, "help_ms": helpt, "ratio": helpt / base}


async def first_paint_and_lag(url: str, images: list[str]) -> dict:
    """Time to the first composed screen, and the longest event-loop stall while classifying."""
    from tui.app import ConsoleApp, ConsoleOptions
    from tui.panes.classify import ClassifyPane

    t0 = time.perf_counter()
    app = ConsoleApp(ConsoleOptions(url=url, protocol="grpc"))
    async with app.run_test(size=(100, 30)) as pilot:
        first_paint = (time.perf_counter() - t0) * 1000
        pane = app.query_one(ClassifyPane)
        deadline = time.monotonic() + 60
        while pane.model is None and time.monotonic() < deadline:
            await pilot.pause(0.1)
        await pilot.press("4")
        lags: list[float] = []
        stop = asyncio.Event()

        async def probe():
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                t = loop.time()
                await asyncio.sleep(0.005)
                lags.append((loop.time() - t - 0.005) * 1000)

        task = asyncio.create_task(probe())
        first_round = 0
        for round_ in range(6):
            pane.classify(images)
            n0 = len(pane.latencies)
            while len(pane.latencies) < n0 + len(images) and time.monotonic() < deadline + 60:
                await pilot.pause(0.05)
            if round_ == 0:
                first_round = len(
                    lags
                )  # the first round overlaps one-time work (tree listing, first renders)
        stop.set()
        await task
        await pilot.press("q")
    steady = lags[first_round:] or [0.0]
    return {
        "first_paint_ms": first_paint,
        "max_loop_lag_ms": max(lags),
        "p99_loop_lag_ms": percentile(lags, 99),
        "max_loop_lag_first_round_ms": max(lags[:first_round] or [0.0]),
        "max_loop_lag_steady_ms": max(steady),
        "p99_loop_lag_steady_ms": percentile(steady, 99),
        "classified": len(pane.latencies),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", default=str(ROOT.parent / "shared" / "images"))
    ap.add_argument("--requests", type=int, default=60, help="timed requests per image and path")
    ap.add_argument("--throughput-requests", type=int, default=300)
    ap.add_argument(
        "--repository", default=None, help="reuse a built repository (else one is built in a temp dir)"
    )
    ap.add_argument("--out", default=str(ROOT / "bench-results" / "cpu.json"))
    args = ap.parse_args()

    names = sorted(p for p in os.listdir(args.images) if p.lower().endswith((".jpg", ".jpeg", ".png")))
    paths = [os.path.join(args.images, n) for n in names]
    payloads = {n: Path(p).read_bytes() for n, p in zip(names, paths, strict=True)}
    results: dict = {
        "machine": f"{platform.node()} {platform.processor() or platform.machine()} {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "images": names,
    }

    tmp = tempfile.mkdtemp(prefix="tc-bench-")
    repo = Path(args.repository) if args.repository else Path(tmp) / "repo"
    if not args.repository:
        from build_tools import pipeline

        print("building the repository…", flush=True)
        pipeline.build(MODEL_KEY, "imagenet", "python-onnxruntime", repo)
    onnx_path = repo / "efficientnet_lite0_ort" / "1" / "model.onnx"

    # -- 4. preprocessing: ours vs seed-style, and top-1 agreement
    sess = ort_session(onnx_path)
    pre = {}
    for n, data in payloads.items():
        ours = p50(timed(lambda d=data: preprocessing.preprocess(d), 15))
        seed = p50(timed(lambda d=data: preprocessing.preprocess_seed_style(d), 7))
        a = sess.run(None, {"input": preprocessing.preprocess(data)[None]})[0].argmax()
        b = sess.run(None, {"input": preprocessing.preprocess_seed_style(data)[None]})[0].argmax()
        pre[n] = {"ours_ms": ours, "seed_ms": seed, "speedup": seed / ours, "same_top1": bool(a == b)}
    results["preprocessing"] = pre

    # -- 1. in-process reference
    def reference(data):
        x = preprocessing.preprocess(data)[None]
        return softmax(sess.run(None, {"input": x})[0])

    cfg = srv.ServerConfig(repo, srv.free_port(), srv.free_port(), srv.free_port())
    server = srv.ManagedServer(cfg)
    server.start()
    try:
        server.wait_ready(300)
        client = TritonClient(server.grpc_url, "grpc", timeout=60)
        raw = raw_client_call(server.grpc_url)
        for data in payloads.values():  # warm every path
            for _ in range(3):
                reference(data), raw(data), classifier.classify(client, ENSEMBLE, data, 5)
        lat = {}
        for n, data in payloads.items():
            ref, bare, cons = [], [], []
            for _ in range(args.requests):  # interleaved so drift hits all three alike
                ref += timed(lambda d=data: reference(d), 1)
                bare += timed(lambda d=data: raw(d), 1)
                cons += timed(lambda d=data: classifier.classify(client, ENSEMBLE, d, 5), 1)
            lat[n] = {
                "reference_p50": p50(ref),
                "bare_p50": p50(bare),
                "console_p50": p50(cons),
                "console_vs_reference": p50(cons) / p50(ref),
                "console_vs_bare": p50(cons) / p50(bare),
            }
        results["latency"] = lat

        # -- 5. throughput
        batch = np.stack([preprocessing.preprocess(d) for d in payloads.values()] * 6)[:16]
        sess.run(None, {"input": batch})
        per = timed(lambda: sess.run(None, {"input": batch}), 10)
        ort_ips = len(batch) / (statistics.median(per) / 1000)
        thr = {}
        for c in (1, 4, 8, 16):
            r = bench.run(
                client, ENSEMBLE, paths, concurrency=c, requests=args.throughput_requests, warmup=10
            )
            thr[c] = {
                "img_s": r.throughput,
                "p50": r.latency.p50,
                "p99": r.latency.p99,
                "errors": r.errors,
                "vs_ort_batched": r.throughput / ort_ips,
                "server": r.breakdown.to_dict(),
            }
        results["throughput"] = {"ort_batched_img_s": ort_ips, "ensemble": thr}

        # -- 6. start-up and event loop
        results["startup"] = startup()
        results["console"] = asyncio.run(first_paint_and_lag(server.grpc_url, paths))
    finally:
        server.stop()

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(render(results))
    return 0


def render(r: dict) -> str:
    out = [
        f"machine: {r['machine']}   date: {r['date']}",
        "",
        "latency p50 (ms)   reference  bare  console  console/ref  console/bare",
    ]
    for n, v in r["latency"].items():
        out.append(
            f"  {n:<14} {v['reference_p50']:9.2f} {v['bare_p50']:6.2f} {v['console_p50']:8.2f} "
            f"{v['console_vs_reference']:11.2f}× {v['console_vs_bare']:11.2f}×"
        )
    out += ["", "preprocessing (ms)  ours  seed-style  speed-up  same top-1"]
    for n, v in r["preprocessing"].items():
        out.append(
            f"  {n:<14} {v['ours_ms']:6.2f} {v['seed_ms']:10.2f} {v['speedup']:8.1f}×  {v['same_top1']}"
        )
    t = r["throughput"]
    out += ["", f"throughput (img/s)  onnxruntime alone, batch 16: {t['ort_batched_img_s']:.1f}"]
    for c, v in t["ensemble"].items():
        out.append(
            f"  concurrency {c:>2}: {v['img_s']:7.1f}  ({v['vs_ort_batched']:.2f}× ort)  p50 {v['p50']:.1f} "
            f"p99 {v['p99']:.1f} ms  errors {v['errors']}"
        )
    s, c = r["startup"], r["console"]
    out += [
        "",
        f"--help {s['help_ms']:.0f} ms vs python -c pass {s['python_pass_ms']:.0f} ms: {s['ratio']:.2f}×",
        f"first paint {c['first_paint_ms']:.0f} ms; event loop max lag {c['max_loop_lag_ms']:.1f} ms "
        f"(first round {c['max_loop_lag_first_round_ms']:.1f}; steady max {c['max_loop_lag_steady_ms']:.1f}, "
        f"p99 {c['p99_loop_lag_steady_ms']:.1f}) over {c['classified']} classifications",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
