"""The benchmark suite: one run, one server, the same images, every figure as a ratio against a reference
measured in the same run.

    .venv/bin/python -m benchmarks.run [--images DIR] [--requests 60] [--out bench-results/cpu.json]

1. latency per image (p50, interleaved): the in-process reference (Pillow + the same preprocessing +
   onnxruntime on the same ONNX file), a bare tritonclient call, and the console's classify, through the
   three-step ensemble and the fused model; and the floor under any Python-backend model (an identity
   model sent the same bytes on its own server, answering at once, and busy for the reference's time first);
2. ``infer`` on a 3×224×224 FP32 tensor (the backbone model) vs a bare tritonclient call with that tensor;
3. seed-style preprocessing (full decode, resize, crop) vs ours, with top-1 agreement;
4. throughput at concurrency 1/4/8/16 through both layouts vs an in-process thread pipeline (the fused
   model's own decoder and onnxruntime runner, decoding the next batch while the current one runs, on the
   same cores); at 8 each three times in turn, the median counting;
5. the console: ``--help`` vs ``python -c pass``; first paint; event-loop stalls while the Classify pane
   works and while the Bench pane runs a concurrency sweep up to 16; the Metrics pane's cost (CPU time it
   adds, in the console and the server, under a concurrency-8 bench);
6. one-shot ``triton-console classify IMAGE`` as a whole process vs the seed-style client script
   (benchmarks/seed_client.py: tritonclient, Pillow, numpy) on the same server and image, interleaved.

7. the ensemble's backbone and the fused model (``--spinning-layouts``), each with the catalog's
   ``ort_spinning`` ("lone") vs "run", "false" and "true" (or ``--spinning-values``), a server each, one
   run: lone requests against the reference, and at concurrency 8 against the in-process pipeline.

8. ``tune``: the tuner's figure for a trial vs ``triton-console bench`` at the same config and load (a model
   that sleeps 40 ms per request, two instances, four in flight; its own explicit-mode server, seconds).

``--sections`` runs a subset (the machine is shared: a full run takes many minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import platform
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.gpu import runtime_module  # noqa: E402
from triton_console.build_tools import catalog  # noqa: E402
from triton_console.tui.core.classify import classifier, preprocessing  # noqa: E402
from triton_console.tui.core.client.client import TritonClient  # noqa: E402
from triton_console.tui.core.client.stats import percentile  # noqa: E402
from triton_console.tui.core.load import loadgen  # noqa: E402
from triton_console.tui.core.request import infer  # noqa: E402
from triton_console.tui.core.server import process as srv  # noqa: E402

MODEL_KEY = "efficientnet-lite0"
SPEC = catalog.MODELS[MODEL_KEY]
ENSEMBLE, FUSED = SPEC.ensemble, SPEC.fused
BACKBONE = catalog.backbone("python-onnxruntime").model_name(SPEC)
LAYOUTS = {"ensemble": ENSEMBLE, "fused": FUSED}
SECTIONS = ("preprocessing", "latency", "infer", "oneshot", "throughput", "console", "spinning", "tune")


def p50(xs):
    return percentile(xs, 50)


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def interleaved_p50(paths: dict, data: bytes, requests: int) -> dict[str, float]:
    """p50 ms of each path on ``data``: blocks of 9 calls (the first dropped), the blocks of all paths
    interleaved over several rounds so drift hits every path alike; a pause before each block lets the
    previous path's onnxruntime threads stop spinning (on two cores they would slow the next)."""
    times: dict[str, list[float]] = {k: [] for k in paths}
    for _ in range(max(1, requests // 8)):
        for k, fn in paths.items():
            time.sleep(0.2)
            times[k].extend(timed(lambda fn=fn: fn(data), 9)[1:])
    return {k: p50(v) for k, v in times.items()}


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


def raw_image_call(url: str, model: str, parameters: dict | None = None):
    """The seed's client, minimal: bytes as UINT8 [1, N] to INPUT, OUTPUT back."""
    import tritonclient.grpc as tc

    client = tc.InferenceServerClient(url)
    out = [tc.InferRequestedOutput("OUTPUT")]

    def call(data: bytes):
        arr = np.frombuffer(data, dtype=np.uint8).reshape(1, -1)
        inp = tc.InferInput("INPUT", list(arr.shape), "UINT8")
        inp.set_data_from_numpy(arr)
        return client.infer(model, [inp], outputs=out, parameters=parameters).as_numpy("OUTPUT")

    return call


IDENTITY_CONFIG = """name: "identity"
backend: "python"
max_batch_size: 256
input { name: "INPUT" data_type: TYPE_UINT8 dims: -1 allow_ragged_batch: true }
output { name: "OUTPUT" data_type: TYPE_FP32 dims: 1000 }
dynamic_batching {}
"""
IDENTITY_MODEL = """import json
import time

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        out = np.zeros((1, 1000), np.float32)
        for r in requests:
            pb_utils.get_input_tensor_by_name(r, "INPUT").as_numpy()
            wait = float(json.loads(r.parameters() or "{}").get("wait_ms", 0)) / 1e3
            t = time.perf_counter()
            while time.perf_counter() - t < wait:  # busy, as a model computing would be
                pass
        return [pb_utils.InferenceResponse([pb_utils.Tensor("OUTPUT", out)]) for _ in requests]
"""


def python_floor(payloads: dict[str, bytes], n: int, waits: dict[str, float]) -> dict[str, dict[str, float]]:
    """p50 ms per image of a Python-backend model that does nothing with the same bytes and answers the
    same OUTPUT: what gRPC, the server and the stub's IPC cost before any decoding, i.e. the floor under
    every Python-backend layout on this machine. ``waited``: the same model busy for ``waits[image]`` ms
    (the reference's own time) before it answers, because the hand-offs cost more after a wait: on this
    VM idle vCPUs halt (cpuidle haltpoll, no guest polling) and each wake-up on the way back is paid again;
    a request that waits 15 ms paid ~1 ms more overhead than one answered at once (measured 2026-11-28)."""
    with tempfile.TemporaryDirectory(prefix="tc-floor-") as tmp:
        folder = Path(tmp) / "identity" / "1"
        folder.mkdir(parents=True)
        (folder.parent / "config.pbtxt").write_text(IDENTITY_CONFIG)
        (folder / "model.py").write_text(IDENTITY_MODEL)
        with srv.ManagedServer(srv.ServerConfig(Path(tmp), *srv.free_ports(3))) as server:
            server.start()
            server.wait_ready(120)
            out = {}
            bare = raw_image_call(server.grpc_url, "identity")
            for name, data in payloads.items():
                waited = raw_image_call(server.grpc_url, "identity", {"wait_ms": waits[name]})
                out[name] = interleaved_p50({"floor": bare, "waited": waited}, data, n)
            return out


def spinning_ab(
    repo: Path,
    payloads: dict[str, bytes],
    n: int,
    reference,
    others=("run", "false", "true", "lone"),
    throughput_requests: int = 0,
    files: list[str] | None = None,
    layout: str = "ensemble",
) -> dict:
    """The ensemble's backbone (or, ``layout`` "fused", the fused model's onnxruntime session) with the
    catalog's ``ort_spinning`` against ``others`` ("run": spin during a run
    only; "false": never spin; "true": onnxruntime's default, spin on after a run; "lone": spin on after a lone image, never
    after a batch; "VALUE:US[:MS[:THREADS]]" also sets ``ort_spin_us``, the spinning window in µs (0:
    onnxruntime's), ``ort_load_window_ms``, how long after a batch "lone" counts single images as load, and
    ``intra_op_threads``), in one run: a copy of the repository per value with only those parameters changed,
    each on its own server, lone requests interleaved in blocks with the in-process reference. Which wins
    depends on the machine: on a quiet VM whose idle vCPUs halt, "false" pays a wake-up at every parallel
    step; on cores busy with other work, spinning takes their time.

    With ``throughput_requests`` (and the image ``files``), also the other half of the choice: each value at concurrency 8 against the
    in-process thread pipeline, in turn, three rounds, medians (``concurrency_8``): the catalog's value must
    keep the ensemble at >= 0.8x the pipeline there."""

    from google.protobuf import text_format

    from triton_console.build_tools import repository

    model, tuned, copied = (
        (FUSED, FUSED, (FUSED,))
        if layout == "fused"
        else (ENSEMBLE, BACKBONE, ("preprocess", "postprocess", BACKBONE, ENSEMBLE))
    )
    with tempfile.TemporaryDirectory(prefix="tc-spin-") as tmp:
        built = repository.read_config(repo / tuned / "config.pbtxt").parameters["ort_spinning"]
        roots = {built.string_value or "true": repo}  # the catalog's value, as built
        for value in (v for v in others if v not in roots):
            other = roots[value] = Path(tmp) / value.replace(":", "_")
            for name in copied:
                shutil.copytree(repo / name, other / name)
            config = repository.read_config(other / tuned / "config.pbtxt")
            spinning, *extra = value.split(":")
            config.parameters["ort_spinning"].string_value = spinning
            keys = ("ort_spin_us", "ort_load_window_ms", "intra_op_threads")
            for key, v in zip(keys, extra, strict=False):
                config.parameters[key].string_value = v
            (other / tuned / "config.pbtxt").write_text(text_format.MessageToString(config))
        servers = {}
        try:
            for key, root in roots.items():
                cfg = srv.ServerConfig(
                    root, *srv.free_ports(3), model_control="explicit", load_models=[model]
                )
                servers[key] = srv.ManagedServer(cfg)
                servers[key].start()
            for s in servers.values():
                s.wait_ready(300)
            paths = {"reference": reference}
            for key, s in servers.items():
                c = TritonClient(s.grpc_url, "grpc", timeout=60)
                paths[f"served_{key}"] = lambda d, c=c: classifier.classify(c, model, d, 5)
            for d in payloads.values():
                for fn in paths.values():
                    timed(lambda fn=fn, d=d: fn(d), 3)
            out = {}
            for name, d in payloads.items():
                p = interleaved_p50(paths, d, n)
                out[name] = {"reference_p50": p["reference"]}
                for k in servers:
                    out[name][f"{k}_p50"] = p[f"served_{k}"]
                    out[name][f"{k}_vs_reference"] = p[f"served_{k}"] / p["reference"]
            if throughput_requests and files:
                runs: dict[str, list[float]] = {"pipeline": [], **{k: [] for k in servers}}
                for _ in range(3):
                    runs["pipeline"].append(
                        thread_pipeline(repo, list(payloads.values()), throughput_requests)["img_s"]
                    )
                    for key, s in servers.items():
                        c = TritonClient(s.grpc_url, "grpc", timeout=60)
                        w = loadgen.image_workload(c, model, files)
                        runs[key].append(
                            loadgen.run_step(w, 8, requests=throughput_requests, warmup=10).throughput
                        )
                med = {k: statistics.median(v) for k, v in runs.items()}
                out["concurrency_8"] = {
                    "pipeline_img_s": med["pipeline"],
                    **{f"{k}_img_s": med[k] for k in servers},
                    **{f"{k}_vs_pipeline": med[k] / med["pipeline"] for k in servers},
                    "runs_img_s": {k: [round(x, 1) for x in v] for k, v in runs.items()},
                }
            return out
        finally:
            for s in servers.values():
                s.stop()


def thread_pipeline(repo: Path, datas: list[bytes], n: int, batch: int = 8) -> dict:
    """The best in-process equivalent of the fused model: its decoder (Pillow threads) and its onnxruntime
    runner, with the next batch decoded while the current one runs; ``n`` images in batches of ``batch``."""
    rt = runtime_module(repo, FUSED)
    decoder = rt.BatchDecoder(0, gpu="off")
    runner = rt.OrtRunner(str(repo / FUSED / "1" / "model.onnx"))
    arrays = [np.frombuffer(d, dtype=np.uint8) for d in datas]
    ready: queue.Queue = queue.Queue(maxsize=2)

    def produce():
        for start in range(0, n, batch):
            group = [arrays[i % len(arrays)] for i in range(start, min(n, start + batch))]
            ready.put(decoder.decode(group))
        ready.put(None)

    runner.forward([decoder.decode(arrays[:1])[0][0]])  # warm
    producer = threading.Thread(target=produce)
    t0 = time.perf_counter()
    producer.start()
    done = 0
    while (item := ready.get()) is not None:
        softmax(runner.forward([b for b, _ in item]))
        done += len(item)
    seconds = time.perf_counter() - t0
    producer.join()
    decoder.close()
    return {"img_s": done / seconds, "batch": batch, "images": done}


def scratch(prefix: str) -> str:
    """A temporary folder removed when the process exits (a built repository is 36 MB: every ``make bench``
    left three of them in /tmp)."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def oneshot(url: str, model: str, image: str, rounds: int = 15) -> dict:
    """``triton-console classify IMAGE -m MODEL`` as a whole process vs benchmarks/seed_client.py (the same
    request: bytes to INPUT, top 5 from the server), in turn, wall and CPU time (user + system) medians.
    Both with bytecode caches, as an installed package has them (in a temporary PYTHONPYCACHEPREFIX, since
    a developer's environment may say PYTHONDONTWRITEBYTECODE: then every source file compiles each run)."""
    import resource

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = scratch("tc-bench-pyc-")
    argv = {
        "seed": [sys.executable, str(ROOT / "benchmarks" / "seed_client.py"), url, model, image],
        "console": [sys.executable, "-m", "triton_console", "classify", image, "-u", url, "-m", model],
    }
    wall: dict[str, list[float]] = {k: [] for k in argv}
    cpu: dict[str, list[float]] = {k: [] for k in argv}
    for round_ in range(rounds + 1):  # the first round writes the caches and is dropped
        for k, a in argv.items():
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(a, capture_output=True, check=True, cwd=ROOT, env=env)
            t1 = time.perf_counter()
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if round_:
                wall[k].append((t1 - t0) * 1000)
                cpu[k].append((r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) * 1000)
    w = {k: statistics.median(v) for k, v in wall.items()}
    c = {k: statistics.median(v) for k, v in cpu.items()}
    return {
        "model": model,
        "image": Path(image).name,
        "rounds": rounds,
        "seed_ms": w["seed"],
        "console_ms": w["console"],
        "ratio": w["console"] / w["seed"],
        "seed_cpu_ms": c["seed"],
        "console_cpu_ms": c["console"],
        "cpu_ratio": c["console"] / c["seed"],
    }


def startup(n: int = 7) -> dict:
    def wall(argv):
        return statistics.median(
            timed(lambda: subprocess.run(argv, capture_output=True, check=True, cwd=ROOT), n)
        )

    base = wall([sys.executable, "-c", "pass"])
    helpt = wall([sys.executable, "-m", "triton_console", "--help"])
    return {"python_pass_ms": base, "help_ms": helpt, "ratio": helpt / base}


class LagProbe:
    """Event-loop stalls: how late a 5 ms sleep wakes up, sampled for as long as it runs."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            t = loop.time()
            await asyncio.sleep(0.005)
            self.lags.append((loop.time() - t - 0.005) * 1000)

    def start(self) -> LagProbe:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> list[float]:
        self._stop.set()
        await self._task
        return self.lags


def lag_summary(lags: list[float]) -> dict:
    lags = lags or [0.0]
    return {"max_ms": max(lags), "p99_ms": percentile(lags, 99), "samples": len(lags)}


async def console_lag(url: str, images: list[str]) -> dict:
    """First paint; stalls while the Classify pane classifies the images six times over; stalls while the
    Bench pane sweeps concurrency 4, 8, 16 against the fused model."""
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.bench import BenchPane
    from triton_console.tui.panes.classify import ClassifyPane

    t0 = time.perf_counter()
    app = ConsoleApp(ConsoleOptions(url=url, protocol="grpc"))
    out: dict = {}
    async with app.run_test(size=(100, 30)) as pilot:
        out["first_paint_ms"] = (time.perf_counter() - t0) * 1000
        pane = app.query_one(ClassifyPane)
        deadline = time.monotonic() + 60
        while pane.model is None and time.monotonic() < deadline:
            await pilot.pause(0.1)
        await pilot.press("4")
        probe, first_round = LagProbe().start(), 0
        for round_ in range(6):
            pane.classify(images)
            n0 = len(pane.latencies)
            while len(pane.latencies) < n0 + len(images) and time.monotonic() < deadline + 60:
                await asyncio.sleep(0.05)  # not pilot.pause: the test harness's own screen waits cost
            if round_ == 0:  # the first round overlaps one-time work (tree listing, first renders)
                first_round = len(probe.lags)
        lags = await probe.stop()
        out["classify"] = {
            **lag_summary(lags[first_round:]),
            "first_round_max_ms": max(lags[:first_round] or [0.0]),
            "classified": len(pane.latencies),
        }

        await pilot.press("6")
        bp = app.query_one(BenchPane)
        while FUSED not in bp.models and time.monotonic() < deadline + 90:
            await pilot.pause(0.1)
        bp.query_one("#bench-model").value = FUSED
        bp.query_one("#bench-inputs").value = " ".join(images)
        bp.query_one("#bench-levels").value = "4,8,16"
        bp.query_one("#bench-requests").value = "150"
        await pilot.pause(0.2)
        probe = LagProbe().start()
        bp.action_run()
        end = time.monotonic() + 240
        while bp.run is None and time.monotonic() < end:
            await asyncio.sleep(0.1)
        lags = await probe.stop()
        out["bench_sweep"] = {
            **lag_summary(lags),
            "steps": [
                {"concurrency": s["concurrency"], "img_s": s["throughput"]}
                for s in bp.steps
                if s.get("count")
            ],
        }
        await pilot.press("q")
    return out


def bench_cli(url: str, model: str, images: list[str], concurrency: int, requests: int) -> float:
    argv = [sys.executable, "-m", "triton_console", "bench", *images, "-u", url, "-m", model]
    argv += ["--concurrency", str(concurrency), "--requests", str(requests), "--warmup", "10", "--json"]
    res = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(res.stdout.splitlines()[-1])["throughput"]


async def metrics_pane_cost(server, images: list[str]) -> dict:
    """What the Metrics pane at 1 s polling costs, by CPU accounting (an A/B of throughput on this shared
    2-core VM moves by ±10% run to run, far more than the effect): the server's CPU time per poll (statistics
    API + metrics scrape, 100 polls in a row), and the console's own CPU per second with the pane open (its
    worker, the table and the charts) beyond the console on another pane, under a concurrency-8 bench; their
    sum per second as a share of the machine's cores."""
    import psutil

    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.core.client.connection import Connection
    from triton_console.tui.core.server import metrics
    from triton_console.tui.panes.metrics import MetricsPane

    url, metrics_url = server.grpc_url, server.metrics_url
    conn = Connection(url=url, protocol="grpc", metrics_url=metrics_url)
    tritonserver, me = psutil.Process(server.pid), psutil.Process()

    def cpu(p) -> float:
        t = p.cpu_times()
        return t.user + t.system

    client = TritonClient(connection=conn)
    poller = metrics.Poller(client)
    poller.poll()
    s0 = cpu(tritonserver)
    for _ in range(100):  # psutil counts CPU time in 10 ms ticks
        poller.poll()
    per_poll = (cpu(tritonserver) - s0) / 100
    client.close()

    argv = [sys.executable, "-m", "triton_console", "bench", *images, "-u", url, "-m", FUSED]
    argv += ["--concurrency", "8", "--requests", "100000", "--warmup", "10", "--json"]
    bench_proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        await asyncio.sleep(3)  # under load from here on
        app = ConsoleApp(ConsoleOptions(connection=conn))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("2")  # the Server pane: the console's own polling, no metrics
            await asyncio.sleep(1.0)
            c0, t0 = cpu(me), time.monotonic()
            await asyncio.sleep(6.0)
            other = (cpu(me) - c0) / (time.monotonic() - t0)
            await pilot.press("5")
            pane = app.query_one(MetricsPane)
            await asyncio.sleep(1.5)
            p0, c0, t0 = pane.polls, cpu(me), time.monotonic()
            await asyncio.sleep(6.0)
            with_pane = (cpu(me) - c0) / (time.monotonic() - t0)
            polls = pane.polls - p0
            await pilot.press("q")
    finally:
        bench_proc.terminate()
        bench_proc.wait(30)
    extra = max(0.0, with_pane - other) + per_poll * 1.0
    return {
        "server_cpu_ms_per_poll": per_poll * 1000,
        "console_cpu_s_per_s": {"other_pane": other, "metrics_pane": with_pane},
        "polls_in_6_s": polls,
        "extra_cpu_s_per_s": extra,
        "cost": extra / (os.cpu_count() or 1),
    }


# A run's JSON (gitignored) and the committed run of record that the README's CPU figures come from.
OUT = ROOT / "bench-results" / "cpu.json"
RECORD = ROOT / "benchmarks" / "results-cpu.json"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", default=str(ROOT.parent / "shared" / "images"))
    ap.add_argument("--requests", type=int, default=60, help="timed requests per image and path")
    ap.add_argument("--throughput-requests", type=int, default=300)
    ap.add_argument(
        "--repository", default=None, help="reuse a built repository (else one is built in a temp dir)"
    )
    ap.add_argument(
        "--out",
        default=str(OUT),
        help=f"where the JSON goes (default {OUT.relative_to(ROOT)}, untracked; the run of record the README "
        f"quotes is {RECORD.relative_to(ROOT)}, copied there by hand)",
    )
    ap.add_argument(
        "--spinning-values",
        default="run,false,true,lone",
        help="section spinning: the ort_spinning values set against the catalog's (VALUE:US[:MS[:THREADS]] also "
        "sets ort_spin_us, ort_load_window_ms and intra_op_threads)",
    )
    ap.add_argument(
        "--spinning-layouts",
        default="ensemble,fused",
        help="section spinning: whose onnxruntime session the values are set on (the ensemble's backbone, the "
        "fused model or both, each its own A/B)",
    )
    ap.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma list of sections to run (default all): {', '.join(SECTIONS)}",
    )
    args = ap.parse_args()
    sections = set(filter(None, args.sections.split(",")))
    if sections - set(SECTIONS):
        ap.error(f"unknown sections: {', '.join(sorted(sections - set(SECTIONS)))}")

    names = sorted(p for p in os.listdir(args.images) if p.lower().endswith((".jpg", ".jpeg", ".png")))
    paths = [os.path.join(args.images, n) for n in names]
    payloads = {n: Path(p).read_bytes() for n, p in zip(names, paths, strict=True)}
    results: dict = {
        "machine": f"{platform.node()} {platform.processor() or platform.machine()} {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "images": names,
    }

    if "tune" in sections:
        results["tune"] = tune_vs_bench()
        print(json.dumps(results["tune"]), flush=True)
        if sections == {"tune"}:  # no classifier repository to build
            return finish(results, Path(args.out))

    tmp = scratch("tc-bench-")
    repo = Path(args.repository) if args.repository else Path(tmp) / "repo"
    if not args.repository:
        from triton_console.build_tools import pipeline

        print("building the repository (ensemble and fused)…", flush=True)
        pipeline.build(MODEL_KEY, "imagenet", "python-onnxruntime", repo)
        pipeline.build(MODEL_KEY, "imagenet", "python-onnxruntime", repo, layout="fused")
    onnx_path = repo / BACKBONE / "1" / "model.onnx"

    # -- 3. preprocessing: ours vs seed-style, and top-1 agreement
    sess = ort_session(onnx_path)
    pre = {}
    for n, data in payloads.items() if "preprocessing" in sections else ():
        ours = p50(timed(lambda d=data: preprocessing.preprocess(d), 15))
        seed = p50(timed(lambda d=data: preprocessing.preprocess_seed_style(d), 7))
        a = sess.run(None, {"input": preprocessing.preprocess(data)[None]})[0].argmax()
        b = sess.run(None, {"input": preprocessing.preprocess_seed_style(data)[None]})[0].argmax()
        pre[n] = {"ours_ms": ours, "seed_ms": seed, "speedup": seed / ours, "same_top1": bool(a == b)}
    results["preprocessing"] = pre

    def reference(data):
        x = preprocessing.preprocess(data)[None]
        return softmax(sess.run(None, {"input": x})[0])

    for data in payloads.values():
        timed(lambda d=data: reference(d), 3)
    if "latency" in sections:
        waits = {n: p50(timed(lambda d=data: reference(d), 15)) for n, data in payloads.items()}
        floor = python_floor(payloads, args.requests, waits)
        print("python-backend floor (ms):", json.dumps(floor), flush=True)

    cfg = srv.ServerConfig(repo, srv.free_port(), srv.free_port(), srv.free_port())
    server = srv.ManagedServer(cfg)
    server.start()
    try:
        server.wait_ready(300)
        client = TritonClient(server.grpc_url, "grpc", timeout=60)
        raw = {k: raw_image_call(server.grpc_url, m) for k, m in LAYOUTS.items()}
        for data in payloads.values():  # warm every path
            for _ in range(3):
                reference(data)
                for k, m in LAYOUTS.items():
                    raw[k](data), classifier.classify(client, m, data, 5)

        # -- 1. latency: every path interleaved in blocks (interleaved_p50)
        paths_of = {"reference": reference}
        for k, m in LAYOUTS.items():
            paths_of[f"bare_{k}"] = raw[k]
            paths_of[f"console_{k}"] = lambda d, m=m: classifier.classify(client, m, d, 5)
        lat = {}
        for n, data in payloads.items() if "latency" in sections else ():
            row = {f"{k}_p50": v for k, v in interleaved_p50(paths_of, data, args.requests).items()}
            for k in LAYOUTS:
                row[f"{k}_vs_reference"] = row[f"console_{k}_p50"] / row["reference_p50"]
                row[f"{k}_console_vs_bare"] = row[f"console_{k}_p50"] / row[f"bare_{k}_p50"]
            # the floor alone, and what the fused model adds over reference + floor
            row["python_floor_p50"] = floor[n]["floor"]
            row["floor_vs_reference"] = (row["reference_p50"] + floor[n]["floor"]) / row["reference_p50"]
            row["fused_vs_reference_plus_floor"] = row["console_fused_p50"] / (
                row["reference_p50"] + floor[n]["floor"]
            )
            # the same model busy for as long as the reference took: what any Python-backend model of
            # that cost pays here, and the fused model against it
            row["waited_for_ms"] = waits[n]
            row["waited_floor_p50"] = floor[n]["waited"]
            row["waited_floor_vs_reference"] = floor[n]["waited"] / waits[n]
            row["fused_vs_waited_floor"] = row["console_fused_p50"] / floor[n]["waited"]
            lat[n] = row
        if lat:
            results["latency"] = lat
            print(json.dumps(lat, indent=1), flush=True)

        # -- 2. infer on a tensor model vs a bare tritonclient call with the same tensor
        if "infer" in sections:
            results["infer"] = infer_vs_bare(client, server.grpc_url, args.requests * 2)
            print(json.dumps(results["infer"]), flush=True)

        # -- 7. the ensemble's backbone spinning during runs ("run") or never ("false"), in one run
        for layout in args.spinning_layouts.split(",") if "spinning" in sections else ():
            key = "spinning" if layout == "ensemble" else f"spinning_{layout}"
            results[key] = spinning_ab(
                repo,
                payloads,
                args.requests,
                reference,
                others=tuple(filter(None, args.spinning_values.split(","))),
                throughput_requests=args.throughput_requests,
                files=paths,
                layout=layout,
            )
            print(json.dumps(results[key]), flush=True)

        # -- 6. one-shot classify as a process vs the seed-style client
        if "oneshot" in sections:
            car = paths[names.index("car.jpg")] if "car.jpg" in names else paths[0]
            results["oneshot"] = oneshot(server.grpc_url, ENSEMBLE, car)
            print(json.dumps(results["oneshot"]), flush=True)

        # -- 4. throughput. On two shared cores one run of a few seconds swings by ±10 %, so at
        # concurrency 8 (the goal's point) the thread pipeline and both layouts take turns three times and
        # the median run of each counts
        datas = list(payloads.values())
        batch = np.stack([preprocessing.preprocess(d) for d in datas] * 6)[:16]
        sess.run(None, {"input": batch})
        per = timed(lambda: sess.run(None, {"input": batch}), 10)
        pipes: list[dict] = []
        runs: dict = {key: {} for key in LAYOUTS}
        for c in (1, 4, 8, 16) if "throughput" in sections else ():
            for _ in range(3 if c == 8 else 1):
                if c == 8:
                    pipes.append(thread_pipeline(repo, datas, args.throughput_requests))
                for key, model in LAYOUTS.items():
                    r = loadgen.run_step(
                        loadgen.image_workload(client, model, paths),
                        c,
                        requests=args.throughput_requests,
                        warmup=10,
                    )
                    runs[key].setdefault(c, []).append(r)
                    print(key, c, f"{r.throughput:.1f} img/s", flush=True)
        if "throughput" in sections:
            results["throughput"] = throughput_summary(pipes, runs, batch, per)

        # -- 5. the console
        if "console" in sections:
            results["startup"] = startup()
            results["console"] = asyncio.run(console_lag(server.grpc_url, paths))
            print(json.dumps(results["console"]), flush=True)
            results["metrics_pane"] = asyncio.run(metrics_pane_cost(server, paths))
    finally:
        server.stop()

    return finish(results, Path(args.out))


