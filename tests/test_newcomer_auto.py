"""What a newcomer found on the real server: Bench's ``auto`` sent the text file Classify had just failed on,
read a run whose every request failed as a measurement and saved it; Classify kept the old model's scores
under the new model, mixed two models' latencies and offered a blank model that read "no model"."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import image
from tests.helpers import lines_of, rendered, wait_for
from tests.test_tui import classify_path, topk_text
from triton_console.tui.app import ConsoleApp, ConsoleOptions

pytestmark = pytest.mark.server
EFF = "ensemble_python_efficientnet_lite0"


@pytest.fixture()
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data"


def _status(pane) -> str:
    return " ".join(" ".join(lines_of(pane.query_one("#bench-status"))).split())  # as read, wrapped


async def _bench(pilot, pane, inputs: str, levels: str) -> str:
    pane.query_one("#bench-model").value = EFF
    pane.query_one("#bench-inputs").value = inputs
    pane.query_one("#bench-levels").value = levels
    pane.query_one("#bench-requests").value = "4"
    await pilot.press("b")
    await wait_for(
        pilot,
        lambda: any(w in _status(pane) for w in ("done", "failed", "stopped")),
        120,
        "the run's end",
        show=lambda: _status(pane),
    )
    return _status(pane)


def test_bench_and_tune_auto_skip_an_input_that_failed_to_classify(server, images_dir, data_home, tmp_path):
    """Classify on README.md fails ("not a decodable image"); Bench's auto then sent README.md, every
    request failed, and the pane said "done: ... (the Classify pane's last) ... saved". auto now sends the
    last input that classified, else the tree's folder (Tune's auto reads the same)."""
    from triton_console.tui.panes.bench import app_image_candidates

    readme = tmp_path / "README.md"
    readme.write_text("# not an image\n")
    # a folder as long as a user's may be: the done line named it whole over the status's three lines and
    # what it said after the folder ("saved") was cut off; it is shortened to fit one line now
    folder = tmp_path / ("a-folder-of-test-images-with-a-name-as-long-as-a-users-may-be-" * 2) / "images"
    folder.parent.mkdir()
    folder.symlink_to(images_dir)

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc", start_dir=str(folder)))
        async with app.run_test(size=(80, 24)) as pilot:
            classify = app.query_one("ClassifyPane")
            await wait_for(pilot, lambda: EFF in classify.routes, 30, "the image models")
            await classify_path(pilot, app, str(readme))
            await wait_for(
                pilot, lambda: "error" in topk_text(app), 60, "the error", show=lambda: topk_text(app)
            )
            assert "decodable" in topk_text(app)
            paths, source = app_image_candidates(app, [])  # what Tune's auto sends too
            assert paths == [str(folder)] and "the Classify tree's folder" in source, (paths, source)
            await pilot.press("6")
            pane = app.query_one("BenchPane")
            await wait_for(pilot, lambda: EFF in pane.models, 20, "ready models")
            text = await _bench(pilot, pane, "auto", "1")
            assert text.startswith("done: 1 steps"), text
            assert "on the images in " in text and "…" in text and "/images" in text, text  # shortened
            assert "o overlays runs" in text and f"saved: {EFF} on " in text, text
            assert str(readme) not in text
            # an image that classifies becomes auto's input
            mug = str(image("mug.jpg"))
            await classify_path(pilot, app, mug)
            await wait_for(pilot, lambda: "coffee mug" in topk_text(app), 60, "the mug")
            assert app_image_candidates(app, [])[0] == [mug]
            await pilot.press("q")

    asyncio.run(scenario())


def test_bench_run_whose_every_request_failed_says_why_and_is_not_saved(server, data_home, tmp_path):
    """Every request of the sweep failed: the pane now says so with the first server error (as the headless
    bench prints it), marks each step failed, and saves nothing for o to overlay."""
    readme = tmp_path / "README.md"
    readme.write_text("# not an image\n")

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc", start_dir=str(tmp_path)))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("6")
            pane = app.query_one("BenchPane")
            await wait_for(pilot, lambda: EFF in pane.models, 20, "ready models")
            text = await _bench(pilot, pane, str(readme), "1,2")
            assert text.startswith("failed: every request of 2 step(s) failed"), text
            assert "first server error:" in text and "not saved" in text, text
            table = pane.query_one("#bench-table")
            assert [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == ["✗ failed"] * 2
            assert not list((data_home / "triton-console" / "runs").glob("*.json"))
            await pilot.press("q")

    asyncio.run(scenario())


def test_classify_model_change_classifies_the_image_again_with_its_own_latency(server):
    """Changing the model left the old model's scores under the new model's route, and the p50 line mixed
    both models' latencies; the list's blank entry read "no ready image model yet" with three ready."""
    from textual.widgets._select import SelectOverlay

    mug = str(image("mug.jpg"))

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc"))
        async with app.run_test(size=(80, 24)) as pilot:
            classify = app.query_one("ClassifyPane")
            await wait_for(pilot, lambda: EFF in classify.routes, 30, "the image models")
            other = next(m for m in sorted(classify.routes) if m != EFF)
            select = classify.query_one("#model")
            select.value = EFF
            await classify_path(pilot, app, mug)
            await wait_for(pilot, lambda: "coffee mug" in topk_text(app), 60, "the mug")
            await classify_path(pilot, app, mug)  # a second request: n=2 for the ensemble
            latency = classify.query_one("#latency")
            await wait_for(
                pilot, lambda: "n=2" in rendered(latency), 60, "two results", show=lambda: rendered(latency)
            )
            select.value = other
            await wait_for(
                pilot,
                lambda: (app.controller.last_classified or ("",))[0] == other,
                60,
                f"the mug classified by {other}",
            )
            await wait_for(
                pilot,
                lambda: "n=1" in rendered(latency),
                10,
                "its own latency",
                show=lambda: rendered(latency),
            )
            select.value = EFF  # back: the ensemble's own figures, and the image classified by it again
            await wait_for(pilot, lambda: app.controller.last_classified[0] == EFF, 60, "the ensemble again")
            await wait_for(pilot, lambda: "n=3" in rendered(latency), 10, "the ensemble's figures")
            select.focus()
            await pilot.press("enter")  # the open list: models only, no blank entry meaning "no model"
            await pilot.pause()
            overlay = select.query_one(SelectOverlay)
            assert overlay.option_count == len(classify.routes), overlay.option_count
            await pilot.press("escape")
            await pilot.press("q")

    asyncio.run(scenario())


def test_headless_bench_save_keeps_no_run_whose_every_request_failed(server, data_home, tmp_path):
    """``bench --save`` wrote a run whose every request failed into the runs the Bench pane overlays (o)."""
    import os

    from tests.conftest import run_cli

    readme = tmp_path / "README.md"
    readme.write_text("# not an image\n")
    env = os.environ | {"XDG_DATA_HOME": str(data_home)}
    res = run_cli(
        "bench",
        "-m",
        EFF,
        str(readme),
        "-u",
        server.grpc_url,
        "--requests",
        "3",
        "--warmup",
        "1",
        "--save",
        env=env,
    )
    assert res.returncode == 1, res.stderr
    assert "first server error:" in res.stdout and "not a decodable image" in res.stdout, res.stdout
    assert "not saved: every request failed" in res.stderr, res.stderr
    assert not list((data_home / "triton-console" / "runs").glob("*.json"))
