"""Log views wrap long lines to their width: a Triton error's reason sat past column 78 and took many
presses of → to read. ``w`` (toggle_wrap) shows each line whole again."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult

from tests.helpers import lines_of
from triton_console.tui.widgets.logview import FilteredLog

LONG = (
    "E1202 07:21:04 model_lifecycle.cc:654] failed to load 'ensemble': " + "x" * 60 + " THE-REASON-AT-THE-END"
)


class LogApp(App):
    def compose(self) -> ComposeResult:
        yield FilteredLog(id="log")


def test_a_long_line_wraps_to_the_view_and_w_shows_it_whole():
    async def scenario():
        app = LogApp()
        async with app.run_test(size=(60, 12)) as pilot:
            log = app.query_one(FilteredLog)
            log.append(["short line", LONG])
            await pilot.pause()
            shown = lines_of(log)
            assert "THE-REASON-AT-THE-END" in " ".join(shown), shown
            assert all(len(line.rstrip()) <= 60 for line in shown)
            assert shown[0].startswith("short line") and shown[2].startswith("  ")  # a continuation, indented
            assert log.toggle_wrap() is False
            await pilot.pause()
            shown = lines_of(log)
            assert "THE-REASON-AT-THE-END" not in " ".join(shown)  # past the edge: scroll to read
            assert shown[1].startswith("E1202")
            log.show("reason", [LONG, "other"])  # the filter keeps the setting
            await pilot.pause()
            assert [ln.strip() for ln in lines_of(log) if ln.strip()][:1] == [LONG[:60].strip()]

    asyncio.run(scenario())


def test_a_wrapped_line_breaks_between_words_and_cuts_a_word_wider_than_the_view():
    """The wrap split words (`TRITONBACKEND_ModelInst` / `anceInitialize:`) and paths over two lines: it
    breaks between words now, and a word wider than the view keeps its start and end around an ellipsis."""
    line = (
        "I 14:20:11.305 TRITONBACKEND_ModelInstanceInitialize: resnet50_onnx_0_0 (CPU device 0) from "
        "/tmp/pytest-of-root/pytest-3/models0/resnet50_onnx/1/model.onnx and more words after it"
    )

    async def scenario():
        app = LogApp()
        async with app.run_test(size=(36, 12)) as pilot:
            log = app.query_one(FilteredLog)
            log.append([line])
            await pilot.pause()
            shown = [ln.rstrip() for ln in lines_of(log) if ln.strip()]
            words = set(line.split())
            assert all(w in words or "…" in w for ln in shown for w in ln.split()), shown
            assert any(w.endswith("/1/model.onnx") and "…" in w for ln in shown for w in ln.split()), shown
            assert any(
                w.startswith("TRITONBACK") and w.endswith("Initialize:") for w in " ".join(shown).split()
            )
            assert all(len(ln) <= 36 for ln in shown), shown

    asyncio.run(scenario())
