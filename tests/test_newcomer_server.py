"""What a newcomer tripped over in the Server, Classify, Models and Servers panes (80x24, no tritonserver)."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import screen_lines, steady_requests
from tests.test_panes import make_app
from triton_console.tui.core.server.controller import ServerSnapshot
from triton_console.tui.widgets.filterbox import FilterBox

SIZE = (80, 24)


@pytest.mark.parametrize(
    "pane, open_keys, box, typed",
    [
        ("2", ["c"], "#url", "127.0.0.1:8001"),
        ("4", [], "#path", "/nonexistent/x.jpg"),
        ("3", ["a"], "#models-filter", "mymodel"),
    ],
    ids=["server-url", "classify-path", "models-add"],
)
def test_enter_in_a_one_line_box_gives_the_keys_back_to_the_pane(pane, open_keys, box, typed):
    """After Enter the focus stayed in the box: pane 2's URL became `127.0.0.1:80017r` when 7 then r were
    pressed. Enter now hands the focus back to the pane, so the next digit switches panes."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(pane, *open_keys)
            await pilot.pause()
            widget = app.query_one(box)
            widget.focus()
            await pilot.pause()
            await pilot.press(*typed, "enter")
            await pilot.pause()
            assert app.focused is not widget
            await pilot.press("7")
            await pilot.pause()
            assert app.query_one("#tabs").active == "servers"
            if not isinstance(widget, FilterBox):  # the add box empties itself once used
                assert widget.value == typed

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "typed, chosen, protocol",
    [
        ("grpc://127.0.0.1:9", "http", "grpc"),
        ("http://127.0.0.1:9", "grpc", "http"),
        ("127.0.0.1:9", "http", "http"),
    ],
    ids=["grpc-scheme-wins", "http-scheme-wins", "no-scheme-dropdown-decides"],
)
def test_a_scheme_typed_in_the_url_wins_over_the_dropdown(typed, chosen, protocol):
    """With HTTP chosen, `grpc://127.0.0.1:8001` connected over HTTP (the title said http://); the dropdown
    now follows the scheme, and decides only when none is typed."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await pilot.pause()
            app.query_one("#protocol").value = chosen
            url = app.query_one("#url")
            url.value = ""
            url.focus()
            await pilot.press(*typed, "enter")
            await pilot.pause()
            assert app.controller.client.protocol == protocol
            assert app.controller.client.url == f"{protocol}://127.0.0.1:9"
            assert app.query_one("#protocol").value == protocol

    asyncio.run(scenario())


def test_an_http_client_on_a_grpc_port_says_so_in_one_line():
    """An HTTP client on a gRPC port printed the h2 parser's `('Expected HTTP/, RTSP/ or ICE/', 8)`."""
    from concurrent import futures

    import grpc

    from triton_console.common.errors import ConsoleError
    from triton_console.tui.core.client.client import TritonClient
    from triton_console.tui.core.client.connection import Connection

    server = grpc.server(futures.ThreadPoolExecutor(1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        client = TritonClient(connection=Connection(url=f"http://127.0.0.1:{port}", timeout=10))
        with pytest.raises(ConsoleError) as err:
            client.is_live()
        assert err.value.message == (
            f"127.0.0.1:{port} answered, but not over HTTP: is it the gRPC port? try grpc://127.0.0.1:{port}"
        )
        client.close()
    finally:
        server.stop(0)


def test_the_managed_server_status_line_fits_80_columns():
    """`(pid 4236, up` / `0m29s)` wrapped at 80 columns."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            snap = ServerSnapshot(url="grpc://127.0.0.1:8001", live=True, ready=True)
            from triton_console.tui.core.client.responses import ServerMetadata

            snap.server = ServerMetadata("triton", "2.51.0", ())
            snap.managed, snap.kind, snap.pid, snap.uptime_s = True, "bundled", 4236, 29.0
            snap.ports, snap.model_control = "http 8000 grpc 8001 metrics 8002", "explicit"
            app.query_one("ServerPane").show_snapshot(snap)
            await pilot.pause()
            lines = screen_lines(app)
            line = next(x for x in lines if "pid 4236" in x)
            assert "up 0m29s" in line and "grpc://127.0.0.1:8001" in line, lines

    asyncio.run(scenario())


@pytest.fixture()
def dead_servers(tmp_path, monkeypatch):
    """A servers file of two servers whose ports are bound and not listening (refused while the test runs)."""
    import socket

    from triton_console.tui.core.client import contexts

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    socks = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    contexts.save(
        [
            contexts.ServerEntry("dead", f"grpc://127.0.0.1:{ports[0]}"),
            contexts.ServerEntry("gone", f"http://127.0.0.1:{ports[1]}"),
        ]
    )
    yield ports
    for s in socks:
        s.close()


def test_short_url_keeps_the_port():
    from triton_console.tui.panes.servers import short_url

    assert short_url("grpc://127.0.0.1:8001") == "127.0.0.1:8001"
    cut = short_url("https://inference.example.internal:18001")
    assert len(cut) <= 16 and cut.endswith(":18001") and cut.startswith("in") and "…" in cut


def test_servers_pane_at_80x24_shows_ports_the_whole_error_and_switches_at_once(dead_servers):
    """At 80x24 the URLs read `grpc://127.0.0.1:` and the error `cannot reach grpc`; switching to a dead
    server said nothing for seconds."""
    from pathlib import Path

    from tests.helpers import rows, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    dead, gone = dead_servers

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url="127.0.0.1:9", poll=False, repository=Path("/nonexistent")))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("7")
            table = app.query_one("#fleet")
            await wait_for(pilot, lambda: "down" in rows(table).get("dead", ""), 20, "dead refreshed")
            await wait_for(pilot, lambda: "down" in rows(table).get("gone", ""), 20, "gone refreshed")
            table.move_cursor(row=table.get_row_index("gone"))
            await pilot.press("up")  # the cursor onto dead, as a user moves it
            detail = app.query_one("#fleet-detail")

            def whole_error():
                text = str(detail.render())
                return f"grpc://127.0.0.1:{dead}" in text and "cannot reach" in text and str(dead) in text

            await wait_for(
                pilot, whole_error, 10, "the whole error under the table", show=lambda: detail.render()
            )
            table.move_cursor(row=table.get_row_index("gone"))
            await pilot.pause()
            assert f"http://127.0.0.1:{gone}" in str(detail.render())
            own = next(line for line in screen_lines(app) if "(active)" in line)
            assert "127.0.0.1:9 " in own, own  # the port whole (the scheme goes first)
            table.move_cursor(row=table.get_row_index("dead"))
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            # at once: the toast, and the line under the table (until the next refresh says how dead is,
            # which under load can come within the pause)
            assert any("connecting to dead…" in line for line in screen_lines(app)), screen_lines(app)
            said = str(detail.render())
            assert "connecting to dead…" in said or said.startswith(f"dead  grpc://127.0.0.1:{dead}"), said
            await wait_for(pilot, lambda: "dead —" in app.sub_title, 10, "the switch")
            # the switch drops the row of 127.0.0.1:9 above: the cursor and its line stay on dead (they
            # moved onto gone, and the next refresh described gone)
            await pilot.pause()
            assert table.cursor_row == table.get_row_index("dead"), rows(table)
            await wait_for(
                pilot,
                lambda: str(detail.render()).startswith(f"dead  grpc://127.0.0.1:{dead}  cannot reach"),
                10,
                "dead's state under the table",
                show=lambda: detail.render(),
            )

    asyncio.run(scenario())


def test_the_managed_server_keeps_its_row_and_models_forget_the_last_server(server, dead_servers):
    """After making `dead` active the managed `(active)` row disappeared (no way back) and pane 3 kept the old
    server's detail beside `server not reachable`."""
    from pathlib import Path

    from tests.helpers import lines_of, rows, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.core.client.connection import Connection
    from triton_console.tui.panes.models import NO_DETAIL

    async def scenario():
        app = ConsoleApp(
            ConsoleOptions(url=server.grpc_url, protocol="grpc", repository=Path("/nonexistent"))
        )
        # the session's server, adopted as this console's managed server (started as `s` starts one)
        app.controller.managed = server
        app.controller.managed_connection = Connection(url=server.grpc_url, protocol="grpc")
        async with app.run_test(size=SIZE) as pilot:
            try:
                await pilot.press("3")
                index = app.query_one("#index")
                await wait_for(pilot, lambda: index.row_count > 0, 30, "the models")
                index.focus()
                await pilot.press("down", "up")
                detail = app.query_one("#detail-text")
                await wait_for(
                    pilot,
                    lambda: any(line.strip() not in ("", NO_DETAIL) for line in lines_of(detail)),
                    20,
                    "a model's detail",
                    show=lambda: lines_of(detail),
                )
                await pilot.press("7")
                table = app.query_one("#fleet")
                await wait_for(pilot, lambda: "(active)" in rows(table), 10, "the managed row")
                table.move_cursor(row=table.get_row_index("dead"))
                await pilot.press("enter")
                await wait_for(pilot, lambda: "dead —" in app.sub_title, 10, "the switch to dead")
                await wait_for(
                    pilot, lambda: "(managed)" in rows(table).get("(active)", ""), 10, "the managed row kept"
                )
                assert rows(table)["dead"].startswith("▶ dead")
                await pilot.press("3")
                await wait_for(
                    pilot, lambda: "not reachable" in str(app.query_one("#models-note").render()), 20
                )
                assert " ".join(x.strip() for x in lines_of(detail) if x.strip()) == NO_DETAIL
                await pilot.press("7")
                table.move_cursor(row=table.get_row_index("(active)"))
                await pilot.press("enter")
                await wait_for(
                    pilot, lambda: app.sub_title.endswith("(managed)"), 10, "back to the managed one"
                )
                assert server.grpc_url in app.sub_title and rows(table)["(active)"].startswith("▶ (active)")
            finally:
                app.controller.managed = None  # the session's server outlives this console

    asyncio.run(scenario())


def test_servers_pane_shows_the_active_servers_ping_as_the_others(zoo, monkeypatch, tmp_path):
    """The active server's row (given with -u) showed `-` for ping while the servers file's rows had one."""
    from pathlib import Path

    from tests.helpers import rows, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.core.client import contexts
    from triton_console.tui.panes.servers import COLUMNS

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    contexts.add(contexts.ServerEntry("zoo-http", zoo.http_url, "http"))
    ping = [label for label, _ in COLUMNS].index("ping ms")

    def pings(table) -> dict[str, str]:
        return {k.value: str(table.get_row(k)[ping]) for k in table.rows}

    def measured(text: str) -> bool:
        return text == "<1" or text.isdigit()

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=zoo.grpc_url, protocol="grpc", repository=Path("/nonexistent")))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("7")
            table = app.query_one("#fleet")
            await wait_for(
                pilot,
                lambda: (
                    set(pings(table)) == {"(active)", "zoo-http"}
                    and all(map(measured, pings(table).values()))
                ),
                20,
                "both rows' ping",
                show=lambda: rows(table),
            )
            own = next(line for line in screen_lines(app) if "(active)" in line and "ready" in line)
            assert measured(own.split("ready")[1].split()[3]), own  # on screen at 80 columns

    asyncio.run(scenario())


