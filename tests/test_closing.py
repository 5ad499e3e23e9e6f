"""A worker's last message may reach the app while the console closes: the panes it would update may have lost
their widgets already. CI saw ``NoMatches: '#stop' on ServerPane`` and ``'#route' on ClassifyPane`` from a poll
that answered at the end of a test (the test harness closes the app as a quit does, without ``exit()``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from triton_console.tui.app import ConsoleApp, ConsoleOptions
from triton_console.tui.core.server.controller import ServerSnapshot
from triton_console.tui.messages import ImageModelsFound, ServerPolled
from triton_console.tui.panes.classify import ClassifyPane
from triton_console.tui.panes.server import ServerPane


def _polled(url: str) -> ServerPolled:
    return ServerPolled(ServerSnapshot(url=url, live=False, error="connection refused"))


def _image_models(url: str) -> ImageModelsFound:
    return ImageModelsFound(url, {})


@pytest.mark.parametrize(("pane", "message"), [(ServerPane, _polled), (ClassifyPane, _image_models)])
def test_a_message_that_arrives_while_the_panes_close_is_dropped(monkeypatch, pane, message):
    """The pane's own unmount is the moment its widgets are gone while it is still in the DOM: the app handles
    the message then (as it did in CI, busy with a poll while the screen was taken down). The console closes
    without an error."""
    handled: list[bool] = []

    def late_message(self) -> None:
        app = self.app
        msg = message(app.controller.client.url)
        getattr(app, msg.handler_name)(msg)
        handled.append(True)

    monkeypatch.setattr(pane, "on_unmount", late_message, raising=False)

    async def scenario() -> None:
        app = ConsoleApp(
            ConsoleOptions(url="127.0.0.1:1", protocol="http", repository=Path("/nonexistent"), poll=False)
        )
        async with app.run_test(size=(80, 24)):
            pass

    asyncio.run(scenario())  # raised NoMatches from the app's handler before the fix
    assert handled == [True]
