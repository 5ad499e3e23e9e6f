"""Snapshot tests of each pane in a stable state (no live server: results are injected as messages)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from triton_console.tui.app import ConsoleApp, ConsoleOptions
from triton_console.tui.core.classify.classifier import Classification, image_path
from triton_console.tui.core.client.client import ModelInfo
from triton_console.tui.core.client.responses import (
    IndexEntry,
    ModelMetadata,
    ServerMetadata,
    TensorSpec,
    TopK,
)
from triton_console.tui.core.client.stats import Breakdown, StepTime
from triton_console.tui.core.server.controller import ServerSnapshot
from triton_console.tui.messages import ClassifyResult

DATA = Path(__file__).parent / "data"
SIZE = (80, 24)

ROWS = [
    IndexEntry("ensemble_python_efficientnet_lite0", "1", "READY"),
    IndexEntry("efficientnet_lite0_ort", "1", "READY"),
    IndexEntry("preprocess", "1", "READY"),
    IndexEntry("postprocess", "1", "READY"),
    IndexEntry("broken", "1", "UNAVAILABLE", "Internal: model.py missing"),
]
ENSEMBLE = "ensemble_python_efficientnet_lite0"
ROUTE = image_path(
    ModelInfo(
        ENSEMBLE,
        ModelMetadata(
            ENSEMBLE,
            ("1",),
            "ensemble",
            (TensorSpec("INPUT", "UINT8", (-1, -1)),),
            (TensorSpec("OUTPUT", "FP32", (-1, 1000)),),
        ),
    ),
    ("classification",),
)


def make_app() -> ConsoleApp:
    return ConsoleApp(
        ConsoleOptions(
            url="127.0.0.1:9", poll=False, start_dir=str(DATA), repository=Path("/nonexistent/repository")
        )
    )


def server_snapshot(app: ConsoleApp, extensions: tuple[str, ...] = ()) -> ServerSnapshot:
    """A live Triton 2.51 serving ROWS, as the controller's poll reports it (the panes' entry point)."""
    return ServerSnapshot(
        url=app.controller.client.url,
        live=True,
        ready=True,
        server=ServerMetadata("triton", "2.51.0", extensions),
        models=ROWS,
        models_from="repository index",
    )


def _snapshot(app: ConsoleApp) -> None:
    snap = server_snapshot(app, ("classification",))
    for pane in (
        "ServerPane",
        "ModelsPane",
        "ClassifyPane",
        "BenchPane",
    ):  # each pane's entry point for a snapshot
        app.query_one(pane).show_snapshot(snap)
    app.query_one("ClassifyPane").set_models({ENSEMBLE: ROUTE})


async def _classify_state(pilot) -> None:
    app = pilot.app
    _snapshot(app)
    top = [
        TopK(504, "coffee mug", 0.7326),
        TopK(968, "tea cup", 0.2480),
        TopK(967, "espresso", 0.0061),
        TopK(505, "coffeepot", 0.0030),
        TopK(647, "measuring cup", 0.0020),
    ]
    gradient = np.linspace(0, 255, 20 * 18, dtype=np.uint8).reshape(18, 20)
    pixels = np.stack([gradient, gradient[::-1], np.full_like(gradient, 128)], axis=-1)
    steps = [
        StepTime("preprocess", 1, 1, 0.1, 12.0),
        StepTime("efficientnet_lite0_ort", 1, 1, 0.1, 8.0),
        StepTime("postprocess", 1, 1, 0.1, 0.5),
    ]
    pane = app.query_one("ClassifyPane")
    for path, ms in (("/images/mug.jpg", 23.5), ("/images/mug2.jpg", 25.5)):
        pane.post_message(
            ClassifyResult(
                path,
                Classification(ENSEMBLE, top, ms, path=ROUTE.describe()),
                None,
                Breakdown(steps, 21.0),
                pixels,
            )
        )
    pane.post_message(
        ClassifyResult("/images/notes.jpg", None, "not a decodable image: cannot identify image file")
    )
    await pilot.pause()
    pane.post_message(
        ClassifyResult(
            "/images/mug.jpg",
            Classification(ENSEMBLE, top, 24.0, path=ROUTE.describe()),
            None,
            Breakdown(steps, 21.0),
            pixels,
        )
    )
    await pilot.pause()


@pytest.mark.parametrize("key", ["1", "2", "3"])
def test_pane_snapshots(snap_compare, key):
    async def setup(pilot):
        _snapshot(pilot.app)
        await pilot.press(key)
        await pilot.pause()

    assert snap_compare(make_app(), run_before=setup, terminal_size=SIZE)


def test_classify_snapshot(snap_compare):
    async def setup(pilot):
        await pilot.press("4")
        await _classify_state(pilot)

    assert snap_compare(make_app(), run_before=setup, terminal_size=SIZE)


def test_help_snapshot(snap_compare):
    assert snap_compare(make_app(), press=["question_mark"], terminal_size=SIZE)


def test_untrained_warning_snapshot(snap_compare):
    async def setup(pilot):
        await pilot.press("1")
        app = pilot.app
        app.query_one("#weights").value = "random"
        await pilot.pause()

    assert snap_compare(make_app(), run_before=setup, terminal_size=SIZE)


def _point(seconds_ago: float, busy: float):
    from triton_console.tui.core.server import metrics as mt

    rates = {
        ENSEMBLE: mt.Rates(inf_s=40 * busy, exec_s=40 * busy, avg_batch=1, queue_ms=0.1, infer_ms=20),
        "preprocess": mt.Rates(inf_s=40 * busy, exec_s=10 * busy, avg_batch=4, queue_ms=3.2, infer_ms=9.5),
        "efficientnet_lite0_ort": mt.Rates(
            inf_s=40 * busy, exec_s=8 * busy, avg_batch=5, queue_ms=1.1, infer_ms=6.4
        ),
        "postprocess": mt.Rates(inf_s=40 * busy, exec_s=8 * busy, avg_batch=5, queue_ms=0.2, infer_ms=0.3),
    }
    steps = {ENSEMBLE: ["preprocess", "efficientnet_lite0_ort", "postprocess"]}
    gpus = {"GPU-1": {"util": 0.42 * busy, "mem_used": 3 * 2**30, "mem_total": 80 * 2**30, "power": 180.0}}
    return mt.Point(
        1_700_000_000.0 - seconds_ago, 1.0, rates, gpus, {}, ["statistics API", "metrics"], [], steps
    )


@pytest.fixture()
def no_servers_file(monkeypatch):
    """No servers file and no saved runs, at paths that read the same on every machine (they are shown)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent/config")
    monkeypatch.setenv("XDG_DATA_HOME", "/nonexistent/data")


