"""``triton-console --start -u 127.0.0.1:P IMAGE`` while P is another server's (a newcomer's trial, 2026-12): the
title showed that server, car.jpg was classified by it at 4 s, and at ~29 s the console moved to its own server
with only `tritonserver ready at grpc://127.0.0.1:58775`: nothing said P was taken.

Now nothing is sent to the URL given until the console's own server is ready (the images wait for it), and the
ready notice says which port was taken and which ports are used instead. The start is held on an event here,
its ports chosen by the real ``server_config``; "ready" connects to the session server."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from tests.conftest import image
from tests.helpers import notifications, rendered, screen_lines, wait_for
from tests.test_start_port_unload import _three_free_in_a_row
from triton_console.tui.app import ConsoleApp, ConsoleOptions
from triton_console.tui.core.server.controller import ServerController

pytestmark = pytest.mark.server


@pytest.fixture
def held():
    """A plain listening socket on a gRPC port P whose neighbours (HTTP P-1, metrics P+1) are free."""
    port = _three_free_in_a_row()
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen(16)
    sock.setblocking(False)
    yield sock, port
    sock.close()


def _connections(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_start_on_a_taken_port_sends_nothing_there_and_says_so_when_ready(server, held, monkeypatch):
    sock, port = held
    car = str(image("car.jpg"))
    release = threading.Event()

    def held_start(self, notify):  # the real port choice; "ready" once released, on the session server
        self.start_note = ""
        self.server_config(notify)
        assert release.wait(60)
        self.connect(server.grpc_url, "grpc")
        return self.client.url

    monkeypatch.setattr(ServerController, "_start", held_start)

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=f"127.0.0.1:{port}", images=[car], start=True))
        said: list[str] = []
        notify = app.notify
        app.notify = lambda message, **kw: (said.append(message), notify(message, **kw))[1]
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            pane = app.query_one("ClassifyPane")
            await pilot.pause(3)  # the console polls every second or so
            assert _connections(sock) == 0, "a request went to the server holding the port"
            assert pane.pending == [car] and pane.last_paths == []
            state = rendered(app.query_one("#state"))
            assert "starting the tritonserver; the console connects to it once it is ready" in state, state
            release.set()
            await wait_for(pilot, lambda: pane.last_paths == [car], 120, "car.jpg classified")
            ready = [n for n in said if "tritonserver ready at" in n]
            await pilot.press("4")
            await pilot.pause()
            assert any("sports car" in line for line in screen_lines(app)), screen_lines(app)
            assert len(ready) == 1, said
            assert f"gRPC port {port} was taken; it uses HTTP {port - 1}, gRPC " in ready[0], ready
            assert _connections(sock) == 0
            # still on screen: the held images' classification cleared every notice, this one with them
            assert any("tritonserver ready at" in n for n in notifications(app)), notifications(app)

    asyncio.run(scenario())
