"""Metrics pane: per-model rates from counter deltas (sortable, / filter, ensembles expand into their steps),
15 minutes of charts for the selected model and the server, GPU and CPU gauges; polled in a worker at a
rate the user sets (0.5-10 s) and can pause."""

from __future__ import annotations

import math
import re

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static
from textual_plotext import PlotextPlot

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client.client import TritonClient
from triton_console.tui.core.server import metrics as mt
from triton_console.tui.core.server.controller import ServerController
from triton_console.tui.messages import MetricsPolled
from triton_console.tui.text import cell, middle_cut, plain
from triton_console.tui.text import name as name_cell
from triton_console.tui.widgets import ticks
from triton_console.tui.widgets.filterbox import FilterBox
from triton_console.tui.widgets.rowlist import Column, RowList
from triton_console.tui.workers import work

INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0)
SORTS = ("inf_s", "name", "queue_ms", "compute_ms", "fail_s", "avg_batch")
CHARTS = ("model", "batch", "gpu", "cpu")
# what each set of charts plots, in the head: "chart model (c)" read as if c chose the model
CHART_NAMES = {"model": "model", "batch": "batch", "gpu": "GPU", "cpu": "CPU"}
# times are ms per request. Where the names would be cut (80 columns, an ensemble's steps shown) exec/s (it
# is inf/s over batch), then in and out (mostly a small part of a request) make room
COLUMNS = (
    Column("model", "model"),
    Column("inf_s", "inf/s", 7),
    Column("exec_s", "exec/s", 6, drop=1),
    Column("avg_batch", "batch", 5),
    Column("queue_ms", "queue", 6),
    Column("input_ms", "in", 5, drop=2),
    Column("infer_ms", "infer", 6),
    Column("output_ms", "out", 5, drop=3),
    Column("fail_s", "fail/s", 6),
    Column("pending", "pend", 4),
)
CHART_FRAME = 5  # rows of a chart that are not plot rows: title, frame top and bottom, x ticks, x label
HEAD_LINES = 2  # the header's lines (its max-height)
URL_SHORTEST = 24  # a metrics URL in the header is cut to this at most
URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s;·]+")  # a URL in the header's text
CHILD = "\0"  # key of a step row under its ensemble: "<ensemble>\0<step>"

# each series its own glyph, so two lines read apart without colour (NO_COLOR): queue and compute were alike
SERIES_MARKERS = ("•", "+", "x", "o")


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def gauges_text(point: mt.Point | None) -> Text:
    """GPU and CPU in one or two lines (a pure function of the poll)."""
    if point is None:
        return Text("")
    parts = []
    for i, (uuid, g) in enumerate(sorted(point.gpus.items())):
        used, total = g.get("mem_used", 0) / 2**30, g.get("mem_total", 0) / 2**30
        parts.append(
            f"GPU{i} {g.get('util', 0) * 100:.0f}%  mem {used:.1f}/{total:.1f} GiB  {g.get('power', 0):.0f} W"
            + (f" ({uuid[-8:]})" if len(point.gpus) > 1 else "")
        )
    if point.cpu and (point.cpu.get("mem_total") or point.cpu.get("util")):
        c = point.cpu
        parts.append(
            f"CPU {c.get('util', 0) * 100:.0f}%  mem {c.get('mem_used', 0) / 2**30:.1f}/{c.get('mem_total', 0) / 2**30:.1f} GiB"
        )
    if not parts:
        parts.append("no GPU or CPU gauges from this server")
    return plain("   ".join(parts))


def chart_title(what: str, of: str, room: int, short: str = "", name: bool = False) -> str:
    """``what`` (the quantity and its unit) and whose it is, in ``room`` cells: plotext drops a title that
    does not fit rather than cutting it, which left the model chart untitled for a long model name.

    Where both do not fit, ``what`` is shortened first (``short``). A chart that ``name``s its model then
    shows the name alone (whole where it fits: the legend says what is plotted; it was cut to
    ``effi…e0_ort``); another drops it (the chart beside it names it)."""
    room = max(1, room)
    tries = [f"{of} · {what}", f"{of} · {short}" if short else ""] if of else []
    tries += [of] if of and name else [what]
    for title in tries:
        if title and len(title) <= room:
            return title
    return middle_cut(Text(of if of and name else what), room).plain