def test_metrics_snapshot(snap_compare, no_servers_file):
    async def setup(pilot):
        await pilot.press("5")
        pane = pilot.app.query_one("MetricsPane")
        for i in range(30):
            pane.show(_point(30 - i, 0.5 + (i % 7) / 10))
        await pilot.press("enter")  # the ensemble (sorted first) expands into its steps
        await pilot.pause()

    assert snap_compare(make_app(), run_before=setup, terminal_size=SIZE)


def test_bench_snapshot(snap_compare, no_servers_file):
    from triton_console.tui.panes.bench import BenchEvent

    async def setup(pilot):
        _snapshot(pilot.app)
        await pilot.press("6")
        pane = pilot.app.query_one("BenchPane")
        for c, tput, p50 in ((1, 38.0, 25.1), (2, 61.5, 31.0), (4, 70.2, 55.3)):
            step = {
                "concurrency": c,
                "throughput": tput,
                "errors": 0,
                "count": 100,
                "latency_ms": {"p50": p50, "p95": p50 * 1.4, "p99": p50 * 1.9},
                "server": {
                    "ensemble_ms": p50 * 0.8,
                    "steps": [{"model": "preprocess", "queue_ms": 2.0, "compute_ms": 9.0, "avg_batch": 2.0}],
                },
            }
            pane.post_message(BenchEvent({"event": "step", "step": step}))
        await pilot.pause()

    assert snap_compare(make_app(), run_before=setup, terminal_size=SIZE)


def test_servers_snapshot(snap_compare, no_servers_file):
    assert snap_compare(make_app(), press=["7"], terminal_size=SIZE)


