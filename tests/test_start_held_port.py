"""``triton-console --start -u 127.0.0.1:P IMAGE`` while P is another server's (a newcomer's trial, 2026-12): the
title showed that server, car.jpg was classified by it at 4 s, and at ~29 s the console moved to its own server
with only `tritonserver ready at grpc://127.0.0.1:58775`: nothing said P was taken.

Now nothing is sent to the URL given until the console's own server is ready (the images wait for it), and the
ready notice says which port was taken and which ports are used instead. The start is held on an event here,
its ports chosen by the real ``server_config``; "ready" connects to the session server."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading

import psutil
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
        lasts: dict[str, float | None] = {}  # how long each toast was asked to stay
        app.notify = lambda message, **kw: (
            said.append(message),
            lasts.__setitem__(message, kw.get("timeout")),
            notify(message, **kw),
        )[2]
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
            assert any("sports car" in line for line in screen_lines(app)), "\n".join(screen_lines(app))
            assert len(ready) == 1, said
            held_by = f"gRPC port {port} (held by pid {os.getpid()} ({psutil.Process().name()})) was taken"
            # HTTP and metrics move with gRPC, beside it: commands need one -u (this test's "ready" is the
            # session server's, so the ports are read from the notice)
            said_ports = re.search(
                rf"{re.escape(held_by)}; it uses HTTP (\d+), gRPC (\d+), metrics (\d+); "
                r"commands need -u 127\.0\.0\.1:(\d+)\)$",
                ready[0],
            )
            assert said_ports, ready
            http, grpc, metrics, need = map(int, said_ports.groups())
            assert (http, metrics, need) == (grpc - 1, grpc + 1, grpc), ready
            # the note stays on the Server pane's state line: the toast need not cover the result for 20 s
            assert lasts[ready[0]] is not None and lasts[ready[0]] <= 10, lasts[ready[0]]
            assert _connections(sock) == 0
            # still on screen: the held images' classification cleared every notice, this one with them
            assert any("tritonserver ready at" in n for n in notifications(app)), notifications(app)

    asyncio.run(scenario())


@pytest.mark.parametrize("which", ["gRPC", "HTTP"])
def test_the_moved_port_stays_on_the_state_line_with_its_holder_and_the_flags_commands_need(tmp_path, which):
    """A newcomer's trial (2026-12): the note that a port was taken was only a toast, gone in seconds, and
    said neither who held it nor what a headless command needs to reach the console's own server. Now the
    Server pane's state line keeps it while that server runs. HTTP alone taken: the gRPC URL given still
    works, and the note gives HTTP's own."""
    grpc = _three_free_in_a_row()
    held_port = grpc if which == "gRPC" else grpc - 1
    (tmp_path / "models").mkdir()  # nothing to load: the server is up in seconds
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", held_port))
        sock.listen(1)

        async def scenario():
            app = ConsoleApp(
                ConsoleOptions(url=f"127.0.0.1:{grpc}", repository=tmp_path / "models", start=True)
            )
            async with app.run_test(size=(80, 24), notifications=True) as pilot:
                await pilot.press("2")
                state = app.query_one("#state")
                await wait_for(
                    pilot,
                    lambda: "● ready" in rendered(state) and "bundled pid " in rendered(state),
                    180,
                    "the console's own server, ready",
                    show=lambda: rendered(state),
                )
                cfg = app.controller.managed.cfg
                app.clear_notifications()  # the toast said it too: the state line must say it alone
                await pilot.pause(2)  # a poll or two later
                shown = rendered(state)
                held = f"{which} port {held_port} (held by pid {os.getpid()} ({psutil.Process().name()})) was taken"
                used = f"it uses HTTP {cfg.http_port}, gRPC {cfg.grpc_port}, metrics {cfg.metrics_port}"
                if which == "gRPC":  # the URL's own port: all three move, in Triton's layout
                    assert cfg.grpc_port != grpc and cfg.http_port == cfg.grpc_port - 1, cfg
                    assert cfg.metrics_port == cfg.grpc_port + 1, cfg
                    need = f"commands need -u 127.0.0.1:{cfg.grpc_port}"
                else:  # the URL given still reaches gRPC and metrics; HTTP alone moved
                    assert cfg.grpc_port == grpc and cfg.http_port != grpc - 1, cfg
                    need = (
                        f"commands need -u 127.0.0.1:{grpc} (over HTTP: -u http://127.0.0.1:{cfg.http_port})"
                    )
                assert f"{held}; {used}; {need}" in shown.replace("\n", " "), shown
                await pilot.press("q")

        asyncio.run(scenario())
