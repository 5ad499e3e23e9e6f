"""The Server pane at 80x24 as a newcomer met it: the log that stopped following, the alarm at a stop asked
for, the empty Connect box, the footer in a text box, Triton's tables in the wrapped log."""

from __future__ import annotations

import asyncio

from tests.helpers import lines_of, screen_lines
from tests.test_panes import make_app
from triton_console.tui.core.server.controller import ServerSnapshot
from triton_console.tui.messages import ServerLog

SIZE = (80, 24)


def _snapshot(error: str = "") -> ServerSnapshot:
    """The console's own server starting (``error``: the health check's, three lines at 80 columns) or ready."""
    snap = ServerSnapshot(url="grpc://127.0.0.1:8401", live=not error, ready=not error, polled=True)
    snap.managed, snap.managed_here, snap.kind, snap.pid, snap.uptime_s = True, True, "bundled", 4236, 5.0
    snap.managed_phase = "starting" if error else "running"
    snap.ports, snap.model_control = "http 8400 grpc 8401 metrics 8402", "explicit"
    snap.error = error
    return snap


REFUSED = (
    "cannot reach grpc://127.0.0.1:8401 (health check): failed to connect to all addresses; last error: "
    "UNKNOWN: ipv4:127.0.0.1:8401: Failed to connect to remote host: Connection refused"
)


def test_the_server_log_follows_its_tail_while_the_state_lines_above_it_change():
    """After R the log stayed at its first lines, the scrollbar mid-track, while the server came up: the
    state's error lines (starting) then none (ready) resized the log, which left its view off the last line,
    and it stopped following until End."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            pane = app.query_one("#server-pane")
            log = app.query_one("#server-log")
            n = 0

            async def lines(count: int) -> None:
                nonlocal n
                for _ in range(count):
                    pane.post_message(ServerLog([f"I1202 line {n} of the server's start"]))
                    n += 1
                    await pilot.pause(0.01)

            pane.show_snapshot(_snapshot(REFUSED))  # starting: the error takes three lines more
            await lines(30)
            pane.show_snapshot(_snapshot())  # ready: the log grows by those lines
            await lines(3)
            await pilot.pause(0.2)
            pane.show_snapshot(_snapshot(REFUSED))
            await lines(3)
            pane.show_snapshot(_snapshot())
            await lines(20)
            await pilot.pause(0.2)
            shown = "\n".join(lines_of(log))
            assert f"line {n - 1} of" in shown, shown
            assert "● ready" in "\n".join(screen_lines(app))

    asyncio.run(scenario())


def test_the_server_log_stays_where_the_user_scrolled_and_follows_again_after_end():
    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            pane = app.query_one("#server-pane")
            log = app.query_one("#server-log")
            pane.post_message(ServerLog([f"early line {i}" for i in range(60)]))
            await pilot.pause(0.2)
            log.focus()
            await pilot.press("pageup")
            await pilot.pause(0.2)
            pane.post_message(ServerLog([f"late line {i}" for i in range(20)]))
            await pilot.pause(0.2)
            shown = "\n".join(lines_of(log))
            assert "late line" not in shown and "early line 40" in shown, shown
            await pilot.press("end")
            pane.post_message(ServerLog([f"last line {i}" for i in range(5)]))
            await pilot.pause(0.2)
            assert "last line 4" in "\n".join(lines_of(log)), lines_of(log)

    asyncio.run(scenario())