def test_servers_pane_shows_the_active_servers_inference_rate_as_the_others(zoo, monkeypatch, tmp_path):
    """The active server's row (given with -u) showed `-` for inf/s while the console polled it and the
    servers file's row of the same server showed its rate."""
    from pathlib import Path

    from tests.helpers import rows, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.core.client import contexts
    from triton_console.tui.panes.servers import COLUMNS

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    contexts.add(contexts.ServerEntry("zoo-http", zoo.http_url, "http"))
    column = [label for label, _ in COLUMNS].index("inf/s")

    def rates(table) -> dict[str, str]:
        return {k.value: str(table.get_row(k)[column]) for k in table.rows}

    def serving(text: str) -> bool:
        return text not in ("-", "…", "0.0") and float(text) > 0  # …: measured (its first count)

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=zoo.grpc_url, protocol="grpc", repository=Path("/nonexistent")))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("7")
            table = app.query_one("#fleet")
            await wait_for(
                pilot,
                lambda: (
                    set(rates(table)) == {"(active)", "zoo-http"} and all(map(serving, rates(table).values()))
                ),
                30,
                "both rows' inf/s",
                show=lambda: rows(table),
            )
            own = next(line for line in screen_lines(app) if "(active)" in line and "ready" in line)
            assert serving(own.split("ready")[1].split()[4]), own  # on screen at 80 columns

    with steady_requests(zoo.grpc_url):
        asyncio.run(scenario())
