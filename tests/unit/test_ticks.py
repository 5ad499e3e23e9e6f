"""Round chart ticks: multiples of one 1/2/5 x 10^k step, on the chart's rows, reaching the data's top."""

from __future__ import annotations

import itertools
import math

import pytest

from triton_console.tui.widgets.ticks import label, range_ticks, row_ticks, snug_row_ticks, span_ticks


def _step_is_nice(step: float) -> bool:
    mantissa = step / 10 ** math.floor(math.log10(step))
    return any(math.isclose(mantissa, m) for m in (1, 2, 5))


@pytest.mark.parametrize("top", [0.0037, 0.37, 1.0, 3.7, 9.0, 11.1, 24.0, 48.4, 99.9, 100.0, 12345.0])
@pytest.mark.parametrize("rows", [2, 3, 5, 8, 13])
def test_row_ticks_are_round_on_rows_and_reach_the_top(top, rows):
    axis, ticks = row_ticks(top, rows)
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0 and _step_is_nice(step)
    assert all(math.isclose(b - a, step) for a, b in itertools.pairwise(ticks))
    assert axis >= top and ticks[-1] <= axis * (1 + 1e-9)
    for t in ticks:  # on a row: the axis' rows are rows - 1 equal gaps
        at = t / axis * (rows - 1)
        assert math.isclose(at, round(at), abs_tol=1e-6), (t, axis, rows)
    assert len(ticks) >= min(3, rows)


@pytest.mark.parametrize(
    "top, rows, axis, ticks",
    [
        (48.4, 5, 80, [0, 20, 40, 60, 80]),  # plotext drew 0.0 16.1 24.2 40.3 48.4
        (37, 5, 40, [0, 10, 20, 30, 40]),
        (11.1, 5, 20, [0, 5, 10, 15, 20]),
        (0.37, 5, 0.4, [0, 0.1, 0.2, 0.3, 0.4]),
        (37, 8, 140 / 3, [0, 20, 40]),  # a tick every third row: the lowest axis that reaches 37
        (0.0, 5, 1, [0, 0.5, 1]),  # an idle server still gets a frame
        (float("nan"), 5, 1, [0, 0.5, 1]),
    ],
)
def test_row_ticks_pick_the_lowest_round_axis(top, rows, axis, ticks):
    got_axis, got = row_ticks(top, rows)
    assert math.isclose(got_axis, axis) and got == pytest.approx(ticks)


def test_span_ticks_cover_the_span_in_at_most_so_many():
    assert span_ticks(29, 5) == [0, 10, 20, 30]
    assert span_ticks(10, 5) == [0, 5, 10]
    assert span_ticks(900, 5) == [0, 500, 1000]
    assert span_ticks(0.5, 5) == pytest.approx([0, 0.2, 0.4, 0.6])
    for span in (0.3, 7, 29, 61, 900):
        for most in (2, 3, 5, 9):
            ticks = span_ticks(span, most)
            assert 2 <= len(ticks) <= most and ticks[-1] >= span and _step_is_nice(ticks[1])


def test_labels_have_the_decimals_of_their_step():
    assert [label(v, 0.5) for v in (0, 0.5, 1.0)] == ["0.0", "0.5", "1.0"]
    assert [label(v, 20) for v in (0, 20, 40)] == ["0", "20", "40"]
    assert label(0.30000000000000004, 0.1) == "0.3"
    assert label(-0.0, 1) == "0" and label(0.002, 0.001) == "0.002"


def test_range_ticks_cover_the_data_at_round_steps_without_starting_at_zero():
    """Bench's x axis (req/s from 38 to 70): plotext's own ticks read 38.0 46.0 54.1 62.2 70.2."""
    assert range_ticks(38.0, 70.2, 5) == [20.0, 40.0, 60.0, 80.0]
    assert range_ticks(38.0, 70.2, 6) == [30.0, 40.0, 50.0, 60.0, 70.0, 80.0]
    assert range_ticks(1000.0, 1003.0, 5) == [1000.0, 1001.0, 1002.0, 1003.0]
    assert range_ticks(5.0, 5.0, 4)[0] <= 5.0  # one point: a frame around it
    for lo, hi, most in ((0.3, 0.9, 4), (23.4, 91.3, 3), (1e-3, 7e4, 8)):
        found = range_ticks(lo, hi, most)
        assert 2 <= len(found) <= most and found[0] <= lo and found[-1] >= hi, found


@pytest.mark.parametrize("rows", [4, 5, 6, 7, 11])
def test_snug_row_ticks_top_a_p99_of_130_at_150(rows):
    """Bench at 80x24: a p99 of 130.4 on 6 rows got an axis to 250 (5 rows: 200)."""
    axis, ticks = snug_row_ticks(130.4, rows)
    assert axis == 150 and ticks == [0, 50, 100, 150]
    rows_at = [round(t / axis * (rows - 1)) for t in ticks]
    assert len(set(rows_at)) == len(ticks)  # each tick on a row of its own


@pytest.mark.parametrize("top", [0.0, 0.37, 3.7, 37.0, 48.4, 99.9, 130.4, 12345.0])
@pytest.mark.parametrize("rows", [2, 3, 5, 8, 13])
def test_snug_row_ticks_never_above_the_exact_ones(top, rows):
    axis, ticks = snug_row_ticks(top, rows)
    assert axis >= top and axis <= row_ticks(top, rows)[0] + 1e-9 and ticks[0] == 0
    for t in ticks:
        at = t / axis * (rows - 1)
        assert abs(at - round(at)) <= 1 / 3 + 1e-6
