"""What a newcomer met at 80x24 in forms and charts: the Bench pane ran 100 requests a level on a request count
of "abc"; the Metrics pane's GPU charts on a CPU-only server were two empty frames that said nothing."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import lines_of, notifications, wait_for
from tests.test_app import SIZE, make_app


def test_bench_refuses_a_request_count_that_is_not_a_number():
    from textual.widgets import Input

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("6")
            box = app.query_one("#bench-requests", Input)
            box.focus()
            await pilot.press("end", *["backspace"] * 3, "a", "b", "c")
            assert box.value == ""  # letters do not go in
            await pilot.press("0", "enter")
            await wait_for(pilot, lambda: notifications(app), 5, "a notice")
            assert any(
                "req 0: give the requests per level as a whole number above 0" in n
                for n in notifications(app)
            )
            assert "starting" not in "".join(lines_of(app.query_one("#bench-status")))

    asyncio.run(scenario())


@pytest.mark.server
def test_metrics_gpu_charts_say_when_the_server_has_no_gpu(server):
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.metrics import MetricsPane

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc"))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5")
            pane = app.query_one(MetricsPane)
            head = pane.query_one("#metrics-head")
            await wait_for(
                pilot, lambda: "second poll" not in str(head.render()) and pane.polls >= 2, 15, "two polls"
            )
            await pilot.press("c", "c")  # model -> batch -> GPU
            await pilot.pause(0.2)
            for chart in ("#chart-a", "#chart-b"):
                assert "no GPU metrics from this server" in "\n".join(lines_of(pane.query_one(chart)))

    asyncio.run(scenario())
