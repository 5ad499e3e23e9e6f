"""What a newcomer found in the Bench, Tune and Classify panes at 80x24 (no server: results injected through the
panes' entry points): p99 hidden under p95, an overlay count the chart did not draw, a failed run read as a
measurement, a Tune legend naming glyphs never drawn at uneven ticks."""

from __future__ import annotations

import asyncio
import math
import re

import pytest

from tests.helpers import lines_of, rendered, wait_for
from tests.test_snapshots import ENSEMBLE, _run_dict, _snapshot, bench_runs, make_app

SIZE = (80, 24)


def on_pane(key: str, pane: str, body) -> None:
    """``await body(pilot, pane)`` in the app at 80x24, the live server's snapshot shown (as
    tests/test_snapshots.py does), on the pane of ``key``, named ``pane``."""

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            _snapshot(app)
            await pilot.press(key)
            await body(pilot, app.query_one(pane))

    asyncio.run(scenario())


def _plot_rows(chart) -> list[str]:
    """The chart's plot area, between the frame's top and bottom (no title, no ticks under it)."""
    lines = lines_of(chart)
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    left = lines[top].index("┌") + 1
    right = lines[top].index("┐")
    return [line[left:right] for line in lines[top + 1 : bottom]]


def _step(c: int, tput: float, p50: float, p95: float, p99: float) -> dict:
    return {
        "concurrency": c,
        "throughput": tput,
        "errors": 0,
        "count": 100,
        "latency_ms": {"p50": p50, "p95": p95, "p99": p99},
    }


def test_bench_p99_next_to_p95_is_drawn_over_its_line(monkeypatch):
    """A p99 within a row of p95 was drawn under p95's line: the chart showed no x at all. Each of this run's
    points is now drawn over the lines, p99 over p95 where they meet."""
    monkeypatch.setenv("NO_COLOR", "1")
    from triton_console.tui.panes.bench import BenchEvent

    async def body(pilot, pane):
        for c, tput, p50 in ((1, 38.0, 25.1), (2, 61.5, 31.0), (4, 70.2, 55.3)):
            pane.post_message(
                BenchEvent({"event": "step", "step": _step(c, tput, p50, p50 * 1.4, p50 * 1.42)})
            )
        await pilot.pause()
        plot = "\n".join(_plot_rows(pane.query_one("#bench-chart")))
        assert plot.count("x") >= 3, plot  # the three p99 points
        assert "+" in plot and "•" in plot, plot  # p95's line and p50 still there
        assert "x p99" in " ".join(lines_of(pane.query_one("#bench-legend")))

    on_pane("6", "BenchPane", body)