def finish(results: dict, out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(render(results))
    print(done_line(out), flush=True)
    return 0


def tune_vs_bench(concurrency: int = 4, requests: int = 100) -> dict:
    """One tune trial (instance_group.count=2 at ``concurrency`` in flight) and ``triton-console bench`` at the
    same config and load, on tests/modelzoo.py's ``per_request`` model (40 ms per request: ≈ 50 req/s with two
    instances, whatever the client): the two must agree within 10%."""
    from tests import modelzoo
    from triton_console.tui.core.tune import deploy, fields, sweep

    root = modelzoo.write_tuning(Path(scratch("tc-tune-")) / "models")
    cfg = srv.ServerConfig(root, *srv.free_ports(3), model_control="explicit", load_models=["per_request"])
    with srv.ManagedServer(cfg) as server:
        server.start()
        server.wait_ready(timeout=180)
        client = TritonClient(server.grpc_url, "grpc", timeout=60)
        target = deploy.Target(client, "per_request", root, lambda: list(server.log))
        sets = [fields.parse_set("instance_group.count=2")]
        work = loadgen.tensor_workload(client, "per_request", {"X": "ones"})
        trial = sweep.run(target, work, sets, [concurrency], requests=requests, warmup=10).trials[0]
        if trial.status != "ok":
            raise RuntimeError(f"the tune trial failed: {trial.reason}")
        deploy.apply(target, sweep.build(deploy.file_config(target), sets, trial.set))
        try:
            argv = [
                sys.executable,
                "-m",
                "triton_console",
                "bench",
                "-u",
                server.grpc_url,
                "-m",
                "per_request",
            ]
            argv += ["--input", "X=ones", "--concurrency", str(concurrency), "--requests", str(requests)]
            argv += ["--warmup", "10", "--json"]
            res = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=True, timeout=120)
            bench = json.loads(res.stdout.splitlines()[-1])
        finally:
            deploy.revert(target)
            client.close()
    step = bench["steps"][0] if "steps" in bench else bench
    out = {
        "model": "per_request",
        "set": trial.set,
        "concurrency": concurrency,
        "requests": requests,
        "tune_throughput": trial.throughput,
        "bench_throughput": step["throughput"],
        "tune_p50_ms": trial.p50_ms,
        "bench_p50_ms": step["latency_ms"]["p50"],
        "first_request_ms": trial.first_request_ms,
    }
    out["throughput_ratio"] = out["tune_throughput"] / out["bench_throughput"]
    out["within_10_percent"] = abs(out["throughput_ratio"] - 1) <= 0.10
    return out


