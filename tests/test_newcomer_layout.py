"""Text layout a newcomer found wrong at 80x24: the Models detail's server log split words where it wrapped,
the trace overlay left the timing bars 11 columns, the Bench status line wrapped on a long image path, a long
metrics URL pushed the Metrics header past its two lines, and the Servers pane's own row showed its inf/s as
'-' until the second refresh."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.helpers import screen_lines, wait_for
from triton_console.tui.app import ConsoleApp, ConsoleOptions

SIZE = (80, 24)


def make_app() -> ConsoleApp:
    return ConsoleApp(
        ConsoleOptions(url="127.0.0.1:9", poll=False, repository=Path("/nonexistent/repository"))
    )


def _right_of(screen: list[str], bar: str = "│") -> list[str]:
    """The text right of the first ``bar`` of each line that has one (the Models detail beside the list)."""
    return [ln.split(bar, 1)[1].strip() for ln in screen if bar in ln]


# ------------------------------------------------------------------------------------------ models detail

LOG = [
    'I1202 14:20:11.305143 4242 python_be.cc:2249] "TRITONBACKEND_ModelInstanceInitialize: resnet50_onnx_0_0 '
    '(CPU device 0)"',
    "I1202 14:20:11.912345 4242 model_lifecycle.cc:839] \"successfully loaded 'resnet50_onnx'\"",
    "E1202 14:20:12.000000 4242 model_repository_manager.cc:1234] \"failed to load 'resnet50_onnx': "
    '/tmp/pytest-of-root/pytest-3/models0/resnet50_onnx/1/model.onnx: No such file or directory"',
]


def test_models_detail_server_log_wraps_between_words_and_cuts_a_path_with_an_ellipsis():
    """The detail (about 30 columns at 80) folded `TRITONBACKEND_ModelInstanceIniti` / `alize:` and a path
    over two lines: now each record is short (severity, time, message), breaks between words, and a word
    wider than the detail is cut in its middle with … (a path keeps its file name)."""
    from triton_console.tui.messages import ModelDetail

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("3")
            pane = app.query_one("ModelsPane")
            pane._selected = "resnet50_onnx"
            pane.post_message(ModelDetail("resnet50_onnx", [("server log about it", "\n".join(LOG))]))
            await wait_for(pilot, lambda: any("14:20:12.000" in ln for ln in screen_lines(app)), 5, "the log")
            detail = _right_of(screen_lines(app))
            detail = detail[detail.index("server log about it") + 1 :]
            shown = " ".join(detail).split()
            words = set(" ".join(LOG).replace('"', " ").split()) | {"I", "E", "14:20:11.305", "14:20:11.912"}
            split = [w for w in shown if w not in words | {"14:20:12.000"} and "…" not in w]
            assert not split, (split, detail)  # every word whole, or cut with an ellipsis
            assert any(w.endswith("/1/model.onnx:") and "…" in w for w in shown), detail
            assert any(w.startswith("TRITONBACK") and w.endswith("Initialize:") for w in shown), detail
            assert "python_be.cc:2249]" not in shown and "I 14:20:11.305" in " ".join(detail), detail

    asyncio.run(scenario())
