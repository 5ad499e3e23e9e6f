"""Fast checks of the small pure pieces: statistics, images, the catalog, URLs, headers, untrusted text."""

from __future__ import annotations

import math
import os

import pytest

from triton_console.build_tools import catalog
from triton_console.common.errors import ConsoleError
from triton_console.common.untrusted import one_line, visible
from triton_console.tui.core.classify import images
from triton_console.tui.core.client import stats
from triton_console.tui.core.client.connection import (
    Connection,
    Headers,
    header_from_env,
    parse_header,
    parse_url,
)
from triton_console.tui.core.client.responses import ModelStats


def test_percentiles_interpolate_like_numpy():
    assert stats.percentile([1, 2, 3, 4], 50) == 2.5
    assert stats.percentile([5], 99) == 5
    assert math.isnan(stats.percentile([], 50))
    s = stats.LatencySummary.of([1.0, 2.0, 3.0])
    assert (s.count, s.mean, s.p50) == (3, 2.0, 2.0)


def _stats(name, n, execs, queue_ns, infer_ns):
    d = {"success": (n, n * 10), "queue": (n, queue_ns), "compute_infer": (n, infer_ns)}
    return ModelStats(name, "1", n, execs, d)


def test_breakdown_is_the_difference_of_two_snapshots():
    before = [_stats("pre", 10, 5, 1_000_000, 4_000_000), _stats("ens", 10, 10, 0, 0)]
    after = [_stats("pre", 14, 6, 3_000_000, 8_000_000), _stats("ens", 14, 14, 0, 0)]
    bd = stats.breakdown(before, after, "ens", ["pre", "missing"])
    (step,) = bd.steps
    assert (step.model, step.requests, step.executions) == ("pre", 4, 1)
    assert (
        step.queue_ms == pytest.approx(0.5) and step.compute_ms == pytest.approx(1.0) and step.avg_batch == 4
    )


def test_expand_and_read_say_what_is_wrong(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "b.txt").write_text("no")
    (tmp_path / "empty").mkdir()
    (tmp_path / "zero.png").write_bytes(b"")
    assert images.expand([str(tmp_path)]) == [str(tmp_path / "a.jpg"), str(tmp_path / "zero.png")]
    assert images.expand([str(tmp_path / "empty")]) == [str(tmp_path / "empty")]
    assert images.read(str(tmp_path / "empty")).error == "is a directory with no images"
    assert images.read(str(tmp_path / "zero.png")).error == "empty file (0 bytes)"
    assert images.read(str(tmp_path / "nope.jpg")).error == "no such file or directory"
    assert "limit" in images.read(str(tmp_path / "a.jpg"), max_bytes=0).error


def test_catalog_is_the_one_list():
    assert set(catalog.MODELS) == {"efficientnet-lite0", "resnet50"}
    assert catalog.MODELS["resnet50"].ensemble == "ensemble_python_resnet50"
    assert catalog.backbone("tensorrt").model_name(catalog.MODELS["resnet50"]) == "resnet50_trt"
    assert (
        catalog.backbone("python-onnxruntime").model_name(catalog.MODELS["efficientnet-lite0"])
        == "efficientnet_lite0_ort"
    )
    assert [k for _, k in catalog.backbone_choices()] == ["auto", *catalog.BACKBONES]
    with pytest.raises(ConsoleError, match="unknown backbone"):
        catalog.backbone("vgg")
    from triton_console.tui.cli import parser

    args = parser().parse_args(["build"])
    assert (args.model, args.backbone) == (catalog.DEFAULT_MODEL, catalog.AUTO)
    for backbone in catalog.BACKBONES:
        assert parser().parse_args(["build", "--backbone", backbone]).backbone == backbone
    for model in catalog.MODELS:
        assert parser().parse_args(["build", "--model", model]).model == model
    with pytest.raises(ConsoleError, match="invalid choice: 'vgg'"):  # a usage error (cli.UsageError)
        parser().parse_args(["build", "--backbone", "vgg"])


@pytest.mark.parametrize(
    "url", ["ftp://x:1", "host:99999", "host:8001/path", "ho st:1", "http://:80", "a\x1b[31m:1", "h:1?x=1"]
)
def test_bad_urls_are_rejected(url):
    with pytest.raises(ConsoleError):
        parse_url(url)


def test_url_forms():
    assert parse_url(None).url == "localhost:8001"
    assert parse_url(None, "http").url == "localhost:8000"
    e = parse_url("http://example:9000")
    assert (e.protocol, e.url, e.ssl) == ("http", "example:9000", False)
    assert parse_url("[::1]:8001").url == "[::1]:8001"
    assert str(parse_url("https://h:1")) == "https://h:1" and parse_url("grpcs://h:1").ssl


def test_credentials_in_urls_are_refused():
    with pytest.raises(ConsoleError, match="credentials") as info:
        parse_url("http://user:secret@host:8000")
    assert "secret" not in str(info.value)


def test_headers_are_checked_and_never_shown(monkeypatch):
    assert parse_header("Authorization: Bearer abc") == ("Authorization", "Bearer abc")
    for bad in ("NoColon", "Bad Name: x", "X-Empty:   "):
        with pytest.raises(ConsoleError):
            parse_header(bad)
    monkeypatch.setenv("MY_TOKEN", "s3cr3t")
    assert header_from_env("Authorization=MY_TOKEN") == ("Authorization", "s3cr3t")
    with pytest.raises(ConsoleError, match="not set"):
        header_from_env("Authorization=NOT_THERE_AT_ALL")
    conn = Connection(headers=Headers((("Authorization", "s3cr3t"),)))
    assert "s3cr3t" not in repr(conn) and "s3cr3t" not in str(conn.headers)
    del os.environ["MY_TOKEN"]


