"""Live metrics on the real server: the metrics command and the Metrics pane while requests run."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from tests.conftest import image, run_cli
from tests.helpers import lines_of, wait_for
from triton_console.tui.core.classify.classifier import classify
from triton_console.tui.core.client.client import TritonClient

pytestmark = pytest.mark.server
EFF = "ensemble_python_efficientnet_lite0"


class Load:
    """Classifications in a background thread, until stopped. Entering waits for the first answer, and a
    request that fails is raised on exit: a load that died silently (or had not begun when the command's
    first interval started) read as "inf/s 0.0" in the figures the tests check, a failure with no cause."""

    def __init__(self, url: str) -> None:
        self.stop = threading.Event()
        self.started = threading.Event()
        self.done = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(url,), daemon=True)

    def _run(self, url: str) -> None:
        try:
            client = TritonClient(url)
            data = image("car.jpg").read_bytes()
            while not self.stop.is_set():
                classify(client, EFF, data, 1)
                self.done += 1
                self.started.set()
        except BaseException as exc:  # noqa: BLE001 (said on exit, with the test's own failure)
            self.error = exc
        finally:
            self.started.set()

    def __enter__(self) -> Load:
        self.thread.start()
        assert self.started.wait(60), "the load's first request did not answer in 60 s"
        if self.error is not None:
            raise AssertionError(f"the load failed: {self.error!r}") from self.error
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(30)
        if self.error is not None and exc[0] is None:
            raise AssertionError(f"the load stopped: {self.error!r}") from self.error


def test_metrics_command_prints_rates_while_requests_run(server):
    with Load(server.grpc_url):
        res = run_cli(
            "metrics",
            "-u",
            server.grpc_url,
            "--metrics-url",
            server.metrics_url,
            "--interval",
            "1",
            "--count",
            "2",
            "--json",
            timeout=60,
        )
    assert res.returncode == 0, res.stderr
    points = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(points) == 2
    last = points[-1]
    assert last["sources"][0] == "statistics API" and last["sources"][1].startswith("metrics at http://")
    assert last["models"][EFF]["inf_s"] > 0 and last["models"]["preprocess"]["compute_ms"] > 0
    assert last["ensembles"][EFF] == ["preprocess", "efficientnet_lite0_ort", "postprocess"]
    text = run_cli("metrics", "-u", server.grpc_url, "--interval", "0.5", "--count", "1", timeout=60).stdout
    assert "inf/s" in text and EFF in text


def test_metrics_without_a_metrics_endpoint_says_so(zoo):
    res = run_cli(
        "metrics", "-u", f"http://{zoo.http_url}", "--interval", "0.5", "--count", "1", "--json", timeout=60
    )
    point = json.loads(res.stdout)
    assert point["sources"] == ["statistics API"] or point["sources"][0] == "statistics API"
    res = run_cli("metrics", "-u", "127.0.0.1:9", "--count", "1", timeout=30)
    assert res.returncode == 2 and "cannot reach" in res.stderr


def test_metrics_pane_shows_traffic_then_quiet_and_expands_an_ensemble(server):
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.metrics import MetricsPane

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc"))
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("5")
            pane = app.query_one(MetricsPane)
            rates = pane.query_one("#rates")

            def inf_s(name: str) -> float:
                text = rates.row_text(name) if name in rates.keys else ""
                parts = text.split()
                return float(parts[parts.index(name) + 1]) if name in parts else 0.0

            with Load(server.grpc_url):
                start = pane.polls
                await wait_for(pilot, lambda: inf_s(EFF) > 0, 15, "nonzero inferences/s")
                assert pane.polls - start <= 3  # within three polls of the traffic
                rates.move_cursor(row=rates.get_row_index(EFF))
                await pilot.press("enter")
                await wait_for(pilot, lambda: f"{EFF}\0preprocess" in rates.keys, 5, "the ensemble's steps")
                shown = "\n".join(lines_of(rates))
                assert "└ preprocess" in shown and "└ postprocess" in shown and f"▾ {EFF}" in shown
                assert "inferences/s" in "".join(lines_of(pane.query_one("#chart-a")))
            await wait_for(pilot, lambda: inf_s(EFF) == 0, 15, "quiet again after the traffic")
            for _ in range(4):
                await pilot.press("c")  # every chart renders
                await pilot.pause(0.1)
            await pilot.press("minus", "p")
            assert "paused" in str(pane.query_one("#metrics-head").render())
            await pilot.press("q")

    asyncio.run(scenario())
    time.sleep(0.1)
