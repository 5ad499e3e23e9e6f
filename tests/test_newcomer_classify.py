"""What a newcomer found at 80x24 in the Classify and Bench panes: the tree stayed put after p with a folder
and a (Folder) then failed on the tree's folder as if it were an image; ensemble and fused rows mixed in the
history with no model named; the row's detail wrapped onto the path box's line; the steps header cut before
the first result; the compare table's model names squeezing the Bench chart."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.helpers import lines_of, notifications, rendered, rows, screen_lines, wait_for
from tests.test_app import SIZE, make_app
from triton_console.build_tools import catalog
from triton_console.tui.panes.classify import model_tags

ENSEMBLE = "ensemble_python_efficientnet_lite0"
FUSED = catalog.MODELS["efficientnet-lite0"].fused


def test_model_tags_keep_what_tells_the_models_apart():
    assert model_tags([ENSEMBLE, FUSED]) == {ENSEMBLE: "ensemble", FUSED: "fused"}
    assert model_tags([ENSEMBLE]) == {ENSEMBLE: ENSEMBLE}
    assert model_tags(["ensemble_python_resnet50", ENSEMBLE]) == {
        "ensemble_python_resnet50": "resnet50",
        ENSEMBLE: "efficientnet_lite0",
    }
    assert model_tags(["resnet50", "densenet"]) == {"resnet50": "resnet50", "densenet": "densenet"}
    assert model_tags(["a_x", "a_x_y"]) == {"a_x": "a_x", "a_x_y": "a_x_y"}  # one would be empty


def test_steps_header_is_whole_before_the_first_result():
    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            await pilot.pause()
            header = next(ln for ln in screen_lines(app) if "top-1" in ln)
            assert "pre/net/post/rest" in header and "…" not in header, header

    asyncio.run(scenario())


def _console(server, start_dir):
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    return ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc", start_dir=str(start_dir)))


async def _with_the_ensemble(pilot, app):
    """The Classify pane (4) once both layouts are ready, the ensemble chosen."""
    from triton_console.tui.panes.classify import ClassifyPane

    await pilot.press("4")
    pane = app.query_one(ClassifyPane)
    await wait_for(pilot, lambda: FUSED in pane.routes and ENSEMBLE in pane.routes, 60, "the models")
    pane.query_one("#model").value = ENSEMBLE
    return pane


async def _type_path(pilot, pane, path) -> None:
    """As a user does: typed, so the box scrolls as it does for them (a value set in code shows its head)."""
    await pilot.press("p")
    await pilot.press(*str(path))
    await pilot.press("enter")


@pytest.mark.server
def test_p_with_a_folder_moves_the_tree_there_and_a_classifies_its_images(server, images_dir, tmp_path):
    """p with the images' folder, then a: the folder's images again, not the tree's old folder as a failed
    image; a folder with no images is said in a notice, never a row."""
    from triton_console.tui.panes.classify import ClassifyPane

    empty = tmp_path / "empty"
    empty.mkdir()

    async def scenario():
        app = _console(server, empty)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("4")
            pane = app.query_one(ClassifyPane)
            await wait_for(pilot, lambda: ENSEMBLE in pane.routes, 60, "the image models")
            pane.query_one("#model").value = ENSEMBLE
            table = pane.query_one("#breakdown")
            latency = pane.query_one("#latency")
            await _type_path(pilot, pane, images_dir)
            await wait_for(pilot, lambda: "n=3" in rendered(latency), 60, "the folder classified")
            assert pane.folder == str(images_dir)
            await pilot.press("a")
            await wait_for(pilot, lambda: "n=6" in rendered(latency), 60, "a: the folder classified again")
            shown = rows(table)
            assert sorted(shown) == sorted(
                str(images_dir / n) for n in ("car.jpg", "mug.jpg", "vulture.jpeg")
            )
            assert "sports car" in shown[str(images_dir / "car.jpg")], shown
            await _type_path(pilot, pane, empty)
            await wait_for(
                pilot, lambda: any(f"no images in {empty}" in n for n in notifications(app)), 20, "the notice"
            )
            assert pane.folder == str(empty)
            await pilot.press("a")
            await pilot.pause(0.5)
            assert len(rows(table)) == 3 and not any("directory" in r for r in rows(table).values()), rows(
                table
            )

    asyncio.run(scenario())


@pytest.mark.server
def test_history_names_each_rows_model_and_the_detail_keeps_off_the_path_box(server, images_dir):
    """The folder by the ensemble, then the fused model chosen (it classifies the image on screen again):
    each row says its model at 80 columns, and the fused row's detail is two lines above the history that
    leave the path box's line alone and the history unscrolled."""

    async def scenario():
        app = _console(server, images_dir)
        async with app.run_test(size=SIZE) as pilot:
            pane = await _with_the_ensemble(pilot, app)
            table = pane.query_one("#breakdown")
            await _type_path(pilot, pane, images_dir)
            await wait_for(pilot, lambda: "n=3" in rendered(pane.query_one("#latency")), 60, "the folder")
            pane.query_one("#model").value = FUSED
            vulture = str(images_dir / "vulture.jpeg")
            await wait_for(
                pilot, lambda: rows(table)[vulture].endswith("fused"), 60, "vulture by the fused model"
            )
            await pilot.pause(0.2)
            screen = screen_lines(app)
            for image, tag in (("car.jpg", "ensemble"), ("mug.jpg", "ensemble"), ("vulture.jpeg", "fused")):
                line = next((ln for ln in screen if re.search(rf"{re.escape(image)}\s+0\.\d\d ", ln)), "")  # its row
                assert line.rstrip().endswith(tag), screen
            # the labels whole beside the model (the steps column gives way at 80: the detail has them)
            header = next(ln for ln in screen if "top-1" in ln and "model" in ln)
            assert "pre/net/post/rest" not in header, header
            assert any("0.74 sports car" in ln for ln in screen), screen
            detail = [ln for ln in lines_of(pane.query_one("#row-detail")) if ln.strip()]
            assert len(detail) == 2 and "vulture.jpeg: vulture" in detail[0], detail
            assert detail[1].strip().startswith("decode") and "batch 1" in detail[1], detail
            box = screen[-2]  # the path box's line, over the footer
            # the box is the tree's width: a long path shows its end, as typed (CI's is longer than 22 columns)
            shown = box.strip()
            assert len(shown) >= min(len(str(images_dir)), 20) and str(images_dir).endswith(shown), "\n".join(
                screen
            )
            assert "INPUT" not in box and "via" not in box and "decode" not in box, box

    asyncio.run(scenario())