def test_tune_snapshot(snap_compare, no_servers_file):
    """The Tune pane after a sweep (the worked example of docs/tune.md, its figures injected): trials, the
    chart with the Pareto front, the best as its changed lines."""
    from triton_console.tui.core.tune.sweep import Objective, Result, Trial
    from triton_console.tui.panes.tune import TrialDone, TuneFinished

    async def setup(pilot):
        _snapshot(pilot.app)
        await pilot.press("8")
        pane = pilot.app.query_one("TunePane")
        figures = [(1, 0, 16.2, 249, 413, 2.3), (1, 5000, 12.9, 314, 471, 3.3)]
        figures += [(2, 0, 11.3, 357, 548, 1.4), (2, 5000, 19.6, 213, 302, 4.0)]
        trials = []
        for i, (n, delay, tput, p50, p99, batch) in enumerate(figures, 1):
            values = {"instance_group.count": n, "dynamic_batching.max_queue_delay_microseconds": delay}
            t = Trial(values, "concurrency", 4, throughput=tput, p50_ms=p50, p99_ms=p99, avg_batch=batch)
            trials.append(t)
            pane.post_message(TrialDone(t, i, len(figures)))
        trials.append(Trial({"instance_group.kind": "KIND_GPU"}, "concurrency", None, "error", "no GPUs"))
        pane.post_message(TrialDone(trials[-1], 5, 5))
        diff = "--- a\n+++ b\n@@\n-  count: 1\n+  count: 2\n+  max_queue_delay_microseconds: 5000\n"
        result = Result(ENSEMBLE, Objective("throughput"), {}, trials, trials[3], diff)
        result.restored = "the original config again"
        pane.post_message(TuneFinished(result, None, None))
        await pilot.pause()

    assert snap_compare(make_app(), run_before=setup, terminal_size=SIZE)


def test_config_editor_snapshot(snap_compare, no_servers_file):
    """The config editor (Models pane, e) at 80x24 on a server's config with a syntax error on line 4."""
    text = (
        'name: "per_request"\nbackend: "python"\nmax_batch_size: 8\n'
        "instance_group [ { kind: KIND_CPU count: two } ]\n"
        "dynamic_batching { max_queue_delay_microseconds: 500 }\n"
    )

    async def setup(pilot):
        await _editor(pilot, "per_request", text)

    assert snap_compare(make_app(), run_before=setup, terminal_size=SIZE)


async def _editor(pilot, model: str, text: str) -> None:
    """The config editor on ``text`` as a server's config (no server: the read fails first, then the text)."""
    from tests.helpers import rendered
    from triton_console.tui.core.tune.deploy import Source, Target
    from triton_console.tui.panes.configedit import ConfigEditScreen, ConfigRead

    app = pilot.app
    screen = ConfigEditScreen(app.controller, model)
    await app.push_screen(screen)
    title = screen.query_one("#config-title")
    for _ in range(100):  # the read of the (absent) server fails first; then the text arrives
        if "reading" not in rendered(title):
            break
        await pilot.pause(0.05)
    screen.post_message(ConfigRead(Source(text, False, None), Target(app.controller.client, model), None))
    await pilot.pause()


def test_warmup_choice_snapshot(snap_compare, no_servers_file):
    """The editor's warm-up choice (ctrl+w) at 80x24, over the editor, for a model with a BYTES input: zero or
    random, a count, the Classify pane's last image as the BYTES sample."""
    from triton_console.tui.panes.warmupform import WarmupScreen

    text = (
        'name: "bytes_image"\nbackend: "python"\nmax_batch_size: 4\n'
        'input [ { name: "IMAGE" data_type: TYPE_STRING dims: [ 1 ] } ]\n'
        'output [ { name: "PROBS" data_type: TYPE_FP32 dims: [ 4 ] } ]\n'
    )

    async def setup(pilot):
        await _editor(pilot, "bytes_image", text)
        await pilot.app.push_screen(
            WarmupScreen(["IMAGE"], "/srv/models/bytes_image", "/data/images/mug.jpg")
        )
        await pilot.pause()

    assert snap_compare(make_app(), run_before=setup, terminal_size=SIZE)


def _textgen() -> ModelInfo:
    from tritonclient.grpc import model_config_pb2 as mc

    config = mc.ModelConfig(
        name="textgen", backend="python", model_transaction_policy=mc.ModelTransactionPolicy(decoupled=True)
    )
    meta = ModelMetadata(
        "textgen",
        ("1",),
        "python",
        (TensorSpec("text_input", "BYTES", (1,)), TensorSpec("max_tokens", "INT32", (1,))),
        (TensorSpec("text_output", "BYTES", (1,)),),
    )
    return ModelInfo("textgen", meta, config)


