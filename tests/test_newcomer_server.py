"""What a newcomer tripped over in the Server, Classify, Models and Servers panes (80x24, no tritonserver)."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import screen_lines
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
