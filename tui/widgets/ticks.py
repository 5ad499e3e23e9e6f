"""Round axis ticks for the text charts: plotext spaces its own ticks evenly over the data (3.7, 7.4, 11.1)
and drops those that share a row, so a reader cannot tell a row's value at a glance. Pure functions: the
pane asks for ticks, then hands them to plotext's ``yticks``/``xticks``."""

from __future__ import annotations

import math

MANTISSAS = (1, 2, 5)


def nice_steps(at_least: float):
    """The 1/2/5 x 10^k steps from the first one >= ``at_least`` upwards (``at_least`` > 0)."""
    k = math.floor(math.log10(at_least))
    while True:
        for m in MANTISSAS:
            step = m * 10.0**k
            if step >= at_least * (1 - 1e-9):
                yield step
        k += 1


def decimals(step: float) -> int:
    """How many decimals a tick needs for its step to show (0.5 → 1, 0.02 → 2, 20 → 0)."""
    return max(0, -math.floor(math.log10(step) + 1e-9))


def label(value: float, step: float) -> str:
    """``value`` with the decimals its axis' ``step`` needs, so that a column of ticks lines up."""
    text = f"{value:.{decimals(step)}f}"
    return text.lstrip("-") if float(text) == 0 else text  # never "-0"


def row_ticks(top: float, rows: int) -> tuple[float, list[float]]:
    """Ticks from 0 for a ``rows``-row axis that must reach ``top``: (the axis' top, the ticks).

    Each tick is a multiple of one 1/2/5 x 10^k step and sits exactly on a row (a tick between rows is
    drawn on the nearer one, beside values it does not have); three ticks at least where the rows allow;
    of the choices the lowest axis top wins, so the data fills as much of the chart as it can."""
    top = top if math.isfinite(top) and top > 0 else 1.0
    rows = max(2, rows)
    gaps = rows - 1
    most_rows_apart = max(1, gaps // 2)  # tick every m rows, m small enough for 0, s, 2s
    best: tuple[float, float] | None = None  # (axis top, step)
    for every in range(1, most_rows_apart + 1):
        # the axis top is step * gaps / every; the smallest nice step reaching `top`
        step = next(nice_steps(top * every / gaps))
        axis = step * gaps / every
        if best is None or axis < best[0] - 1e-9:
            best = (axis, step)
    axis, step = best
    count = math.floor(axis / step + 1e-9) + 1
    return axis, [round(i * step, decimals(step) + 1) for i in range(count)]


def span_ticks(span: float, most: int) -> list[float]:
    """At most ``most`` ticks from 0 that cover ``span`` (> 0), the last one >= ``span``: for an axis
    with room to spare (columns), where a tick between two cells is off by less than a cell."""
    span = span if math.isfinite(span) and span > 0 else 1.0
    most = max(2, most)
    for step in nice_steps(span / (most - 1)):
        count = math.ceil(span / step - 1e-9) + 1
        if count <= most:
            return [round(i * step, decimals(step) + 1) for i in range(count)]
    raise AssertionError("unreachable: a step as large as span gives two ticks")


def range_ticks(lo: float, hi: float, most: int) -> list[float]:
    """At most ``most`` ticks at multiples of one 1/2/5 x 10^k step, the first <= ``lo`` and the last >= ``hi``:
    for an axis that need not start at 0 (a throughput from 38 to 70 req/s reads 30 40 50 60 70)."""
    lo = lo if math.isfinite(lo) else 0.0
    hi = hi if math.isfinite(hi) and hi > lo else lo + max(1.0, abs(lo))
    most = max(2, most)
    for step in nice_steps((hi - lo) / (most - 1)):
        first = math.floor(lo / step + 1e-9)
        last = math.ceil(hi / step - 1e-9)
        if last - first + 1 <= most:
            return [round(i * step, decimals(step) + 1) for i in range(first, last + 1)]
    raise AssertionError("unreachable: a step as large as the span gives two or three ticks")


def snug_row_ticks(top: float, rows: int) -> tuple[float, list[float]]:
    """:func:`row_ticks`, unless a round axis top closer above ``top`` is there: a multiple of a 1/2/5 x 10^k
    step, ticked at every step, each tick within a third of a row of its row and on a row of its own.

    On few rows the ticks exactly on rows can only reach far above the data (a p99 of 130.4 on 6 rows: 0 to
    250, a tick a row; on 5 rows 0 to 200): 0 50 100 150 reads the data's top at a glance, each tick on the
    row its values are drawn on (plotext draws a value on its nearest row)."""
    exact_axis, exact = row_ticks(top, rows)
    top = top if math.isfinite(top) and top > 0 else 1.0
    gaps = max(2, rows) - 1
    for step in nice_steps(top / gaps):
        n = max(2, math.ceil(top / step - 1e-9))  # the axis top a tick, three ticks at least
        if n * step >= exact_axis - 1e-9:
            break  # no closer than the ticks exactly on rows; larger steps reach higher still
        if n > gaps:
            continue  # a tick a row at most
        at = [i * gaps / n for i in range(n + 1)]
        if all(abs(a - round(a)) <= 1 / 3 + 1e-9 for a in at):
            return n * step, [round(i * step, decimals(step) + 1) for i in range(n + 1)]
    return exact_axis, exact
