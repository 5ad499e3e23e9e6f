"""A newcomer's trial at 80x24 of the Bench overlay and the Classify history: the overlay's legend named
every overlaid run ``p50 12-02`` (three runs of one day read alike), its y axis went to 250 for a p99 of
130.4, and Classify's history cut "sports car" to "sport…" once the model column appeared."""

from __future__ import annotations

import asyncio
import re

from tests.helpers import rendered, screen_lines, wait_for
from tests.test_snapshots import SIZE, _snapshot, make_app


def _sweep(model: str, started: str, p50s: tuple[float, float, float], p99_top: float) -> dict:
    steps = [
        {
            "concurrency": c,
            "throughput": tput,
            "errors": 0,
            "count": 100,
            "seconds": 100 / tput,
            "latency_ms": {"p50": p50, "p95": p50 * 1.3, "p99": p99_top * p50 / p50s[-1]},
            "server": {  # an ensemble's breakdown: the detail line under the chart takes rows from it
                "ensemble_ms": p50 * 0.8,
                "steps": [
                    {"model": m, "queue_ms": 0.4, "compute_ms": p50 * f, "avg_batch": 1.0}
                    for m, f in (("preprocess", 0.2), ("efficientnet_lite0_ort", 0.5), ("postprocess", 0.1))
                ],
            },
        }
        for c, tput, p50 in zip((1, 2, 4), (38.0, 61.5, 70.2), p50s, strict=True)
    ]
    head = {"model": model, "engine": "triton-console", "warmup": 5, "requests": 100, "started": started}
    return head | {"steps": steps}


def test_bench_overlay_legend_tells_runs_of_one_day_apart_and_the_axis_is_snug(tmp_path, monkeypatch):
    from triton_console.tui.core.load import loadgen
    from triton_console.tui.panes.bench import BenchEvent

    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent/config")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    model = "ensemble_python_efficientnet_lite0"
    for started in ("2026-12-02T09:15:00", "2026-12-02T10:02:00", "2026-12-02T11:30:00"):
        loadgen.save(loadgen.Run.from_dict(_sweep(model, started, (22.0, 30.0, 50.0), 120.0)))

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            _snapshot(app)
            await pilot.press("6")
            pane = app.query_one("BenchPane")
            run = _sweep(model, "2026-12-02T14:20:00", (25.1, 31.0, 55.3), 130.4)
            for step in run["steps"]:
                pane.post_message(BenchEvent({"event": "step", "step": step}))
            pane.post_message(BenchEvent({"event": "run", "run": run, "saved": "/data/runs/b.json"}))
            status = pane.query_one("#bench-status")
            await wait_for(pilot, lambda: "done" in rendered(status), 10, "the run done")
            for overlay in (False, True):
                if overlay:
                    await pilot.press("o")
                    await wait_for(
                        pilot, lambda: "overlaid" in rendered(status), 10, "the saved runs overlaid"
                    )
                await pilot.pause()
                lines = screen_lines(app)
                legend = rendered(pane.query_one("#bench-legend"))
                # the y axis: its top tick is a round bound close above the data's 130.4 (it read 250, or 200)
                ticks = [float(m[1]) for line in lines if (m := re.match(r"\s*(\d+(?:\.\d+)?)┤", line))]
                assert ticks and 130.4 <= max(ticks) <= 150, "\n".join(lines)
                if overlay:
                    labels = re.findall(r"[o*~] p50 ([^ ]+(?: \d\d:\d\d)?)", legend)
                    assert len(labels) == 3 and len(set(labels)) == 3, legend
                    assert all(len(line) <= 78 for line in legend.splitlines()), legend
                    assert legend.count("\n") <= 1, legend

    asyncio.run(scenario())


def test_classify_labels_fit_at_80_columns_beside_the_model_column():
    """Once a second model answered, the history's model column took the label's room (``car.jpg 0.74
    sport…``, ``vultur… 0.79 vultu…``) and the top-5 cut ``station wag…``: common ImageNet labels read whole."""
    from tests.test_snapshots import ENSEMBLE, ROUTE
    from triton_console.tui.core.classify.classifier import Classification
    from triton_console.tui.core.client.responses import TopK
    from triton_console.tui.messages import ClassifyResult

    shown = {  # car.jpg last: its top-5 is the one shown
        "mug.jpg": [TopK(504, "coffee mug", 0.73), TopK(968, "tea cup", 0.2)],
        "vulture.jpg": [TopK(23, "vulture", 0.79), TopK(22, "bald eagle", 0.1)],
        "car.jpg": [
            TopK(817, "sports car", 0.74),
            TopK(436, "station wagon", 0.12),
            TopK(511, "convertible", 0.05),
        ],
    }

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            _snapshot(app)
            pane = app.query_one("ClassifyPane")
            for i, (name, top) in enumerate(shown.items()):
                model = ENSEMBLE if i % 2 == 0 else "fused_python_efficientnet_lite0"
                result = Classification(model, top, 20.0 + i, path=ROUTE.describe())
                pane.post_message(ClassifyResult(f"/images/{name}", result, None))
            await wait_for(pilot, lambda: "vulture" in "".join(screen_lines(app)), 10, "the results")
            await pilot.pause()
            lines = screen_lines(app)
            screen = "\n".join(lines)
            for name, top in shown.items():  # each row's image, score and label whole
                assert re.search(
                    rf"^ *{re.escape(name)} +{top[0].score:.2f} {top[0].label} ", screen, re.M
                ), screen
            assert re.search(r" 436 station wagon +0\.12", screen), screen  # car.jpg's top-5

    asyncio.run(scenario())
