"""A worker's unforeseen exception ends that action with one error notice, not the console (Textual's default
exits the app with a traceback: CI saw the Server pane's start die of a BadStatusLine that way)."""

from __future__ import annotations

import asyncio

from tests.helpers import notifications, wait_for
from tests.test_app import SIZE, make_app
from triton_console.tui import workers
from triton_console.tui.core.server.controller import ServerController


def test_an_unforeseen_failure_is_one_notice_and_the_console_goes_on(monkeypatch, tmp_path):
    monkeypatch.delenv(workers.STRICT, raising=False)  # the suite's own setting: failures fail the tests
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))

    def start(self, notice=None):
        raise RuntimeError("the probe read its own request back")

    monkeypatch.setattr(ServerController, "start", start)

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("2", "s")
            await wait_for(
                pilot,
                lambda: any("Internal error" in n for n in notifications(app)),
                10,
                "the notice",
                show=lambda: notifications(app),
            )
            (notice,) = [n for n in notifications(app) if "Internal error" in n]
            assert (
                "start server failed unexpectedly: RuntimeError: the probe read its own request back"
                in notice
            )
            log = workers.errors_file()
            assert str(log) in notice and log.is_relative_to(tmp_path)
            assert "Traceback" in log.read_text() and "start server" in log.read_text()
            await pilot.press("3")  # the console is still there, and answers keys
            await pilot.pause()
            assert app.is_running and app.query_one("ModelsPane").display

    asyncio.run(scenario())
