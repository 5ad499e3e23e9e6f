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


def _managed(app) -> None:
    """The console believes it runs a server (pid 4236) and stops it at once: what x and R do, without one."""
    from types import SimpleNamespace

    app.controller.managed = SimpleNamespace(pid=4236, is_running=lambda: True, kind="bundled")
    app.controller.is_managed_running = lambda: True
    app._stop_server = lambda then_start=False: None


def _down() -> ServerSnapshot:
    snap = _snapshot("cannot reach grpc://127.0.0.1:8401 (health check): Server exiting")
    snap.managed, snap.managed_phase = False, "stopping"
    return snap


def test_a_stop_the_user_asked_for_raises_no_alarm_one_on_its_own_does():
    """x showed, beside `tritonserver stopped (exit code 0)`, the alarm `Server down / server at grpc://… is
    gone: … Server exiting`, meant for a server that dies on its own."""
    from dataclasses import replace

    from tests.helpers import notifications
    from triton_console.tui.messages import ServerPolled

    async def scenario(keys: list[str]) -> list[str]:
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("2")
            _managed(app)
            url = app.controller.client.url
            app.post_message(ServerPolled(replace(_snapshot(), url=url)))
            await pilot.pause()
            app.query_one("#server-log").focus()
            await pilot.press(*keys)
            app.post_message(ServerPolled(replace(_down(), url=url)))
            await pilot.pause(0.2)
            shown = " ".join(notifications(app))
            app.controller.managed = None
            return shown

    stopped = asyncio.run(scenario(["x"]))
    assert "stopping tritonserver (pid 4236)" in stopped and "Server down" not in stopped, stopped
    restarted = asyncio.run(scenario(["R"]))
    assert "restarting" in restarted and "Server down" not in restarted, restarted
    died = asyncio.run(scenario([]))
    assert "Server down" in died and "Server exiting" in died, died


def test_a_disabled_or_pressed_stop_button_keeps_its_label_without_colour(monkeypatch):
    """With NO_COLOR, Stop while R ran (disabled) was drawn `▊▔▔▔▔▔▔▔▔▎`, and pressed a blank box: Textual's
    ANSI button styles give it a tall border its one line has no room for."""
    monkeypatch.setenv("NO_COLOR", "1")

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            stop = app.query_one("#stop")
            stop.disabled = True
            await pilot.pause()
            row = next(line for line in screen_lines(app) if "Connect" in line and "Start s" in line)
            assert "Stop x" in row and "▔" not in row, row
            stop.disabled = False
            await pilot.click("#stop")
            await pilot.pause()
            row = next(line for line in screen_lines(app) if "Connect" in line and "Start s" in line)
            assert "Stop x" in row, row

    asyncio.run(scenario())


def test_an_empty_connect_box_is_refused_in_one_line_and_nothing_changes():
    """c, the box cleared, Enter: the console connected to localhost:8001 (the default -u) without a word."""
    from tests.helpers import notifications

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("2", "c")
            box = app.query_one("#url")
            before, title = app.controller.client.url, app.sub_title
            await pilot.press("end", *["backspace"] * len(box.value), "enter")
            await pilot.pause(0.2)
            assert box.value == ""
            said = [n for n in notifications(app) if "URL" in n]
            assert len(said) == 1 and "no URL given: type host:port" in said[0], notifications(app)
            assert app.controller.client.url == before and app.sub_title == title
            assert "localhost:8001" not in "\n".join(screen_lines(app))
            assert app.focused is box  # to type one

    asyncio.run(scenario())


def test_connecting_again_to_the_managed_servers_url_keeps_managed_in_the_title():
    """After c and Enter on the managed server's own URL the title dropped `(managed)`, while the pane still
    said `bundled pid N`."""
    from types import SimpleNamespace

    async def scenario():
        app = make_app()
        own = app.controller.client.endpoint.url.split("://")[-1]  # the console's own server is at -u
        cfg = SimpleNamespace(model_control="explicit", http_port=8, grpc_port=9, metrics_port=10)
        app.controller.managed = SimpleNamespace(
            pid=4236, kind="bundled", grpc_url=own, http_url="127.0.0.1:8", cfg=cfg,
            is_running=lambda: True, uptime=lambda: 5.0, returncode=None,
        )  # fmt: skip
        try:
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("2", "c", "enter")
                await pilot.pause(0.2)
                assert app.sub_title.endswith("(managed)"), app.sub_title
                assert "bundled pid 4236" in "\n".join(screen_lines(app))
                assert any("(managed)" in line for line in screen_lines(app)[:1]), screen_lines(app)[:1]
        finally:
            app.controller.managed = None

    asyncio.run(scenario())


def test_the_footer_in_a_text_box_says_what_works_there():
    """In the Server URL box (c) the footer said `/ Filter log`, but / types a slash there; in the Classify
    path box it was blank but for `^p palette`. Now: what Enter does there, and esc Leave."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2", "c")
            await pilot.pause()
            footer = screen_lines(app)[-1]
            assert "⏎ Connect" in footer and "esc Leave" in footer and "Filter log" not in footer, footer
            await pilot.press("escape")
            await pilot.pause()
            assert app.focused is app.query_one("#server-log")
            assert "/ Filter log" in screen_lines(app)[-1]
            await pilot.press("slash")  # the log's filter box: / types a slash there too
            await pilot.pause()
            footer = screen_lines(app)[-1]
            assert "Filter log" not in footer and "Close" in footer, footer
            await pilot.press("escape", "4")
            await pilot.pause()
            app.query_one("#path").focus()
            await pilot.pause()
            footer = screen_lines(app)[-1]
            assert "⏎ Classify" in footer and "esc Leave" in footer, footer

    asyncio.run(scenario())


TABLE = [
    "I1202 14:44:20.1 2767 server.cc:604] ",
    "+---------+-------------------------------------------------------------+" + "-" * 80 + "+",
    "| Backend | Path" + " " * 57 + "| Config" + " " * 74 + "|",
    "+---------+-------------------------------------------------------------+" + "-" * 80 + "+",
    '| python  | /srv/venv/lib/python3.11/site-packages/backends/libpython.so | {"cmdline":{"auto-complete-config":'
    '"true","backend-directory":"/srv/backends","min-compute-capability":"6.000000"}} |',
    "| exit_timeout                     | 5" + " " * 120 + "|",
    "I1202 14:44:20.8 2767 grpc_server.cc:2558] Started GRPCInferenceService at 127.0.0.1:8401 and more words",
]


def test_trions_startup_tables_keep_a_row_per_line_in_the_wrapped_log():
    """Wrapped, a table's row went over two lines and more, its padding and closing `|` lines of their own
    (`  |` under each option); w fixed it. A row is cut with … at the log's edge now; other lines still wrap."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            app.query_one("#server-pane").post_message(ServerLog(TABLE))
            await pilot.pause(0.3)
            shown = [line.strip("│ ") for line in lines_of(app.query_one("#server-log"))[1:]]
            shown = [line for line in shown if line]
            rows = shown[1:5]
            assert [row[:9] for row in rows] == ["+--------", "| Backend", "+--------", "| python "], shown
            assert all(row.endswith("…") for row in rows), rows
            assert shown[5].startswith("| exit_timeout") and shown[5].endswith("…"), shown
            assert shown[6].startswith("I1202") and "127.0.0.1:8401" in shown[7], shown  # wrapped

    asyncio.run(scenario())