def test_bench_compare_leaves_the_chart_its_room(tmp_path, monkeypatch):
    """m at 80x24 after a sweep: the models as A and B in a column each, named whole under the chart, which
    keeps its title and a legend on one line."""
    from tests.test_snapshots import bench_runs
    from triton_console.tui.core.load import compare
    from triton_console.tui.panes.bench import CompareDone

    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent/config")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    backbone = "efficientnet_lite0_ort"
    a = compare.ModelResult(
        ENSEMBLE, "encoded bytes → INPUT UINT8", [23.0, 24.1, 25.0], [504] * 3, seconds=0.08
    )
    b = compare.ModelResult(backbone, "tensor input FP32 NCHW", [7.0, 7.4, 8.0], [504] * 3, seconds=0.025)
    a.agree_top1 = a.agree_top5 = b.agree_top1 = b.agree_top5 = 1.0
    a.max_delta, b.max_delta = 0.0, 2.4e-6
    result = compare.Comparison([a, b], ["/images/mug.jpg", "/images/car.jpg", "/images/vulture.jpeg"])

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await bench_runs(pilot, overlay=False)
            pane = app.query_one("BenchPane")
            pane.post_message(CompareDone(result, None, "3 images"))
            await wait_for(pilot, lambda: "compared on 3 images" in rendered(pane.query_one("#bench-status")))
            await pilot.pause(0.2)
            chart = pane.query_one("#bench-chart")
            assert chart.size.width >= 40, chart.size
            legend = [ln for ln in lines_of(pane.query_one("#bench-legend")) if ln.strip()]
            assert len(legend) == 1, legend
            screen = screen_lines(app)
            assert any("latency (ms) vs throughput (req/s)" in ln for ln in screen), screen
            detail = rendered(pane.query_one("#bench-detail"))
            assert f"A {ENSEMBLE}: encoded bytes" in detail and f"B {backbone}: tensor" in detail, detail
            p50 = next(ln for ln in screen if "p50 ms" in ln)
            assert "24.1" in p50 and "7.4" in p50, p50

    asyncio.run(scenario())


@pytest.mark.server
def test_a_model_picked_with_a_new_image_classifies_that_image_alone(server, images_dir):
    """A model picked and an image asked for in one go (a script, or keys faster than the loop): the image
    on screen was sent again by the new model as well, and that second request cancelled the first one's
    worker, so the image asked for was never classified when its worker had not started yet (the hostile
    test's slow model waited 15 s for a row that never came). Now the asked image is the one request: its
    row says the new model, and the image on screen keeps its row by the old one."""

    car, vulture = str(images_dir / "car.jpg"), str(images_dir / "vulture.jpeg")

    async def scenario():
        app = _console(server, images_dir)
        async with app.run_test(size=SIZE) as pilot:
            pane = await _with_the_ensemble(pilot, app)
            await pilot.pause()
            pane.classify([car])
            table = pane.query_one("#breakdown")
            await wait_for(pilot, lambda: car in rows(table), 60, "the car by the ensemble")
            pane.query_one("#model").value = FUSED
            pane.classify([vulture])
            await wait_for(pilot, lambda: vulture in rows(table), 60, "the vulture")
            await pilot.pause(1.0)  # a second request, had one gone, would have answered by now
            shown = rows(table)  # the model column appears when two models answered
            assert shown[car].endswith("ensemble") and shown[vulture].endswith("fused"), shown
            assert "vulture.jpeg: vulture" in rendered(pane.query_one("#row-detail"))

    asyncio.run(scenario())
