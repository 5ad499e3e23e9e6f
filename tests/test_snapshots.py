"""Snapshot tests of each pane in a stable state (no live server: results are injected as messages)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tui.app import ConsoleApp, ConsoleOptions
from tui.core.classifier import Classification, image_path
from tui.core.client import ModelInfo
from tui.core.controller import ServerSnapshot
from tui.core.responses import IndexEntry, ModelMetadata, ServerMetadata, TensorSpec, TopK
from tui.core.stats import Breakdown, StepTime
from tui.messages import ClassifyResult

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


def _snapshot(app: ConsoleApp) -> None:
    snap = ServerSnapshot(
        url=app.controller.client.url,
        live=True,
        ready=True,
        server=ServerMetadata("triton", "2.51.0", ("classification",)),
        models=ROWS,
        models_from="repository index",
    )
    for pane in ("ServerPane", "ModelsPane", "ClassifyPane"):  # each pane's one entry point for a snapshot
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