class MetricsPane(Vertical):
    BINDINGS = [
        Binding("plus,equals_sign", "faster", "Faster", id="metrics.faster"),
        Binding("minus", "slower", "Slower", id="metrics.slower"),
        Binding("p", "pause", "Pause", id="metrics.pause"),
        Binding("s", "sort", "Sort", id="metrics.sort"),
        Binding("c", "chart", "Chart", id="metrics.chart", show=False),  # in help: "q Quit" fits at 80
        Binding("enter", "expand", "Expand", id="metrics.expand"),
        Binding("slash", "filter", "Filter", id="metrics.filter"),
    ]
    DEFAULT_CSS = """
    MetricsPane #metrics-head { height: auto; max-height: 2; padding: 0 1; color: $text-muted; }
    MetricsPane #rates { height: 1fr; min-height: 4; }
    MetricsPane #charts { height: 10; }
    MetricsPane PlotextPlot { width: 1fr; }
    MetricsPane #gauges { height: auto; max-height: 2; padding: 0 1; }
    MetricsPane #metrics-responses { height: auto; max-height: 2; padding: 0 1; display: none; }
    """

    def __init__(self, controller: ServerController, poll: bool = True, **kw) -> None:
        super().__init__(**kw)
        self.controller = controller
        self.poll = poll  # off: points come only through show() (snapshot tests)
        self.interval = 1.0
        self.paused = False
        self.sort = "inf_s"
        self.chart = "model"
        self.expanded: set[str] = set()
        self.history = mt.History()
        self.last: mt.Point | None = None
        self.missing: list[str] = []
        self._poller: mt.Poller | None = None
        self._client: TritonClient | None = None
        self._timer = None
        self.polls = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="metrics-head")
        yield FilterBox("filter models; esc closes", "#rates", id="metrics-filter")
        rates = RowList(COLUMNS, self._cells, id="rates", cursor_mark="›")
        rates.set_search(lambda key: key.lower())
        rates.set_parent(lambda key: key.partition(CHILD)[0] if CHILD in key else None)
        yield rates
        yield Static("", id="metrics-responses")  # a decoupled model's responses, when one is selected
        with Horizontal(id="charts"):
            yield PlotextPlot(id="chart-a")
            yield PlotextPlot(id="chart-b")
        yield Static("", id="gauges")

    def on_mount(self) -> None:
        self._head()

    def on_show(self) -> None:
        """Polling starts the first time the pane is shown, then keeps the history going."""
        if self._timer is None and self.poll:
            self._timer = self.set_interval(self.interval, self._tick)
            self._tick()

    def focus_default(self) -> None:
        self.query_one("#rates").focus()

    # ------------------------------------------------------------------ polling
    def _tick(self) -> None:
        if self.paused or self.controller.holding():  # --start: not another server's metrics meanwhile
            return
        client = self.controller.client
        if client is not self._client:  # another server: a fresh base and history
            self._client, self._poller = client, mt.Poller(client)
            self.history, self.last, self.expanded = mt.History(), None, set()
        self._poll(self._poller, client.url)

    @work(thread=True, exclusive=True, group="metrics")
    def _poll(self, poller: mt.Poller, url: str) -> None:
        try:
            self.post_message(MetricsPolled(url, poller.poll()))
        except ConsoleError as exc:
            self.post_message(MetricsPolled(url, None, exc.message))

    def on_metrics_polled(self, msg: MetricsPolled) -> None:
        if self._client is None or msg.url != self._client.url:
            return
        self.polls += 1
        if msg.error:
            self.missing = [msg.error]
            self._head()
            return
        if msg.point is not None:
            self.show(msg.point)

    def show(self, point: mt.Point) -> None:
        """One poll's numbers onto the table, the charts and the gauges (the pane's one entry point)."""
        self.last = point
        self.missing = point.missing
        self.history.add(point)
        self._rows()
        self._charts()
        self.query_one("#gauges", Static).update(gauges_text(point))
        self._head()

    def _restart_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = self.set_interval(self.interval, self._tick)
        self._head()

    # ------------------------------------------------------------------ table
    def _cells(self, key: str) -> tuple:
        ensemble, _, step = key.partition(CHILD)
        name = step or ensemble
        r = self.last.models.get(name) if self.last else None
        if step:
            label = name_cell(f"  └ {step}", "dim")
        elif self.last and ensemble in self.last.steps:
            label = name_cell(("▾ " if ensemble in self.expanded else "▸ ") + ensemble, "bold")
        else:
            label = name_cell("  " + name)
        if self.controller.client.health.verdict(name) is not None:
            label = name_cell(f"✗ {name}", "bold red")  # its requests fail though the server says READY
        if r is None:
            return (label, *["-"] * (len(COLUMNS) - 1))
        return (
            label,
            cell(_num(r.inf_s, 1)),
            cell(_num(r.exec_s, 1)),
            cell(_num(r.avg_batch, 1)),
            cell(_num(r.queue_ms), "yellow" if r.queue_ms > r.compute_ms and r.queue_ms > 1 else ""),
            cell(_num(r.input_ms)),
            cell(_num(r.infer_ms)),
            cell(_num(r.output_ms)),
            cell(_num(r.fail_s, 1), "red" if r.fail_s else ""),
            cell(_num(r.pending, 0)),
        )

    def _order(self) -> list[str]:
        point = self.last
        if point is None:
            return []

        def key(name: str):
            r = point.models[name]
            return name if self.sort == "name" else -getattr(r, self.sort)

        keys = []
        for name in sorted(point.models, key=key):
            keys.append(name)
            if name in self.expanded and name in point.steps:
                keys += [f"{name}{CHILD}{step}" for step in point.steps[name]]
        return keys

    def _rows(self) -> None:
        rates = self.query_one("#rates", RowList)
        keys = self._order()
        # as _cells draws them: "▸ name" (or "  name"), a step "  └ name", after the cursor's mark
        rates.fit(
            "model",
            max((len(k.partition(CHILD)[2]) + 5 if CHILD in k else len(k) + 3 for k in keys), default=8),
        )
        rates.set_keys(keys, changed=keys)

    def _head(self) -> None:
        state = "paused" if self.paused else f"every {self.interval:g} s"
        sources = " + ".join(self.last.sources) if self.last else "waiting for the second poll…"
        if self.last is not None and not self.last.sources:
            # nothing to show: say why first, where a narrow terminal still shows it
            text = "no source answered: " + "; ".join(self.missing) + f" · {state} (+/- p)"
        else:
            following = CHARTS[(CHARTS.index(self.chart) + 1) % len(CHARTS)]
            text = (
                f"{sources} · {state} (+/- p) · ms per request · sort {self.sort} (s) · "
                f"charts: {CHART_NAMES[self.chart]} (c: {CHART_NAMES[following]}) · ⏎ expands ▸"
            )
            if self.missing:
                text += " · missing: " + "; ".join(self.missing)
        sick = self.controller.client.health.verdicts()
        if sick:  # first, where a narrow terminal still shows it
            text = "; ".join(f"{n} {v.describe()}" for n, v in sorted(sick.items())) + " · " + text
        head = self.query_one("#metrics-head", Static)
        head.update(plain(self._fit_url(text, head.content_region.width), limit=600))

    def _fit_url(self, text: str, width: int) -> str:
        """``text`` with the URLs in it (the metrics URL) cut in their middle (``https://triton-m…:8002/metrics``)
        as much as it takes to keep the header within its lines (a long URL pushed the sort, the charts and ⏎
        out of them at 80 columns); a URL is cut to ``URL_SHORTEST`` cells at most, what still does not fit
        is cut where the header ends."""
        urls = set(URL.findall(text))
        console = self.app.console

        def lines(candidate: str) -> int:
            return len(plain(candidate, limit=600).wrap(console, width))

        if not width or not urls or lines(text) <= HEAD_LINES:
            return text

        def cut(cells: int) -> str:
            out = text
            for url in urls:
                out = out.replace(url, middle_cut(Text(url), cells).plain)
            return out

        low, high = URL_SHORTEST, max(len(u) for u in urls) - 1  # the longest cut that fits
        best = cut(low)
        while low <= high:
            mid = (low + high) // 2
            if lines(cut(mid)) <= HEAD_LINES:
                best, low = cut(mid), mid + 1
            else:
                high = mid - 1
        return best

    # ------------------------------------------------------------------ charts
    def _selected(self) -> str | None:
        key = self.query_one("#rates", RowList).cursor_key
        if key is None:
            return None
        ensemble, _, step = key.partition(CHILD)
        return step or ensemble

    def _plot(
        self,
        widget_id: str,
        what: str,
        series: list[tuple[str, list[float], list[float]]],
        of: str = "",
        short: str = "",
        name: bool = False,
    ) -> None:
        """One chart: titled with what it plots and its unit (``of`` whom, where the width allows), from 0
        to a round top with round ticks on its rows, over the seconds it has, also at round ticks."""
        widget = self.query_one(widget_id, PlotextPlot)
        width, height = widget.size.width or 40, widget.size.height or 10
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        for (label, xs, ys), marker in zip(series, SERIES_MARKERS, strict=False):
            if xs:
                plt.plot(xs, ys, label=label, marker=marker)
        # every series is a rate, a time or a share: the axis starts at 0, and an idle server or a single
        # point gets a sensible frame instead of plotext's -1..1 around nothing
        top = max((y for _, _, ys in series for y in ys if math.isfinite(y)), default=0.0)
        axis, yticks = ticks.row_ticks(top, height - CHART_FRAME)
        ylabels = [ticks.label(y, yticks[1]) for y in yticks]
        plt.ylim(0, axis)
        plt.yticks(yticks, ylabels)
        oldest = min((x for _, xs, _ in series for x in xs), default=0.0)
        xticks = ticks.span_ticks(max(-oldest, 10 * self.interval), most=max(2, width // 8))
        plt.xlim(-xticks[-1], 0)
        plt.xticks([-x for x in xticks], [ticks.label(x, xticks[1]) for x in xticks])
        plt.xlabel("seconds ago")
        plt.title(chart_title(what, of, width - max(map(len, ylabels)), short, name))
        widget.refresh()

    def _responses(self, model: str | None) -> None:
        """The selected decoupled model's responses (or that the server does not report them): one line."""
        line = self.last.responses_line(model) if self.last and model else None
        widget = self.query_one("#metrics-responses", Static)
        widget.display = line is not None
        widget.update(plain(line or "", limit=300))

    def _charts(self) -> None:
        h = self.history
        model = self._selected()
        self._responses(model)
        if self.chart == "model" and model:
            r = self.last.models.get(model) if self.last else None
            streams = r is not None and r.resp_s is not None  # a decoupled model: its responses too
            self._plot(
                "#chart-a",
                "inferences, responses/s" if streams else "inferences/s",
                [("inf/s", *h.series(model, "inf_s"))]
                + ([("responses/s", *h.series(model, "resp_s"))] if streams else []),
                of=model,
                short="inf, resp/s" if streams else "inf/s",
                name=True,
            )
            self._plot(
                "#chart-b",
                "queue vs compute, ms/request",
                [("queue", *h.series(model, "queue_ms")), ("compute", *h.series(model, "compute_ms"))],
                of=model,
            )
        elif self.chart == "batch" or (self.chart == "model" and not model):
            self._plot(
                "#chart-a",
                "average batch, requests",
                [("batch", *h.series(model or "", "avg_batch"))],
                of=model or "no model",
                short="batch",
                name=True,
            )
            self._plot(
                "#chart-b", "inferences/s", [("total", *h.server(lambda p: p.total_inf_s))], of="server"
            )
        elif self.chart == "gpu":
            gpus = sorted(self.last.gpus) if self.last else []
            # a server without GPUs (or without GPU metrics) drew two empty framed charts and said nothing
            none = "no GPU metrics from this server" if self.last and not gpus else ""
            self._plot(
                "#chart-a",
                none or "GPU utilisation, %",
                [
                    (f"GPU{i}", *h.server(lambda p, u=u: p.gpus.get(u, {}).get("util", 0) * 100))
                    for i, u in enumerate(gpus)
                ],
            )
            self._plot(
                "#chart-b",
                none or "GPU memory GiB, power W",
                [
                    (f"GPU{i} mem", *h.server(lambda p, u=u: p.gpus.get(u, {}).get("mem_used", 0) / 2**30))
                    for i, u in enumerate(gpus)
                ]
                + [
                    (f"GPU{i} W", *h.server(lambda p, u=u: p.gpus.get(u, {}).get("power", 0)))
                    for i, u in enumerate(gpus)
                ],
            )
        else:
            self._plot(
                "#chart-a", "CPU utilisation, %", [("cpu", *h.server(lambda p: p.cpu.get("util", 0) * 100))]
            )
            self._plot(
                "#chart-b",
                "host memory used, GiB",
                [("mem", *h.server(lambda p: p.cpu.get("mem_used", 0) / 2**30))],
            )

    def on_resize(self) -> None:
        """The ticks and the titles are fitted to the charts' size, the header's URL to its width: fit them
        again (the header after the layout, at its new width)."""
        if self.last is not None:
            self._charts()
        self.call_after_refresh(self._head)

    @on(RowList.Highlighted, "#rates")
    def _highlighted(self) -> None:
        self._charts()

    # ------------------------------------------------------------------ actions
    def action_faster(self) -> None:
        self.interval = INTERVALS[max(0, INTERVALS.index(self.interval) - 1)]
        self._restart_timer()

    def action_slower(self) -> None:
        self.interval = INTERVALS[min(len(INTERVALS) - 1, INTERVALS.index(self.interval) + 1)]
        self._restart_timer()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._head()

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._rows()
        self._head()

    def action_chart(self) -> None:
        self.chart = CHARTS[(CHARTS.index(self.chart) + 1) % len(CHARTS)]
        self._charts()
        self._head()

    def action_expand(self) -> None:
        """⏎ on an ensemble (▸) shows its steps, again hides them; on a step it folds its ensemble; on
        another row it says why nothing expands (it did nothing, silently)."""
        rates = self.query_one("#rates", RowList)
        key = rates.cursor_key
        if key is None:
            return
        ensemble, _, step = key.partition(CHILD)
        if step:  # back onto the ensemble, folded
            self.expanded.discard(ensemble)
            self._rows()
            if ensemble in rates.keys:
                rates.move_cursor(rates.get_row_index(ensemble))
            return
        if not self.last or key not in self.last.steps:
            self.app.notify(f"{key} is not an ensemble (no ▸): nothing to expand")
            return
        self.expanded ^= {key}
        self._rows()

    def action_filter(self) -> None:
        self.query_one("#metrics-filter", FilterBox).open()

    @on(Input.Changed, "#metrics-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.query_one("#rates", RowList).filter(event.value)

    @on(Input.Submitted, "#metrics-filter")
    def _filter_done(self) -> None:
        self.query_one("#rates").focus()

    def close_filter(self) -> bool:
        return self.query_one("#metrics-filter", FilterBox).close()
