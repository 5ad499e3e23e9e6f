"""A hostile v2 server (tests/hostile_server.py) against every surface: no tracebacks, one clear line per
problem, strings shown literally with escapes visible, and a console that stays responsive."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, image, run_cli
from tests.helpers import lines_of, read_until, rendered, rows, wait_for
from tests.hostile_server import OVERSIZED_MIB
from triton_console.tui.app import ConsoleApp, ConsoleOptions
from triton_console.tui.core.client.connection import Connection

pytestmark = pytest.mark.server
PROTOCOLS = ("http", "grpc")


class Hostile:
    def __init__(self, models: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.hostile_server", f"--models={models}"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:  # its ports, bound by itself (ports chosen here and released could be taken before it binds)
            ready = read_until(self.proc.stdout, "hostile server ready", 60).splitlines()[-1]
        except BaseException:
            self.stop()
            raise
        ports = dict(word.split("=") for word in ready.split()[3:])
        self.http, self.grpc, self.metrics = (int(ports[k]) for k in ("http", "grpc", "metrics"))

    def url(self, protocol: str) -> str:
        return f"http://127.0.0.1:{self.http}" if protocol == "http" else f"127.0.0.1:{self.grpc}"

    def args(self, protocol: str) -> list[str]:
        return ["-u", self.url(protocol), "-i", protocol]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def hostile():
    h = Hostile()
    yield h
    h.stop()


def _clean(out: str) -> None:
    assert "Traceback" not in out, out[-3000:]
    assert "\x1b" not in out and "\u202e" not in out, "raw escapes reached the terminal"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_status_keeps_every_string_as_data(hostile, protocol):
    res = run_cli("status", *hostile.args(protocol), "--json", timeout=60)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    names = [m["name"] for m in out["models"]]
    assert "[bold red]FAKE READY[/]" in names and "ctl\x1b[31m\u202ename" in names  # data, unchanged, in JSON
    assert out["server"]["name"].startswith("[bold red]FAKE READY[/]")
    res = run_cli("status", *hostile.args(protocol), timeout=60)
    assert res.returncode == 0
    _clean(res.stdout + res.stderr)
    assert "ctl\\x1b[31m\\u202ename" in res.stdout  # escapes made visible for a terminal


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_classify_with_garbage_classification_strings(hostile, protocol):
    res = run_cli(
        "classify", str(image("car.jpg")), *hostile.args(protocol), "-m", "bad_classes", "--json", timeout=60
    )
    assert res.returncode == 0, res.stderr
    record = json.loads(res.stdout)
    assert [t["index"] for t in record["top"]][0] == 3  # the real score first; NaN and Inf never above it
    assert record["top"][0]["label"].startswith("\x1b[31mkite")  # JSON keeps the data as it came
    problems = record["problems"]
    assert "classification string 1 of 5 is not score:index[:label]: 'abc'" in problems
    assert any("string 2 of 5" in p and "notanint" in p for p in problems)
    res = run_cli("classify", str(image("car.jpg")), *hostile.args(protocol), "-m", "bad_classes", timeout=60)
    _clean(res.stdout + res.stderr)
    assert "note: classification string 1 of 5" in res.stdout


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_oversized_output_is_refused(hostile, protocol):
    res = run_cli(
        "classify",
        str(image("car.jpg")),
        *hostile.args(protocol),
        "-m",
        "oversized",
        "--max-response-mb",
        "8",
        "--json",
        timeout=60,
    )
    assert res.returncode == 1, res.stderr
    error = json.loads(res.stdout)["error"]
    assert ("over the 8 MiB limit" in error) or ("larger than max" in error), error
    assert str(OVERSIZED_MIB) in error or "25" in error
    _clean(res.stdout + res.stderr)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_dripping_server_cannot_hold_a_command_past_its_timeout(hostile, protocol):
    t0 = time.monotonic()
    res = run_cli(
        "classify", str(image("car.jpg")), *hostile.args(protocol), "-m", "slow", "--timeout", "3", timeout=60
    )
    elapsed = time.monotonic() - t0
    assert res.returncode != 0 and elapsed < 12, (elapsed, res.stderr)
    assert "timed out" in (res.stdout + res.stderr).lower() or "deadline" in (res.stdout + res.stderr).lower()
    _clean(res.stdout + res.stderr)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    "model, code, text",
    [
        ("undecodable", 1, "output 'y' cannot be decoded"),
        ("absurd_dims", 1, "impossible shape"),
        ("broken", 1, "model 'broken' is not ready"),
        ("[bold red]FAKE READY[/]", 2, "invalid model name"),
    ],
)
def test_infer_against_a_hostile_server(hostile, protocol, model, code, text):
    res = run_cli("infer", model, "--shape", "INPUT=4", *hostile.args(protocol), timeout=60)
    assert res.returncode == code, res.stderr
    assert text in res.stderr and res.stderr.count("\n") <= 6
    _clean(res.stdout + res.stderr)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_infer_with_garbage_scores_keeps_nan_and_inf_as_such(hostile, protocol):
    res = run_cli("infer", "nan_scores", "--shape", "INPUT=4", *hostile.args(protocol), "--json", timeout=60)
    assert res.returncode == 0, res.stderr
    (out,) = json.loads(res.stdout)["outputs"]
    assert out["nan"] == 1 and abs(out["max"] - 0.3) < 1e-6  # min/max/mean over the finite values
    shown = [str(v).lower() for v in out["values"]]
    assert "nan" in shown and "inf" in shown
    res = run_cli("infer", "nan_scores", "--shape", "INPUT=4", *hostile.args(protocol), timeout=60)
    assert res.returncode == 0 and "NaN 1" in res.stdout
    _clean(res.stdout + res.stderr)


async def _loop_lag(pilot, seconds: float) -> float:
    """Worst delay of a 10 ms timer over ``seconds`` while the app works: the event loop's longest stall."""
    gaps: list[float] = []
    last = time.perf_counter()

    def tick() -> None:
        nonlocal last
        now = time.perf_counter()
        gaps.append(now - last - 0.01)
        last = now

    timer = pilot.app.set_interval(0.01, tick)
    await pilot.pause(seconds)
    timer.stop()
    return max(gaps) if gaps else 0.0


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.timing
def test_every_pane_shows_hostile_strings_literally(hostile, protocol):
    async def scenario():
        conn = Connection(
            url=hostile.url(protocol),
            protocol=protocol,
            timeout=3,
            metrics_url=f"http://127.0.0.1:{hostile.metrics}/metrics",
        )
        app = ConsoleApp(ConsoleOptions(connection=conn, start_dir=str(image("car.jpg").parent)))
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.press("2")
            state = app.query_one("#state")
            await wait_for(
                pilot,
                lambda: "● ready" in rendered(state),
                20,
                "the state line",
                show=lambda: rendered(state),
            )
            shown = rendered(state)
            assert "[bold red]FAKE READY[/]" in shown and "\\x1b[2J" in shown and "\\u202e" in shown
            await pilot.press("3")
            table = app.query_one("#index")
            await wait_for(pilot, lambda: "broken" in rows(table), 20, "the model list")
            listed = rows(table)
            assert "[bold red]FAKE READY[/]" in listed
            assert listed["broken"].startswith("UNAVAILABLE") and "boom [/]" in listed["broken"]
            assert "\\x1b]0;pwned\\x07" in listed["broken"] and "\\u202e" in listed["broken"]
            for name in ("absurd_dims", "broken", "[bold red]FAKE READY[/]", "bad_classes"):
                table.move_cursor(row=table.get_row_index(name))
                await pilot.pause(0.3)
            table.move_cursor(row=table.get_row_index("absurd_dims"))
            detail = app.query_one("#detail-text")
            await wait_for(
                pilot,
                lambda: "impossible shape" in "".join(lines_of(detail)),
                10,
                "the metadata problem",
                show=lambda: lines_of(detail),
            )
            await pilot.press("4")
            pane = app.query_one("ClassifyPane")
            await wait_for(pilot, lambda: pane.model is not None, 20, "image models found")
            pane.query_one("#model").value = "bad_classes"
            pane.classify([str(image("car.jpg"))])
            await wait_for(pilot, lambda: pane.query_one("#breakdown").row_count == 1, 20, "a result")
            assert "classification string 1 of 5" in rendered(pane.query_one("#row-detail"))
            assert "\\x1b[31mkite [/]" in "\n".join(lines_of(pane.query_one("#topk")))
            pane.query_one("#model").value = "slow"
            pane.classify([str(image("vulture.jpeg"))])
            lag = await _loop_lag(pilot, 1.5)  # while the slow model holds a worker
            assert lag < 0.1, f"event loop stalled {lag * 1000:.0f} ms"
            await wait_for(
                pilot, lambda: pane.query_one("#breakdown").row_count == 2, 15, "the timeout as a row"
            )
            assert (
                "timed out" in rendered(pane.query_one("#row-detail")).lower()
                or "deadline" in rendered(pane.query_one("#row-detail")).lower()
            )
            for key in ("1", "2", "3", "4", "question_mark", "escape"):
                await pilot.press(key)
                await pilot.pause(0.1)
            app.export_screenshot()
            await pilot.press("q")

    asyncio.run(scenario())


@pytest.mark.timing
def test_an_index_of_20000_models_appears_fast_and_the_loop_stays_free():
    h = Hostile(models=20_000)
    try:

        async def scenario():
            app = ConsoleApp(ConsoleOptions(url=h.url("grpc"), protocol="grpc", start_dir=str(ROOT)))
            async with app.run_test(size=(100, 30)) as pilot:
                t0 = time.monotonic()
                await pilot.press("3")
                table = app.query_one("#index")
                await wait_for(pilot, lambda: table.row_count == 20_009, 10, "every row")
                elapsed = time.monotonic() - t0
                lag = await _loop_lag(pilot, 3.0)  # three polls
                for _ in range(20):
                    await pilot.press("pagedown")
                await pilot.press("end")
                assert table.cursor_key == table.keys[-1] == "undecodable"
                lag = max(lag, await _loop_lag(pilot, 0.5))
                await pilot.press("q")
                return elapsed, lag

        elapsed, lag = asyncio.run(scenario())
        print(f"20,009 rows in {elapsed:.2f} s from start; worst event-loop stall {lag * 1000:.0f} ms")
        assert elapsed < 2.0
        assert lag < 0.05
    finally:
        h.stop()