def test_bench_overlay_says_how_many_saved_runs_the_chart_draws(tmp_path, monkeypatch):
    """o said "6 saved runs of other sessions overlaid" while the legend listed two: the chart has three
    glyphs for other runs. It now says how many of them it draws, and those are the ones in the legend."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    from triton_console.tui.core.load import loadgen

    for day in range(20, 25):  # five more saved runs of other sessions (bench_runs saves a sixth)
        loadgen.save(loadgen.Run.from_dict(_run_dict(f"2026-11-{day}T09:00:00", 1.1)))

    async def scenario():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await bench_runs(pilot, overlay=True)
            pane = app.query_one("BenchPane")
            status = " ".join(" ".join(lines_of(pane.query_one("#bench-status"))).split())
            said = re.search(r"o: (\d+) of (\d+) saved runs of other sessions overlaid: the newest", status)
            assert said, status
            legend = " ".join(lines_of(pane.query_one("#bench-legend")))
            saved_dates = re.findall(r"p50 (11-2\d)", legend)  # this session's runs are of 11-30
            assert int(said[1]) == len(saved_dates) >= 1 and int(said[2]) == 6, (status, legend)
            assert saved_dates == ["11-28", "11-24"][: len(saved_dates)], legend  # the newest

    asyncio.run(scenario())


def test_bench_run_whose_every_request_failed_says_so_and_is_no_earlier_run(monkeypatch):
    """Every request failed ("not a decodable image"): the pane read "done: 2 steps ... saved", rows
    "1 0.0 - - - 20", no error anywhere, and the run became an earlier run on the chart. Now each step says
    failed with its first error, the status says every request failed and why, and the next run's chart
    has no earlier run."""
    from triton_console.tui.panes.bench import BenchEvent

    error = "ensemble_python_efficientnet_lite0: not a decodable image: cannot identify image file"

    def failed(c: int) -> dict:
        return {
            "model": ENSEMBLE,
            "concurrency": c,
            "count": 0,
            "errors": 20,
            "throughput": 0.0,
            "latency_ms": {"p50": None, "p95": None, "p99": None},
            "first_error": error,
            "first_error_by_kind": {"server error": error, "timeout": None, "connection": None},
        }

    async def body(pilot, pane):
        steps = [failed(1), failed(2)]
        for step in steps:
            pane.post_message(BenchEvent({"event": "step", "step": step}))
        run = _run_dict("2026-11-30T10:02:00", 1.0) | {"steps": steps}
        pane.post_message(BenchEvent({"event": "run", "run": run, "saved": None}))
        status = pane.query_one("#bench-status")
        await wait_for(pilot, lambda: "failed" in rendered(status), 5, "the failed run")
        text = " ".join(" ".join(lines_of(status)).split())
        assert "every request of 2 step(s) failed" in text and f"first server error: {error}" in text, text
        assert "(not saved)" in text and "done" not in text and "saved (o" not in text, text
        table = pane.query_one("#bench-table")
        assert [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == ["✗ failed"] * 2
        assert "not a decodable image" in " ".join(lines_of(pane.query_one("#bench-detail")))
        assert not "".join(_plot_rows(pane.query_one("#bench-chart"))).strip()  # no point at 0 ms
        # the next run, a good one: no "earlier run" made of the failed one
        good = _run_dict("2026-11-30T10:40:00", 1.0)
        pane.steps = []
        for step in good["steps"]:
            pane.post_message(BenchEvent({"event": "step", "step": step}))
        pane.post_message(BenchEvent({"event": "run", "run": good, "saved": "/data/runs/b.json"}))
        await wait_for(pilot, lambda: "done" in rendered(status), 5, "the good run")
        legend = " ".join(lines_of(pane.query_one("#bench-legend")))
        assert "• p50" in legend and "o p50" not in legend, legend

    on_pane("6", "BenchPane", body)


def test_tune_chart_legend_names_the_glyphs_it_draws_at_round_ticks():
    """The Tune chart's legend (plotext's, on the plot) named glyphs never drawn, and its ticks read
    154.5 156.5 158.6 160.6 (four labels for five marks) and 83.5 78.9 74.3. The legend line under the
    chart now names the glyphs plotted, and the ticks are round, one label per mark."""
    from triton_console.tui.core.tune.sweep import Objective, Result, Trial
    from triton_console.tui.panes.tune import TrialDone, TuneFinished

    async def body(pilot, pane):
        figures = [
            (1, 0, 81.2, 154.5),
            (1, 5000, 74.3, 160.6),
            (2, 0, 83.5, 158.6),
            (2, 5000, 78.9, 156.5),
        ]
        trials = []
        for i, (n, delay, tput, p99) in enumerate(figures, 1):
            values = {"instance_group.count": n, "dynamic_batching.max_queue_delay_microseconds": delay}
            trials.append(Trial(values, "concurrency", 4, throughput=tput, p50_ms=p99 / 2, p99_ms=p99))
            pane.post_message(TrialDone(trials[-1], i, len(figures)))
        diff = "--- a\n+++ b\n@@\n-  count: 1\n+  count: 2\n"
        pane.post_message(
            TuneFinished(Result(ENSEMBLE, Objective("throughput"), {}, trials, trials[2], diff), None, None)
        )
        await pilot.pause()
        chart = pane.query_one("#tune-chart")
        lines = lines_of(chart)
        assert "trial" not in "".join(lines) and "pareto" not in "".join(lines).lower()  # not on the plot
        legend = " ".join(lines_of(pane.query_one("#tune-legend")))
        glyphs = re.findall(r"(\S) (trial|Pareto front)", legend)
        assert {w for _, w in glyphs} == {"trial", "Pareto front"}, legend
        plot = "".join(_plot_rows(chart))
        for glyph, _ in glyphs:
            assert glyph in plot, (glyph, plot)
        yticks = [float(m[1]) for line in lines if (m := re.match(r"\s*([\d.]+)┤", line))]
        assert len(yticks) >= 2 and yticks[-1] == 0, lines
        step = yticks[-2]
        assert any(math.isclose(step / 10 ** math.floor(math.log10(step)), m) for m in (1, 2, 5)), yticks
        assert yticks == pytest.approx([step * i for i in range(len(yticks) - 1, -1, -1)]), yticks
        bottom = next(i for i, line in enumerate(lines) if "└" in line)
        marks, labels = lines[bottom].count("┬"), [float(x) for x in lines[bottom + 1].split()]
        assert marks == len(labels) >= 2, lines[bottom : bottom + 2]
        gaps = {round(b - a, 6) for a, b in zip(labels, labels[1:], strict=False)}
        assert len(gaps) == 1, labels
        gap = gaps.pop()
        assert any(math.isclose(gap / 10 ** math.floor(math.log10(gap)), m) for m in (1, 2, 5)), labels
        assert all(math.isclose(x / gap, round(x / gap)) for x in labels), labels
        best = " ".join(lines_of(pane.query_one("#tune-best")))
        assert "diff: -count: 1  +count: 2" in best, best  # not a legend-looking "-  count: 1  +  count: 2"

    on_pane("8", "TunePane", body)


def test_bench_model_list_has_no_blank_entry_once_models_are_ready():
    """Bench's model list offered its prompt as a choice with four models ready: picked, b said "no ready
    model to bench". Models only now, the preferred one chosen."""
    from textual.widgets._select import SelectOverlay

    async def body(pilot, pane):
        select = pane.query_one("#bench-model")
        assert select.value == ENSEMBLE
        select.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert select.query_one(SelectOverlay).option_count == len(pane.models) == 4
        await pilot.press("escape")

    on_pane("6", "BenchPane", body)