def test_try_form_streaming_snapshot(snap_compare, no_servers_file):
    """The Try form of a decoupled model mid-stream: the latest response, the line with the time to the
    first response and the rate so far, and the running text (responses injected as messages)."""
    from tests.helpers import rendered, wait_for
    from triton_console.tui.core.request import stream
    from triton_console.tui.core.request.infer import summarize
    from triton_console.tui.panes.trymodel import ModelLoaded, StreamArrived, TryScreen

    async def setup(pilot):
        app = pilot.app
        screen = TryScreen(app.controller, "textgen", str(DATA))
        await app.push_screen(screen)
        title = screen.query_one("#title")
        await wait_for(pilot, lambda: "cannot reach" in rendered(title), 30, "the unreachable server's line")
        screen.post_message(ModelLoaded(_textgen(), None))
        await wait_for(pilot, lambda: bool(screen.query("#spec-0")), 10, "the form")
        spec = screen.query_one("#spec-0")
        spec.value = "text:the console streams what the model says"
        times = []
        for i, word in enumerate(["says ", "model ", "the ", "what "]):
            times.append(41.8 + 40.6 * i)
            out = summarize("text_output", "BYTES", np.array([word.encode()], dtype=np.object_))
            summary = stream.summarize_times(times, times[-1] + 3.0)
            screen.post_message(StreamArrived(stream.StreamResponse(i, times[-1], [out]), summary))
            await pilot.pause()
        # the box's view at its head: set in code, it showed its head or its end ("e console streams what…")
        # depending on whether it had the focus yet, which the suite's load decided
        spec.cursor_position = 0
        spec.cursor_blink = (
            False  # its cursor was drawn or not by the blink's phase at the capture (CI, once)
        )
        await pilot.pause(0.2)  # the outputs table sizes its columns on a later refresh
        await pilot.pause()

    assert snap_compare(make_app(), run_before=setup, terminal_size=SIZE)


def test_bench_streaming_snapshot(snap_compare, no_servers_file):
    from triton_console.tui.panes.bench import BenchEvent

    async def setup(pilot):
        _snapshot(pilot.app)
        await pilot.press("6")
        pane = pilot.app.query_one("BenchPane")
        for c, rps, ttft in ((1, 23.4, 42.2), (2, 46.5, 42.2), (4, 91.3, 44.1)):
            step = {
                "concurrency": c,
                "count": 20,
                "errors": 0,
                "requests_per_s": rps / 5,
                "responses": 100,
                "responses_per_s": rps,
                "ttft_ms": {"p50": ttft, "p95": ttft * 1.08, "p99": ttft * 1.15},
                "itl_ms": {"p50": 40.9, "p99": 45.9},
            }
            pane.post_message(BenchEvent({"event": "step", "step": step}))
        await pilot.pause()

    assert snap_compare(make_app(), run_before=setup, terminal_size=SIZE)


SEED = "ensemble_python_resnet50"


def _seed_repository(root: Path) -> Path:
    """The seed ensemble's four configs as build writes them (no weights: the detail reads configs only)."""
    from google.protobuf import text_format

    from triton_console.build_tools import catalog
    from triton_console.model_repository import configs

    weights = {"choice": "random", "trained": False}
    models = [configs.preprocess_config(), configs.postprocess_config()]
    for model, backbone in (("resnet50", "resnet50_ort"), ("efficientnet-lite0", "efficientnet_lite0_ort")):
        models.append(configs.ensemble_config(catalog.model(model), backbone, weights))
        models.append(configs.backbone_config(backbone, "python-onnxruntime"))
    for config in models:
        (root / config.name).mkdir(parents=True)
        (root / config.name / "config.pbtxt").write_text(text_format.MessageToString(config))
    return root


async def _seed_detail(pilot, selected: str = SEED) -> None:
    """The Models pane with the seed ensemble selected: its graph drawn from the repository's configs (the
    server at 127.0.0.1:9 does not answer, so the detail reads the files beside it, as for a refused model)."""
    from tests.helpers import lines_of, wait_for

    app = pilot.app
    names = (SEED, "postprocess", "preprocess", "resnet50_ort")
    if selected != SEED:
        names += (selected, "efficientnet_lite0_ort")
    snap = server_snapshot(app)
    snap.models = [IndexEntry(n, "1", "READY") for n in names]
    app.query_one("ModelsPane").show_snapshot(snap)
    await pilot.press("3")
    index = app.query_one("#index")
    index.move_cursor(row=index.get_row_index(selected))
    detail = app.query_one("#detail-text")
    shown = lambda: " ".join(lines_of(detail))  # noqa: E731
    await wait_for(pilot, lambda: "unavailable" in shown() and "ensemble steps" in shown(), 30, "the detail")


