"""Hostile image files through every path (CLI, a raw client, the Classify pane): one clear line each, and
the next good image is still classified correctly."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import image, run_cli, url_args
from tests.helpers import rows, wait_for
from tests.hostile import make_corpus
from triton_console.tui.core.classify.classifier import classify
from triton_console.tui.core.client.client import TritonClient

pytestmark = pytest.mark.server
EFF = "ensemble_python_efficientnet_lite0"
FUSED = "fused_python_efficientnet_lite0"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    return root, make_corpus(root)


def _assert_still_classifies(client: TritonClient) -> None:
    assert classify(client, EFF, image("car.jpg").read_bytes(), 1).top[0].index == 817


def test_corpus_is_large_enough(corpus):
    assert len(corpus[1]) >= 30


def test_hostile_corpus_through_classify_cli(server, corpus):
    root, expect = corpus
    names = sorted(expect)
    res = run_cli(
        "classify",
        *[str(root / n) for n in names],
        *url_args(server, "grpc"),
        "-m",
        EFF,
        "--json",
        timeout=300,
    )
    assert res.returncode == 1, res.stderr
    records = [json.loads(line) for line in res.stdout.splitlines()]
    assert [Path(r["image"]).name for r in records] == names
    for name, rec in zip(names, records, strict=True):
        if expect[name] == "ok":
            assert "top" in rec and len(rec["top"]) == 5, (name, rec)
        elif expect[name] == "error":
            assert "error" in rec and rec["error"] and "Traceback" not in rec["error"], (name, rec)
            assert "<_io" not in rec["error"], (name, rec)
        assert ("top" in rec) != ("error" in rec), (name, rec)
    by_name = {Path(r["image"]).name: r for r in records}
    assert "too large" in by_name["bomb.png"]["error"]
    assert "limit" in by_name["huge_sparse.jpg"]["error"]
    assert "symbolic links" in by_name["loop_a.jpg"]["error"]
    assert "directory" in by_name["directory.jpg"]["error"]
    assert "empty" in by_name["zero.png"]["error"]
    assert "not a recognised image format" in by_name["text.jpg"]["error"]
    _assert_still_classifies(TritonClient(server.grpc_url))


def test_hostile_bytes_straight_to_both_layouts(server, corpus):
    """A raw client sends each file's bytes to the ensemble and to the fused model: a result or a clear error
    per request, the same outcome (and the same message) from both, never a dead model."""
    import tritonclient.grpc as tc
    from tritonclient.utils import InferenceServerException

    root, expect = corpus
    raw = tc.InferenceServerClient(server.grpc_url)
    for name in sorted(expect):
        path = root / name
        if not path.is_file() or path.stat().st_size > 64 * 2**20 or not os.access(path, os.R_OK):
            continue
        data = np.fromfile(path, dtype=np.uint8).reshape(1, -1)
        inp = tc.InferInput("INPUT", list(data.shape), "UINT8")
        inp.set_data_from_numpy(data)
        outcomes = []
        for model in (EFF, FUSED):
            try:
                out = raw.infer(model, [inp]).as_numpy("OUTPUT")
                assert out.shape == (1, 1000) and expect[name] != "error", (model, name)
                outcomes.append(("ok", int(np.argmax(out))))
            except InferenceServerException as exc:
                assert expect[name] != "ok", (model, name, exc.message())
                assert exc.message() and "Traceback" not in exc.message(), (model, name)
                outcomes.append(("error", exc.message()))
        (kind_e, what_e), (kind_f, what_f) = outcomes
        assert kind_e == kind_f, (name, outcomes)
        # the ensemble prefixes "in ensemble '…', "; the reason itself is the same
        assert what_e == what_f if kind_e == "ok" else str(what_e).endswith(str(what_f)), (name, outcomes)
    assert raw.is_server_live() and raw.is_model_ready(FUSED)
    _assert_still_classifies(TritonClient(server.grpc_url))


def test_hostile_corpus_in_the_classify_pane(server, corpus):
    """Every hostile file gets its own row (result or error) and the console keeps working afterwards."""
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.panes.classify import ClassifyPane

    root, expect = corpus
    paths = [str(root / n) for n in sorted(expect)]

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=server.grpc_url, protocol="grpc", start_dir=str(root)))
        async with app.run_test(size=(100, 30)) as pilot:
            pane = app.query_one(ClassifyPane)
            await wait_for(pilot, lambda: pane.model is not None, 30, "a ready image model")
            pane.query_one("#model").value = EFF
            await pilot.press("4")
            pane.classify(paths)
            table = pane.query_one("#breakdown")
            await wait_for(pilot, lambda: table.row_count == len(paths), 120, "a row per file")
            shown = rows(table)
            for path in paths:
                ms = str(table.get_cell(path, "ms"))
                if expect[Path(path).name] == "ok":  # a label and a latency
                    assert ms.replace(".", "").isdigit(), shown[path]
                elif expect[Path(path).name] == "error":  # the error in place of the label, no latency
                    assert ms == "-", shown[path]
            car = str(image("car.jpg"))
            pane.classify([car])
            await wait_for(
                pilot, lambda: "sports car" in rows(table).get(car, ""), 30, "car after the corpus"
            )
            await pilot.press("q")

    asyncio.run(scenario())