def test_untrusted_text_is_made_visible():
    assert visible("a\x1b[31mred\x1b[0m") == "a\\x1b[31mred\\x1b[0m"
    assert visible("abc\u202edef") == "abc\\u202edef"
    assert visible("zero\u200bwidth") == "zero\\u200bwidth"
    assert visible("two\nlines\tx") == "two\\nlines\\tx"
    assert visible("two\nlines", multiline=True) == "two\nlines"
    assert (
        visible("[bold red]FAKE[/]") == "[bold red]FAKE[/]"
    )  # markup stays literal: the renderer never parses it
    assert one_line("first\nsecond") == "first …"
    assert len(visible("x" * 10_000, 100)) < 130


REQUIRED = {
    "export": ["--model", "resnet50", "--weights", "random", "--output", "x.onnx"],
    "engine": ["--onnx", "x.onnx", "--output", "x.plan"],
    "servers": ["list"],
    "infer": ["m"],
    "generate": ["m"],
    "classify": ["x.jpg"],
    "compare": ["a", "b"],
    "dev": ["m"],
    "trace": ["m"],
    "load": ["m"],
    "unload": ["m"],
    "reload": ["m"],
    "tune": ["m", "--set", "max_batch_size=1,8"],
}


def test_every_command_has_a_handler():
    from triton_console.tui import cli

    assert set(cli.commands()) >= {
        "build",
        "serve",
        "status",
        "infer",
        "classify",
        "bench",
        "compare",
        "metrics",
        "servers",
    }
    for name in cli.commands():
        assert callable(cli.parser().parse_args([name, *REQUIRED.get(name, [])]).func), name


def test_topk_bars_compare_raw_scores_instead_of_all_filling_up():
    """A backbone's logits (Triton's classification extension returns them as they are) are labelled raw
    and their bars graded from 0 to the best, not all full as if each were a probability over 1."""
    from rich.console import Console

    from triton_console.tui.core.classify.classifier import Classification
    from triton_console.tui.core.client.responses import TopK
    from triton_console.tui.widgets.topk import render_topk

    def shown(scores):
        result = Classification("m", [TopK(i, f"c{i}", s) for i, s in enumerate(scores)], 1.0)
        console = Console(width=60, record=True, color_system=None)
        console.print(render_topk(result))
        return console.export_text()

    raw = shown([11.8, 5.9, -1.0])
    assert "raw" in raw and "██████████" in raw and "█████·····" in raw
    probs = shown([0.7, 0.2])
    assert "score" in probs and "███████···" in probs and "██········" in probs


def test_stale_shared_memory_of_dead_consoles_is_swept(tmp_path):
    """Regions named after a console that is gone are removed; a live console's and anyone else's stay."""
    import os

    from triton_console.tui.core.server.process import sweep_stale_shm

    dead = tmp_path / "triton_console_999999999_deadbeef_region"
    live = tmp_path / f"triton_console_{os.getpid()}_cafe_region"
    other = tmp_path / "someone_elses_region"
    for p in (dead, live, other):
        p.write_bytes(b"x")
    assert sweep_stale_shm(tmp_path) == [dead]
    assert not dead.exists() and live.exists() and other.exists()


def test_an_ensemble_drawing_fits_any_width_and_cuts_names_only_with_an_ellipsis():
    """The seed's graph wrapped mid-name in the Models pane's detail at 80 columns: laid out for a width, each
    line fits, and every name is on one line either whole or cut in the middle with an ellipsis."""
    from triton_console.model_repository import configs
    from triton_console.tui.core.request import ensemble

    steps = {c.name: c for c in (configs.preprocess_config(), configs.postprocess_config())}
    steps["resnet50_ort"] = configs.backbone_config("resnet50_ort", "python-onnxruntime")
    config = configs.ensemble_config(
        catalog.model("resnet50"), "resnet50_ort", {"choice": "x", "trained": True}
    )
    drawing = ensemble.drawing(config, lambda name: (steps.get(name), "READY" if name in steps else None))
    wide = drawing.lines()
    assert "   OUTPUT_0 → preprocessed_image  FP32 [3, 224, 224]" in wide  # status --json: as before
    assert drawing.lines(80) == wide
    names = ["INPUT", "OUTPUT", "INPUT_0", "OUTPUT_0", "preprocessed_image", "logits", "resnet50_ort"]
    for width in range(12, 60):
        lines = drawing.lines(width)
        assert all(len(line) <= width for line in lines), (width, lines)
        text = "\n".join(lines)
        for name in names:
            whole = any(name in line.split() for line in lines)
            cut = any(
                "…" in w and name.startswith(w.split("…")[0]) and name.endswith(w.split("…")[1])
                for line in lines
                for w in line.split()
            )
            assert whole or cut, (width, name, text)
    # a name that fits without its state keeps whole, the state under it (it read "efficien…et_lite0_ort")
    lite = configs.ensemble_config(
        catalog.model("efficientnet-lite0"), "efficientnet_lite0_ort", {"choice": "x", "trained": True}
    )
    steps["efficientnet_lite0_ort"] = configs.backbone_config("efficientnet_lite0_ort", "python-onnxruntime")
    lines = ensemble.drawing(lite, lambda name: (steps.get(name), "READY")).lines(31)
    assert (
        "2. efficientnet_lite0_ort" in lines
        and lines[lines.index("2. efficientnet_lite0_ort") + 1] == "   READY"
    )
    assert drawing.lines(31)[3:7] == [
        "   INPUT → INPUT_0",
        "     UINT8 [-1]",
        "   OUTPUT_0 →",
        "     preprocessed_image",
    ]
