"""What a newcomer found at 80x24 in the Models and Metrics lists: model names cut in the middle
(``ensemb…entnet_lite0`` beside ``fused_…entnet_lite0``) with a 5-cell reason column beside them, and the
Metrics table squeezed further when an ensemble's steps were shown under it."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from tests.helpers import lines_of, rows, screen_lines, wait_for
from tests.test_app import SIZE, make_app
from tests.test_snapshots import _point
from tests.test_snapshots import server_snapshot as snapshot
from triton_console.tui.app import ConsoleApp, ConsoleOptions
from triton_console.tui.core.client.responses import IndexEntry
from triton_console.tui.panes.models import ModelsPane

ENSEMBLE = "ensemble_python_efficientnet_lite0"
FUSED = "fused_python_efficientnet_lite0"


def _row(screen: str, name: str) -> list[str]:
    """The list's row of ``name`` as read on screen, [state, name], when the name is whole there."""
    return next((ln.split()[:2] for ln in screen.splitlines() if ln.split()[1:2] == [name]), [])


def _screen(app) -> str:
    return "\n".join(screen_lines(app))


@pytest.mark.server
def test_models_list_at_80_columns_shows_whole_names_and_states(server):
    """The default repository's names on the real server, whole and told apart, each beside its state."""

    async def scenario():
        app = ConsoleApp(
            ConsoleOptions(url=server.grpc_url, protocol="grpc", repository=server.cfg.repository)
        )
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("3")
            index = app.query_one(ModelsPane).query_one("#index")
            await wait_for(pilot, lambda: {ENSEMBLE, FUSED} <= set(rows(index)), 30, "the index")
            await pilot.pause(0.3)
            screen = _screen(app)
            for name in (ENSEMBLE, FUSED):
                state = rows(index)[name].split()[0]  # READY, or UNAVAILABLE after another test's unload
                assert _row(screen, name) == [state, name], screen

    asyncio.run(scenario())


def test_models_list_at_80_columns_shows_a_whole_state_and_the_reason_in_the_detail():
    """UNAVAILABLE whole beside the whole name; its reason, cut off the list at 80 columns, in the detail."""
    entries = [
        IndexEntry(ENSEMBLE, "1", "READY"),
        IndexEntry(FUSED, "1", "READY"),
        IndexEntry("efficientnet_lite0_ort", "1", "READY"),
        IndexEntry("broken", "1", "UNAVAILABLE", "Internal: model.py missing"),
    ]

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("3")
            pane = app.query_one(ModelsPane)
            pane.show_snapshot(replace(snapshot(app), models=entries))
            await pilot.pause()
            screen = _screen(app)
            for name in (ENSEMBLE, FUSED):
                assert _row(screen, name) == ["READY", name], screen
            assert _row(screen, "broken") == ["UNAVAILABLE", "broken"], screen
            index = pane.query_one("#index")
            index.move_cursor(index.get_row_index("broken"))
            detail = pane.query_one("#detail-text")
            await wait_for(
                pilot,
                lambda: "Internal: model.py missing" in " ".join(" ".join(lines_of(detail)).split()),
                10,
                "the reason in the detail",
                show=lambda: "\n".join(lines_of(detail)),
            )

    asyncio.run(scenario())


def test_metrics_table_at_80_columns_shows_whole_names_with_an_ensemble_expanded():
    """With the ensemble's steps under it every name is whole; the rates people read first stay."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5")
            pane = app.query_one("MetricsPane")
            for i in range(5):  # the default repository's models: the fused one besides
                point = _point(5 - i, 1.0)
                point.models[FUSED] = replace(point.models[ENSEMBLE], inf_s=12.5)
                pane.show(point)
            await pilot.press("enter")  # the ensemble (sorted first) expands into its steps
            await pilot.pause()
            screen = _screen(app)
            assert "▾ " + ENSEMBLE in screen, screen
            for step in ("preprocess", "efficientnet_lite0_ort", "postprocess"):
                assert "└ " + step + " " in screen, screen
            head = next(ln for ln in screen.splitlines() if ln.lstrip().startswith("model "))
            for title in ("inf/s", "batch", "queue", "infer", "fail/s", "pend"):
                assert title in head.split(), head

    asyncio.run(scenario())
