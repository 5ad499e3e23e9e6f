"""A newcomer trial of the Servers, Metrics, Classify and Bench panes and the ':' command line (80x24)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.helpers import notifications, rendered, rows, screen_lines, wait_for

SIZE = (80, 24)


def test_the_managed_row_keeps_its_own_url_after_a_failed_connect_elsewhere(server, monkeypatch, tmp_path):
    """`c` 127.0.0.1:HTTP-port over gRPC failed ("answered, but not over gRPC"), then `:ctx viahttp`: pane 7's
    managed row showed `● down` and the HTTP port while the managed server was up on its gRPC port, and with
    the cursor on it the line under the table said `(active)  grpc://…:HTTP-port … not over gRPC`."""
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.core.client import contexts
    from triton_console.tui.core.client.connection import Connection

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    contexts.add(contexts.ServerEntry("viahttp", server.http_url, "http"))
    http_hostport = server.http_url.split("://")[-1]
    grpc_hostport = server.grpc_url.split("://")[-1]

    async def scenario():
        app = ConsoleApp(
            ConsoleOptions(url=server.grpc_url, protocol="grpc", repository=Path("/nonexistent"))
        )
        app.controller.managed = server  # the session's server, adopted as this console's managed server
        app.controller.managed_connection = Connection(url=server.grpc_url, protocol="grpc")
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            try:
                await pilot.press("2", "c")
                await pilot.pause()
                box = app.query_one("#url")
                box.focus()
                box.value = http_hostport  # typed: the HTTP port, while the dropdown says gRPC
                await pilot.press("enter")
                await pilot.press("7")
                table = app.query_one("#fleet")
                await wait_for(
                    pilot,
                    lambda: "not over gRPC" in rows(table).get("(active)", ""),
                    20,
                    "the failed connection on the active row",
                    show=lambda: rows(table),
                )
                app.run_command("ctx viahttp")
                await wait_for(pilot, lambda: "viahttp —" in app.sub_title, 10, "the switch to viahttp")
                await wait_for(
                    pilot,
                    lambda: (
                        "ready" in rows(table).get("(active)", "")
                        and grpc_hostport in rows(table)["(active)"]
                    ),
                    20,
                    "the managed row: its own URL, ready",
                    show=lambda: rows(table),
                )
                line = rows(table)["(active)"]
                assert line.startswith("  (managed)") and http_hostport not in line, line
                table.focus()
                table.move_cursor(row=table.get_row_index("(active)"))
                await pilot.pause()
                detail = rendered(app.query_one("#fleet-detail"))
                assert detail.startswith("(managed)") and grpc_hostport in detail, detail
                assert "not over gRPC" not in detail, detail
                managed_line = next(s for s in screen_lines(app) if "(managed)" in s and "ready" in s)
                assert grpc_hostport in managed_line, managed_line
            finally:
                app.controller.managed = None  # the session's server outlives this console

    asyncio.run(scenario())


def test_a_mistyped_colon_command_says_did_you_mean():
    """`:modles` said "unknown command 'modles': try build, server, …" with no suggestion (the CLI has one)."""
    from tests.test_panes import make_app

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("colon", *"modles", "enter")
            await wait_for(pilot, lambda: any("modles" in n for n in notifications(app)), 5, "the toast")
            toast = next(n for n in notifications(app) if "modles" in n)
            assert "did you mean 'models'?" in " ".join(toast.split()), toast

    asyncio.run(scenario())


def test_the_server_panes_footer_shows_w_wrap_and_keeps_help_and_quit():
    """`w` (wrap the log) worked but the footer did not show it; it now does, at 80 columns, without pushing
    `? Help q Quit` off."""
    from tests.test_panes import make_app

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await pilot.pause()
            footer = screen_lines(app)[-1]
            assert "w Wrap" in footer and "? Help q Quit" in footer, footer

    asyncio.run(scenario())


@pytest.mark.server
def test_a_failed_classification_is_no_latency_sample(server, images_dir, tmp_path):
    """After classifying a non-image (README.md) the latency line read `last 45.1 ms p50 45.1 p95 45.1 n=1`
    for a request that failed."""
    from tests.test_newcomer_classify import _console, _type_path, _with_the_ensemble

    text = tmp_path / "README.md"
    text.write_text("# not an image\n" * 50)

    async def scenario():
        app = _console(server, tmp_path)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            pane = await _with_the_ensemble(pilot, app)
            table = pane.query_one("#breakdown")
            await _type_path(pilot, pane, text)
            await wait_for(pilot, lambda: len(rows(table)) == 1, 60, "the failed row", show=lambda: rows(table))
            await pilot.pause(0.3)
            latency = rendered(pane.query_one("#latency"))
            assert "n=" not in latency and "ms" not in latency, latency
            await _type_path(pilot, pane, images_dir / "car.jpg")
            await wait_for(pilot, lambda: len(rows(table)) == 2, 60, "the car", show=lambda: rows(table))
            await wait_for(pilot, lambda: "n=1" in rendered(pane.query_one("#latency")), 10, "one sample")

    asyncio.run(scenario())