def done_line(out: Path) -> str:
    """Where the run went, and how it becomes the run of record (never overwritten by a run: a busy machine
    would silently replace the figures the README quotes)."""
    line = f"results: {out}"
    if out.resolve() != RECORD.resolve():
        line += f" (to make it the run of record: cp {out} {RECORD})"
    return line


def throughput_summary(pipes: list[dict], runs: dict, batch, per: list[float]) -> dict:
    """The median of the thread pipeline's runs, and of each layout's runs at each concurrency against it."""
    pipe = sorted(pipes, key=lambda p: p["img_s"])[len(pipes) // 2]
    pipe["runs_img_s"] = [round(p["img_s"], 1) for p in pipes]
    thr: dict = {
        "thread_pipeline": pipe,
        "ort_alone_batch16_img_s": len(batch) / (statistics.median(per) / 1000),
    }
    for key in LAYOUTS:
        thr[key] = {}
        for c, rs in runs[key].items():
            r = sorted(rs, key=lambda r: r.throughput)[len(rs) // 2]
            thr[key][c] = {
                "img_s": r.throughput,
                "runs_img_s": [round(x.throughput, 1) for x in rs],
                "p50": r.latency.p50,
                "p99": r.latency.p99,
                "errors": r.errors,
                "vs_thread_pipeline": r.throughput / pipe["img_s"],
                "server": r.breakdown.to_dict(),
            }
    return thr


def infer_vs_bare(client: TritonClient, url: str, n: int) -> dict:
    """``infer`` (the console's own code: inputs planned from metadata, every output summarized) on the
    backbone model with one FP32 [1, 3, 224, 224] tensor vs tritonclient's infer with that tensor."""
    import tritonclient.grpc as tc

    info = client.model_info(BACKBONE)
    plans = infer.plan_inputs(info, seed=0)
    x = plans[0].array
    bare = tc.InferenceServerClient(url)
    inp = tc.InferInput(plans[0].name, list(x.shape), "FP32")
    inp.set_data_from_numpy(x)
    outs = [tc.InferRequestedOutput(t.name) for t in info.metadata.outputs]

    def bare_call():
        return bare.infer(BACKBONE, [inp], outputs=outs).as_numpy(outs[0].name())

    def console_call():
        return infer.run(client, BACKBONE, plans)

    for _ in range(10):
        bare_call(), console_call()
    b, c = [], []
    for _ in range(n):
        b += timed(bare_call, 1)
        c += timed(console_call, 1)
    return {
        "model": BACKBONE,
        "shape": list(x.shape),
        "bare_p50": p50(b),
        "console_p50": p50(c),
        "ratio": p50(c) / p50(b),
    }


def render(r: dict) -> str:
    out = [f"machine: {r['machine']}   date: {r['date']}"]
    if "latency" in r:
        out += ["", "latency p50 (ms)  reference   ensemble: bare console  /ref    fused: bare console  /ref"]
        for n, v in r["latency"].items():
            out.append(
                f"  {n:<14} {v['reference_p50']:8.2f}  {v['bare_ensemble_p50']:15.2f} {v['console_ensemble_p50']:7.2f} "
                f"{v['ensemble_vs_reference']:5.2f}×  {v['bare_fused_p50']:11.2f} {v['console_fused_p50']:7.2f} "
                f"{v['fused_vs_reference']:5.2f}×"
            )
        out += [
            "",
            "Python-backend floor (an identity model, same bytes): p50 ms, and reference + floor vs reference;",
            "the same model busy for the reference's time before answering, vs that time; fused vs it",
        ]
        for n, v in r["latency"].items():
            out.append(
                f"  {n:<14} {v['python_floor_p50']:6.2f}  {v['floor_vs_reference']:5.2f}×   fused vs reference + floor "
                f"{v['fused_vs_reference_plus_floor']:5.2f}×   busy {v['waited_for_ms']:.2f} ms: "
                f"{v['waited_floor_p50']:6.2f} {v['waited_floor_vs_reference']:5.2f}×   fused vs it "
                f"{v['fused_vs_waited_floor']:5.2f}×"
            )
    if "infer" in r:
        i = r["infer"]
        out += [
            "",
            f"infer {i['model']} FP32 {i['shape']}: console {i['console_p50']:.2f} ms vs bare tritonclient "
            f"{i['bare_p50']:.2f} ms p50: {i['ratio']:.3f}×",
        ]
    for key, whose in (("spinning", "the ensemble's backbone"), ("spinning_fused", "the fused model")):
        if key not in r:
            continue
        out += ["", f"{whose} by ort_spinning (lone requests, p50 ms and vs the reference)"]
        for n, v in r[key].items():
            if n == "concurrency_8":
                cells = "   ".join(
                    f"{k.removesuffix('_vs_pipeline')} {v[k.removesuffix('_vs_pipeline') + '_img_s']:.1f} ({v[k]:.2f}×)"
                    for k in v
                    if k.endswith("_vs_pipeline")
                )
                out.append(f"  concurrency 8, img/s: pipeline {v['pipeline_img_s']:.1f}   {cells}")
                continue
            keys = [k.removesuffix("_p50") for k in v if k.endswith("_p50") and k != "reference_p50"]
            cells = "   ".join(f"{k} {v[k + '_p50']:6.2f} ({v[k + '_vs_reference']:.2f}×)" for k in keys)
            out.append(f"  {n:<14} reference {v['reference_p50']:6.2f}   {cells}")
    if "oneshot" in r:
        o = r["oneshot"]
        out += [
            "",
            f"one-shot classify {o['image']} on {o['model']} (a whole process, median of {o['rounds']}): console "
            f"{o['console_ms']:.0f} ms vs seed-style client {o['seed_ms']:.0f} ms: {o['ratio']:.2f}× "
            f"(CPU time {o['console_cpu_ms']:.0f} vs {o['seed_cpu_ms']:.0f} ms: {o['cpu_ratio']:.2f}×)",
        ]
    if r.get("preprocessing"):
        out += ["", "preprocessing (ms)  ours  seed-style  speed-up  same top-1"]
        for n, v in r["preprocessing"].items():
            out.append(
                f"  {n:<14} {v['ours_ms']:6.2f} {v['seed_ms']:10.2f} {v['speedup']:8.1f}×  {v['same_top1']}"
            )
    if "throughput" in r:
        t = r["throughput"]
        out += [
            "",
            f"throughput (img/s)  in-process thread pipeline {t['thread_pipeline']['img_s']:.1f}; "
            f"onnxruntime alone, batch 16, no decoding: {t['ort_alone_batch16_img_s']:.1f}",
        ]
        for key in LAYOUTS:
            for c, v in t[key].items():
                out.append(
                    f"  {key:<8} c={c:>2}: {v['img_s']:6.1f} ({v['vs_thread_pipeline']:.2f}× pipeline)  "
                    f"p50 {v['p50']:.1f} p99 {v['p99']:.1f} ms  errors {v['errors']}"
                )
    if "tune" in r:
        t = r["tune"]
        out += [
            "",
            f"tune vs bench, {t['model']} {t['set']} at {t['concurrency']} in flight: tune {t['tune_throughput']:.1f} "
            f"req/s, bench {t['bench_throughput']:.1f} req/s: {t['throughput_ratio']:.3f}× "
            f"({'within' if t['within_10_percent'] else 'NOT within'} 10%)",
        ]
    if "console" in r:
        s, c, m = r["startup"], r["console"], r["metrics_pane"]
        cl, bs = c["classify"], c["bench_sweep"]
        sweep = ", ".join(f"c={x['concurrency']:g} {x['img_s']:.0f}" for x in bs["steps"])
        out += [
            "",
            f"--help {s['help_ms']:.0f} ms vs python -c pass {s['python_pass_ms']:.0f} ms: {s['ratio']:.2f}×",
            f"first paint {c['first_paint_ms']:.0f} ms",
            f"event loop while classifying: max {cl['max_ms']:.1f} ms, p99 {cl['p99_ms']:.1f} ms "
            f"(first round max {cl['first_round_max_ms']:.1f}) over {cl['classified']} images",
            f"event loop during a Bench pane sweep 4,8,16: max {bs['max_ms']:.1f} ms, p99 {bs['p99_ms']:.1f} ms "
            f"({sweep} img/s)",
            f"Metrics pane at 1 s polling under a c=8 bench: {m['extra_cpu_s_per_s'] * 1000:.0f} ms of CPU per second "
            f"more than another pane ({m['polls_in_6_s']} polls in 6 s; the server {m['server_cpu_ms_per_poll']:.1f} ms "
            f"per poll): {100 * m['cost']:.1f}% of the machine's CPU",
        ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