def seed_app(tmp_path: Path) -> ConsoleApp:
    return ConsoleApp(
        ConsoleOptions(
            url="127.0.0.1:9",
            poll=False,
            start_dir=str(DATA),
            repository=_seed_repository(tmp_path / "models"),
        )
    )


def test_seed_ensemble_graph_snapshot(snap_compare, tmp_path, no_servers_file):
    """The seed's graph at 80x24: one step per line, each tensor and its type under it (it wrapped mid-name)."""
    assert snap_compare(seed_app(tmp_path), run_before=_seed_detail, terminal_size=SIZE)


def _run_dict(started: str, scale: float, engine: str = "triton-console") -> dict:
    """A saved sweep (as bench --save writes it) of the ensemble: latency ``scale`` times the usual."""
    steps = [
        {
            "concurrency": c,
            "throughput": tput,
            "errors": 0,
            "count": 100,
            "seconds": 100 / tput,
            "latency_ms": {"p50": p50 * scale, "p95": p50 * scale * 1.4, "p99": p50 * scale * 1.9},
        }
        for c, tput, p50 in (
            (1, 38.0 / scale**0.5, 25.1),
            (2, 61.5 / scale**0.5, 31.0),
            (4, 70.2 / scale**0.5, 55.3),
        )
    ]
    return {
        "model": ENSEMBLE,
        "engine": engine,
        "warmup": 5,
        "requests": 100,
        "started": started,
        "steps": steps,
    }


async def bench_runs(pilot, overlay: bool) -> None:
    """This session's two sweeps of the ensemble, and (o) a saved one of another session with 10x the latency
    (XDG_DATA_HOME points at a folder of the test's own: the saved run is written there first)."""
    from tests.helpers import rendered, wait_for
    from triton_console.tui.core.load import loadgen
    from triton_console.tui.panes.bench import BenchEvent

    loadgen.save(loadgen.Run.from_dict(_run_dict("2026-11-28T09:15:00", 10.0, "perf_analyzer")))
    app = pilot.app
    _snapshot(app)
    await pilot.press("6")
    pane = app.query_one("BenchPane")
    earlier = _run_dict("2026-11-30T10:02:00", 1.3)
    pane.post_message(BenchEvent({"event": "run", "run": earlier, "saved": "/data/runs/a.json"}))
    latest = _run_dict("2026-11-30T10:40:00", 1.0)
    for step in latest["steps"]:
        pane.post_message(BenchEvent({"event": "step", "step": step}))
    pane.post_message(BenchEvent({"event": "run", "run": latest, "saved": "/data/runs/b.json"}))
    status = pane.query_one("#bench-status")
    await wait_for(pilot, lambda: "done" in rendered(status), 10, "the run done")
    if overlay:
        await pilot.press("o")
        await wait_for(pilot, lambda: "overlaid" in rendered(status), 10, "the saved run overlaid")
    await pilot.pause()


def test_bench_overlay_snapshot_without_colour(snap_compare, tmp_path, monkeypatch):
    """At 80x24 with NO_COLOR: this session's two runs and a saved run of another session with 10x the
    latency, overlaid (o): the axis fits this session's runs, the saved points above it are said, and the
    legend under the chart tells each series by its glyph."""
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent/config")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("NO_COLOR", "1")

    async def setup(pilot):
        await bench_runs(pilot, overlay=True)

    assert snap_compare(make_app(), run_before=setup, terminal_size=SIZE)


def test_a_long_ensemble_name_heads_its_detail_on_one_line(tmp_path, no_servers_file):
    """The detail's title wrapped a name longer than the detail ("ensemble_python_efficientnet_li" over
    "te0"): one line now, cut in the middle with an ellipsis."""
    import asyncio

    from tests.helpers import lines_of

    async def scenario():
        app = seed_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await _seed_detail(pilot, ENSEMBLE)
            lines = [line.strip() for line in lines_of(app.query_one("#detail-text"))]
            head, _, tail = lines[0].partition("…")
            assert ENSEMBLE.startswith(head) and ENSEMBLE.endswith(tail) and tail, lines[:3]
            assert lines[1] == "ensemble steps", lines[:3]

    asyncio.run(scenario())
