"""Bench pane: a concurrency sweep (or request rates) of any ready model with live progress, a chart of
throughput against p50/p95/p99 latency with saved runs overlaid, the server-side breakdown per step; and
a comparison of two models on the same inputs.

The load runs in its own process (``triton-console bench --progress``): a saturating load in this process
would take the GIL from the event loop. Header values reach that process through its environment only.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, ProgressBar, Select, Static

from triton_console.common.errors import ConsoleError
from triton_console.tui.childjob import ChildJob, files_argv
from triton_console.tui.core.client.client import check_model_name
from triton_console.tui.core.client.flags import connection_argv
from triton_console.tui.core.load import compare, loadgen
from triton_console.tui.core.load.inputs import AUTO, Inputs, image_candidates, resolve_inputs  # noqa: F401 (re-exported)
from triton_console.tui.core.server.controller import ServerController, ServerSnapshot
from triton_console.tui.hints import worded
from triton_console.tui.text import cell, fit_paths, join, plain
from triton_console.tui.widgets import ticks
from triton_console.tui.widgets.chart import FittedPlot, Series, legend
from triton_console.tui.widgets.nameselect import NameSelect
from triton_console.tui.widgets.table import PlainTable
from triton_console.tui.widgets.textbox import TextBox
from triton_console.tui.workers import work

ENGINES = ("triton-console", "perf_analyzer")
ALIASES = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # the compared models in the compare table, named in the key under it

# each series its own glyph and colour, named in the legend line under the chart (plotext's own legend sat
# on the lines at 80x24): the glyphs tell them apart without colour (NO_COLOR, a monochrome terminal)
MARKERS = {"p50": "•", "p95": "+", "p99": "x"}
COLORS = {"p50": (0, 130, 200), "p95": (60, 180, 75), "p99": (230, 25, 75)}
OTHER_RUNS = (("o", (245, 130, 48)), ("*", (145, 30, 180)), ("~", (70, 240, 240)))  # earlier runs' p50
CHART_FRAME = 4  # rows of the chart that are not plot rows: title, frame top and bottom, x ticks


def when(runs: list[loadgen.Run]) -> list[str]:
    """The runs' short names in the legend, told apart: each its time (``14:03``), its date before it where
    the date changes from the run before it in the legend (``12-02 14:03``), the first's only when it is
    not today; seconds too where two runs share a minute. (The date alone named three runs of one day
    alike: ``o p50 12-02  * p50 12-02  ~ p50 12-02``.)"""
    local = [time.localtime(r.started) for r in runs]
    minutes = [time.strftime("%Y-%m-%d %H:%M", t) for t in local]
    names = []
    day = time.localtime()[:3]
    for t, minute in zip(local, minutes, strict=True):
        clock = "%H:%M:%S" if minutes.count(minute) > 1 else "%H:%M"
        names.append(time.strftime(clock if t[:3] == day else f"%m-%d {clock}", t))
        day = t[:3]
    return names


def run_points(run: loadgen.Run) -> tuple[list[float], list[float]]:
    """A saved run's p50 line: latency against req/s, or TTFT against responses/s for a decoupled model."""
    points = [
        (s.responses_per_s, s.ttft.p50)
        if isinstance(s, loadgen.StreamStep)
        else (s.throughput, s.latency.p50)
        for s in run.steps
    ]
    points = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
    return [x for x, _ in points], [y for _, y in points]


@dataclass
class BenchEvent(Message):
    """A line from the bench process: progress, a finished step, the whole run, or an error."""

    event: dict


@dataclass
class VsSuggested(Message):
    model: str


def failed_step(step: dict) -> bool:
    """A step in which every request failed: no latency to chart, no throughput to speak of."""
    return not step.get("count") and bool(step.get("errors"))


def first_error(step: dict) -> str:
    """A step's first error as the headless ``bench`` prints it (``first server error: ...``)."""
    for kind, message in (step.get("first_error_by_kind") or {}).items():
        if message:
            return f"first {kind}: {message}"
    return f"first error: {step['first_error']}" if step.get("first_error") else ""


@dataclass
class SavedRuns(Message):
    """Saved runs of a model (newest first), read in a worker, for the overlay (o)."""

    model: str
    runs: list[loadgen.Run]


@dataclass
class CompareDone(Message):
    result: compare.Comparison | None
    error: str | None
    source: str = ""  # where the images came from, when the inputs box said auto
    paths: list[str] = field(default_factory=list)  # the images (or their folder) named in ``source``


def bench_argv(
    controller: ServerController,
    model: str,
    inputs: str | list[str],
    levels: str,
    requests: int,
    engine: str,
    shm: str,
) -> tuple[list[str], dict, str | None]:
    """The bench command for the active connection, the environment carrying its header values, and its
    stdin: the image paths, listed there (``--files-from -``) rather than on the command line.

    ``inputs``: the inputs box as typed (images, NAME=SPEC words or random), or a list of image paths (the
    Classify pane's last: a folder's files that classified, thousands of them, the failed ones left out)."""
    flags, env = connection_argv(controller.client.connection, controller.client.endpoint)
    argv = [sys.executable, "-m", "triton_console", "bench", "-m", model, *flags]
    argv += ["--sweep", levels, "--requests", str(requests), "--engine", engine, "--shm", shm]
    argv += ["--save", "--progress"]
    words = inputs.split() if isinstance(inputs, str) else list(inputs)
    specs = [w for w in words if "=" in w]
    paths = [w for w in words if "=" not in w and w != "random"]
    for s in specs:
        argv += ["--input", s]
    files, stdin = files_argv(paths)
    return argv + files, env, stdin


def app_image_candidates(app, given: list[str]) -> tuple[list[str], str]:
    """``auto``'s images, read on the main thread: what the Classify pane last used and the folder its tree
    shows, else ``given`` (the command line's); the Tune pane's ``auto`` reads them here too."""
    last_used, folder = [], None
    for classify in app.query("ClassifyPane"):
        last_used, folder = classify.last_paths, classify.folder
    return image_candidates(last_used, given, folder)


class BenchPane(Vertical):
    BINDINGS = [
        Binding("b", "run", "Run", id="bench.run"),
        Binding("x", "cancel", "Cancel", id="bench.cancel"),
        Binding("m", "compare", "Compare", id="bench.compare"),
        Binding("o", "overlay", "Overlay runs", id="bench.overlay"),
    ]
    DEFAULT_CSS = """
    BenchPane #form { height: 1; margin: 0 1; }
    BenchPane #form Label, BenchPane #form2 Label { width: auto; margin: 0 1 0 1; color: $text-muted; }
    BenchPane #bench-model { width: 3fr; }
    BenchPane #bench-vs { width: 1fr; }
    BenchPane #bench-inputs { width: 2fr; }
    BenchPane #bench-levels { width: 12; }
    BenchPane #bench-requests { width: 7; }
    BenchPane #form2 { height: 1; margin: 0 1; }
    BenchPane #bench-engine { width: 18; }
    BenchPane #bench-shm { width: 12; }
    BenchPane #bench-status { height: auto; max-height: 3; padding: 0 1; }
    BenchPane ProgressBar { margin: 0 1; height: 1; }
    BenchPane #body { height: 1fr; }
    BenchPane #bench-plot { width: 1fr; }
    BenchPane PlotextPlot { height: 1fr; }
    BenchPane #bench-legend { height: auto; max-height: 3; padding: 0 1; }
    BenchPane #bench-table { width: auto; max-width: 85%; }
    BenchPane #bench-detail { height: auto; max-height: 4; padding: 0 1; }
    """

    def __init__(self, controller: ServerController, images: list[str] | None = None, **kw) -> None:
        super().__init__(**kw)
        self.controller = controller
        self.images = list(images or [])  # given on the command line
        self.models: list[str] = []
        self.run: loadgen.Run | None = None
        self.steps: list[dict] = []
        self.saved: str | None = None
        self._options_stale = False  # models changed while the pane was hidden
        self.source = ""  # where the last run's inputs came from, when the box said auto
        self.source_paths: list[str] = []  # the paths named in it (shortened to fit a status line)
        self.bench_model: str | None = None  # the model of the run charted
        self.session: list[loadgen.Run] = []  # the runs finished in this console session, oldest first
        self.overlay = False  # saved runs of other sessions on the chart too (o)
        self.saved_runs: list[loadgen.Run] = []  # of bench_model, read when o turns the overlay on
        self._job: ChildJob | None = None
        self._cancel = threading.Event()
        self._stop_note: str | None = None  # why the pane stopped the run (the server going away)
        self._stopped_early: str | None = None  # why the run itself stopped (a broken model, no server)

    def compose(self) -> ComposeResult:
        with Horizontal(id="form"):
            yield Label("model")
            yield NameSelect([], prompt="no ready model", id="bench-model", compact=True)
            yield Label("inputs")
            yield TextBox(
                AUTO,
                id="bench-inputs",
                compact=True,
                enter="Run",
                placeholder="auto, images, NAME=SPEC ... or random",
            )
            yield Label("sweep")
            yield TextBox("1,2,4,8", id="bench-levels", compact=True, enter="Run")
            yield Label("req")
            # letters never go in (type integer); what is left to refuse, 0 or an empty box, is said at run
            yield TextBox("100", id="bench-requests", compact=True, enter="Run", type="integer")
        with Horizontal(id="form2"):
            yield Label("engine")
            yield Select(
                [(e, e) for e in ENGINES],
                value="triton-console",
                allow_blank=False,
                id="bench-engine",
                compact=True,
            )
            yield Label("shm")
            yield Select(
                [(k, k) for k in ("none", "system", "cuda")],
                value="none",
                allow_blank=False,
                id="bench-shm",
                compact=True,
            )
            yield Label("vs")
            yield NameSelect([], prompt="model to compare", id="bench-vs", compact=True)
        yield ProgressBar(total=1, show_eta=False, id="bench-progress")
        yield Static(
            "b runs a sweep (saved; o overlays older ones), m compares with the 'vs' model",
            id="bench-status",
        )
        with Horizontal(id="body"):
            with Vertical(id="bench-plot"):
                yield FittedPlot(id="bench-chart")
                yield Static("", id="bench-legend")
            table = PlainTable(id="bench-table", cursor_type="row", zebra_stripes=True)
            table.add_columns("level", "req/s", "p50", "p95", "p99", "err")
            yield table
        yield Static("", id="bench-detail")

    def focus_default(self) -> None:
        self.query_one("#bench-model").focus()

    def show_snapshot(self, snap: ServerSnapshot) -> None:
        models = snap.ready_sorted if snap.live else []
        if models == self.models:
            return
        self.models = models
        self._options_stale = True
        if self.is_on_screen:  # hidden, the lists wait for the pane to show: 2 x 20,000 options cost the loop
            self._fill_models()

    def on_show(self) -> None:
        if self._options_stale:
            self._fill_models()

    def _fill_models(self) -> None:
        self._options_stale = False
        from triton_console.tui.core.client.client import preferred_model

        models = self.models
        chosen = self.query_one("#bench-model", NameSelect)
        current = chosen.value
        chosen.set_names(models)  # no blank entry once models are ready: picked, it read "no ready model"
        if current in models:
            chosen.value = current
        elif models:
            chosen.value = preferred_model(models)
        vs = self.query_one("#bench-vs", Select)  # blank here means no comparison
        current = vs.value
        vs.set_options([(Text(m), m) for m in models])
        if current in models:
            vs.value = current

    @property
    def model(self) -> str | None:
        value = self.query_one("#bench-model", Select).value
        return value if isinstance(value, str) else None

    @on(Select.Changed, "#bench-model")
    def _model_changed(self) -> None:
        """An ensemble's natural comparison: its backbone, with client-side preprocessing."""
        model = self.model
        if model:
            self._suggest_vs(model)

    @work(thread=True, exclusive=True, group="bench-vs")
    def _suggest_vs(self, model: str) -> None:
        with contextlib.suppress(ConsoleError):
            info = self.controller.client.model_info(model)
            if info.is_ensemble and len(info.steps) >= 2:
                self.post_message(VsSuggested(info.steps[1]))

    def on_vs_suggested(self, msg: VsSuggested) -> None:
        select = self.query_one("#bench-vs", Select)
        if msg.model in self.models and select.value != msg.model:
            select.value = msg.model

    # ------------------------------------------------------------------ bench
    @on(Input.Submitted)
    def _submitted(self) -> None:
        """Enter in a box runs the sweep, and the focus goes back to the pane (as in Tune and Classify): b, x,
        m and o must not become typed text."""
        self.focus_default()
        self.action_run()

    def action_run(self) -> None:
        if self._job is not None or any(w.group == "bench" and w.is_running for w in self.workers):
            self.app.notify("a bench is running (x cancels it)", severity="warning")
            return
        requests = self.query_one("#bench-requests", Input).value.strip()
        if not requests.isdigit() or int(requests) <= 0:  # it ran 100 requests a level on "abc" or "0"
            self.app.notify(
                f"req {requests or '(empty)'}: give the requests per level as a whole number above 0, e.g. 100",
                severity="error",
            )
            return
        model = self.model
        if not model:
            self.app.notify("no ready model to bench", severity="warning")
            return
        levels = self.query_one("#bench-levels", Input).value.strip() or "1"
        settings = (
            levels,
            int(requests),
            str(self.query_one("#bench-engine", Select).value),
            str(self.query_one("#bench-shm", Select).value),
        )
        self.steps, self.saved, self.run, self.source, self.source_paths = [], None, None, "", []
        if model != self.bench_model:
            self.bench_model, self.saved_runs = model, []
            if self.overlay:
                self._load_saved(model)
        table = self.query_one("#bench-table", PlainTable)
        table.clear(columns=True)
        table.add_columns("level", "req/s", "p50", "p95", "p99", "err")
        self._status(f"starting: {model}, sweep {levels}…")
        self._cancel.clear()
        self._stop_note = self._stopped_early = None
        self._bench(model, self._inputs_text(), self.image_candidates(), settings)

    def _inputs_text(self) -> str:
        return self.query_one("#bench-inputs", Input).value.strip()

    def image_candidates(self) -> tuple[list[str], str]:
        """Read on the main thread: what the Classify pane last used and the folder its tree shows."""
        return app_image_candidates(self.app, self.images)

    @work(thread=True, exclusive=True, group="bench")
    def _bench(self, model: str, text: str, candidates: tuple[list[str], str], settings: tuple) -> None:
        try:
            inputs = resolve_inputs(self.controller.client, model, text, candidates)
        except ConsoleError as exc:
            self.post_message(BenchEvent({"event": "error", "error": worded(exc)}))
            return
        argv, env, stdin = bench_argv(self.controller, model, inputs.words, *settings)
        if inputs.source:
            paths = [w for w in inputs.words if "=" not in w and w != "random"]
            self.post_message(BenchEvent({"event": "inputs", "source": inputs.source, "paths": paths}))
        try:
            job = ChildJob(argv, env, stdin)
        except OSError as exc:
            self.post_message(BenchEvent({"event": "error", "error": str(exc)}))
            return
        self._job = job
        for event in job.events():
            self.post_message(BenchEvent(event))
        ended = job.wait()
        self._job = None
        if ended.code not in (0, 1) and not self._cancel.is_set() and self._stopped_early is None:
            self.post_message(BenchEvent({"event": "error", "error": ended.last_line("bench failed")}))
        self.post_message(BenchEvent({"event": "done", "cancelled": self._cancel.is_set()}))

    def action_cancel(self) -> None:
        job = self._job
        if job is None:
            self.app.notify("no bench is running")
            return
        self._cancel.set()
        job.signal(signal.SIGTERM)  # its shared-memory regions are freed on SIGTERM
        self._status("cancelling…")

    def server_going(self, what: str) -> None:
        """The console is about to stop or restart the server this bench loads: end the run now, cleanly
        (the load process frees its shared memory on SIGTERM), and say why."""
        job = self._job
        if job is None:
            return
        self._stop_note = f"bench stopped: the server was {what} by the console (this run is not saved)"
        self._cancel.set()
        job.signal(signal.SIGTERM)
        self._status(self._stop_note, "yellow")

    def _step_stopped(self, step: dict) -> None:
        """A step that ended early: say why, and let the console's health record know of a broken model."""
        from triton_console.tui.core.client.health import UNHEALTHY_CODES
        from triton_console.tui.messages import PollRequested

        why = step.get("stopped")
        self._stopped_early = f"stopped early: {why}; {step.get('not_sent', 0)} request(s) not sent"
        code = step.get("stop_code")
        if code in UNHEALTHY_CODES and step.get("model"):
            first = (step.get("first_error_by_kind") or {}).values()
            message = next((m for m in first if m), why)
            self.controller.client.health.failed(step["model"], ConsoleError(message, code=code))
            self._stopped_early += " (Models: p probes it, l reloads it)"
            self.post_message(PollRequested())

    def on_bench_event(self, msg: BenchEvent) -> None:
        e = msg.event
        kind = e.get("event")
        bar = self.query_one("#bench-progress", ProgressBar)
        if kind == "inputs":
            self.source, self.source_paths = e["source"], e.get("paths", [])
            self._status(self._one_line("inputs: {}", self.source, self.source_paths))
        elif kind == "progress":
            bar.update(total=max(1, e["total"]), progress=e["done"])
            self._status(f"level {e['level']:g}: {e['done']}/{e['total']} requests (warm-up not counted)")
        elif kind == "step":
            self.steps.append(e["step"])
            self._add_step(e["step"])
            self._chart()
            if e["step"].get("stopped"):
                self._step_stopped(e["step"])
        elif kind == "run":
            self.run, self.saved = loadgen.Run.from_dict(e["run"]), e.get("saved")
            steps = [s.to_dict() for s in self.run.steps]
            failed = [s for s in steps if failed_step(s)]
            answered = len(failed) < len(steps)
            if answered:  # a run in which every request failed is no measurement: never an earlier run
                self.session.append(self.run)
                self.bench_model = self.run.model
            # the source on one line: a long folder took the status's three lines before "saved" was said
            on = " " + self._one_line("on {}", self.source, self.source_paths) if self.source else ""
            errors = sum(s.get("errors", 0) for s in steps)
            first = next((first_error(s) for s in steps if s.get("errors")), "")
            if self._stopped_early:
                self._status(self._stopped_early, "red")
            elif steps and not answered:
                self._status(
                    f"failed: every request of {len(steps)} step(s) failed{on} (not saved); {first}", "red"
                )
            else:
                note = f"; {len(failed)} step(s) failed" if failed else ""
                note += f"; {errors} error(s), {first}" if errors else ""
                self._status(
                    f"done: {len(steps)} steps{on}; warm-up {self.run.warmup}/step not counted; "
                    + ("o overlays runs" if self.saved else "not saved")
                    + note,
                    "yellow" if errors else "",
                )
            self._chart()
        elif kind == "error":
            self._status(f"bench failed: {e['error']}", "red")
        elif kind == "done" and e.get("cancelled"):
            self._status(self._stop_note or "cancelled", "yellow")

    def _add_stream_step(self, s: dict) -> None:
        """A decoupled model's step (bench streams it): responses/s and time to first response."""
        table = self.query_one("#bench-table", PlainTable)
        if len(self.steps) == 1:
            table.clear(columns=True)
            table.add_columns("streams", "resp/s", "TTFT p50", "p95", "p99", "err")
        ttft, itl = s.get("ttft_ms") or {}, s.get("itl_ms") or {}

        def ms(d, k):
            return "-" if d.get(k) is None else f"{d[k]:.1f}"

        level = s.get("concurrency", s.get("rate", 0))
        table.add_row(
            f"{level:g}",
            f"{s.get('responses_per_s') or 0:.1f}",
            ms(ttft, "p50"),
            ms(ttft, "p95"),
            ms(ttft, "p99"),
            str(s.get("errors", 0)),
        )
        self.query_one("#bench-detail", Static).update(
            plain(
                f"level {level:g}: {s.get('requests_per_s') or 0:.1f} req/s, {s.get('responses', 0)} responses; "
                f"between responses p50 {ms(itl, 'p50')} ms, p99 {ms(itl, 'p99')} ms"
            )
        )
        self._status(f"{len(self.steps)} step(s) of a streaming model done")

    def _add_step(self, s: dict) -> None:
        if "ttft_ms" in s:
            self._add_stream_step(s)
            return
        lat = s.get("latency_ms") or {}
        level = s.get("concurrency", s.get("rate"))

        def ms(k):
            return "-" if lat.get(k) is None else f"{lat[k]:.1f}"

        if failed_step(s):  # "0.0" and dashes read as a slow model, not as no answer at all
            self.query_one("#bench-table", PlainTable).add_row(
                f"{level:g}", cell("✗ failed", "red"), "-", "-", "-", str(s.get("errors", 0))
            )
            self.query_one("#bench-detail", Static).update(
                plain(f"level {level:g}: every request failed; {first_error(s)}", "red", limit=2000)
            )
            return
        self.query_one("#bench-table", PlainTable).add_row(
            f"{level:g}",
            f"{s.get('throughput') or 0:.1f}",
            ms("p50"),
            ms("p95"),
            ms("p99"),
            str(s.get("errors", 0)),
        )
        server = s.get("server") or {}
        parts = [
            f"{st['model']}: queue {st['queue_ms']:.2f} + compute {st['compute_ms']:.2f} ms (batch {st['avg_batch']:.1f})"
            for st in server.get("steps", [])
        ]
        own = server.get("ensemble_ms", server.get("model_ms"))  # an ensemble's, or a single model's
        if own is not None:
            parts.insert(0, f"server {own:.2f} ms/request")
        self.query_one("#bench-detail", Static).update(
            plain(f"level {level:g}: " + "; ".join(parts) if parts else "", multiline=True)
        )

    def _series(self) -> tuple[bool, list[Series], list[Series], list[Series], int]:
        """(streaming, this run's p50/p95/p99, this session's earlier runs, saved runs of other sessions
        when overlaid, how many saved runs there were to overlay): each earlier run as its p50 line, three
        at most, newest first; one of the three goes to the saved runs when o overlays them. A step in
        which every request failed has no point (it was drawn at 0 ms)."""
        streaming = bool(self.steps) and "ttft_ms" in self.steps[0]
        x_key, y_key = ("responses_per_s", "ttft_ms") if streaming else ("throughput", "latency_ms")
        answered = [s for s in self.steps if not failed_step(s)]
        xs = [s.get(x_key) or 0 for s in answered]
        current = [
            Series(key, MARKERS[key], COLORS[key], xs, [(s.get(y_key) or {}).get(key) or 0 for s in answered])
            for key in ("p50", "p95", "p99")
            if xs
        ]
        model = self.bench_model
        this = self.run.started if self.run else None
        mine = {r.started for r in self.session}
        earlier = [
            r
            for r in reversed(self.session)
            if r.model == model and r.streaming == streaming and r.started != this
        ]
        saved = [r for r in self.saved_runs if r.streaming == streaming and r.started not in mine]
        lines = [
            [(run, points) for run in runs if (points := run_points(run))[0]]
            for runs in (earlier, saved if self.overlay else [])
        ]
        slots = len(OTHER_RUNS)
        saved_slots = min(len(lines[1]), max(1, slots - len(lines[0])))
        glyphs = iter(OTHER_RUNS)
        others: list[list[Series]] = [[], []]
        picked = (lines[0][: slots - saved_slots], lines[1][:saved_slots])
        names = iter(when([run for runs in picked for run, _ in runs]))
        for i, runs in enumerate(picked):
            for (_, (ox, oy)), (marker, color), name in zip(runs, glyphs, names, strict=False):
                others[i].append(Series(f"p50 {name}", marker, color, ox, oy))
        return streaming, current, others[0], others[1], len(lines[1])

    def _chart(self) -> None:
        """Latency (TTFT for a decoupled model) against throughput. The y axis fits this session's runs:
        a saved run of another session (o) with 10x the latency would squash them, so its points above the
        axis are left out, and the legend says how many."""
        widget = self.query_one("#bench-chart", FittedPlot)
        width, height = widget.size.width or 40, widget.size.height or 12
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        streaming, current, earlier, saved, _ = self._series()
        plt.title("TTFT (ms) vs responses/s" if streaming else "latency (ms) vs throughput (req/s)")
        shown = current + earlier + saved
        fitted = (current + earlier) or saved
        top = max((y for s in fitted for y in s.ys if math.isfinite(y)), default=0.0)
        axis, yticks = ticks.snug_row_ticks(top, height - CHART_FRAME)
        above = sum(1 for s in saved for y in s.ys if y > axis)
        for s in [*saved, *earlier, *reversed(current)]:  # the lines: this run's p50 on top
            plt.plot(s.xs, s.ys, marker=s.marker, color=s.color)
        for s in current:  # then this run's points over every line, p99 over p95 over p50 where they meet
            plt.scatter(s.xs, s.ys, marker=s.marker, color=s.color)  # (a p99 near p95 was under its line)
        plt.ylim(0, axis)
        plt.yticks(yticks, [ticks.label(y, yticks[1]) for y in yticks])
        xs = [x for s in shown for x, y in zip(s.xs, s.ys, strict=True) if math.isfinite(x) and y <= axis]
        if xs:
            xticks = ticks.range_ticks(min(xs), max(xs), most=max(2, (width - 8) // 7))
            plt.xlim(xticks[0], xticks[-1])
            plt.xticks(xticks, [ticks.label(x, xticks[1] - xticks[0]) for x in xticks])
        widget.refresh()
        self._legend(shown, above, axis, width - 2)

    def _legend(self, shown: list[Series], above: int, axis: float, width: int) -> None:
        """The series under the chart (``• p50  + p95  x p99  o p50 14:03``) and the points above the axis."""
        extra = []
        if above:
            extra.append(
                Text(f"{above} point{'s' * (above > 1)} above {ticks.label(axis, axis / 10)} ms", "yellow")
            )
        self.query_one("#bench-legend", Static).update(legend(shown, width, extra))

    def on_fitted_plot_resized(self) -> None:
        """The ticks are fitted to the chart's size: fit them again."""
        if self.steps or self.session or self.saved_runs:
            self._chart()

    def action_overlay(self) -> None:
        """Saved runs of other sessions on the chart too, or not (this session's runs are always there)."""
        model = self.bench_model or self.model
        if not model:
            self.app.notify("no model: its saved runs are what o overlays", severity="warning")
            return
        self.overlay = not self.overlay
        if self.overlay:
            self.bench_model = model
            self._status(f"reading the saved runs of {model}…")
            self._load_saved(model)
            return
        self._chart()
        self._status("saved runs of other sessions hidden (o shows them)")

    @work(thread=True, exclusive=True, group="bench-saved")
    def _load_saved(self, model: str) -> None:
        self.post_message(SavedRuns(model, loadgen.load_runs(model, limit=8)))

    def on_saved_runs(self, msg: SavedRuns) -> None:
        if msg.model != self.bench_model or not self.overlay:
            return
        self.saved_runs = msg.runs
        self._chart()
        *_, drawn, total = self._series()
        n = len(drawn)
        if not total:
            self._status(f"o: no saved runs of {msg.model} from other sessions")
        elif n == total:
            self._status(
                f"o: {n} saved run{'s' * (n > 1)} of other sessions overlaid; the axis fits this session's runs"
            )
        else:  # the chart has three glyphs for other runs: say how many of the saved ones it draws
            self._status(
                f"o: {n} of {total} saved runs of other sessions overlaid: the newest "
                f"({len(OTHER_RUNS)} other runs at most); the axis fits this session's runs"
            )

    def _status(self, text: str, style: str = "") -> None:
        """``text``, and under it which model and server the run just saved was of (until the next run)."""
        shown = plain(text, style, limit=400)
        saved = self._saved_line()
        if saved:
            shown = join(shown, "\n", plain(saved, "bold", limit=300))
        self.query_one("#bench-status", Static).update(shown)

    def _saved_line(self) -> str:
        """``saved: MODEL on SERVER`` for this session's last run, where it was saved."""
        if not self.saved or self.run is None:
            return ""
        return f"saved: {self.run.model} on {self.run.url or self.controller.client.url}"

    # ------------------------------------------------------------------ compare
    def action_compare(self) -> None:
        a = self.model
        b = self.query_one("#bench-vs", Select).value
        if not a or not isinstance(b, str):
            self.app.notify("choose a model and a 'vs' model", severity="warning")
            return
        self._status(f"comparing {a} with {b}…")
        self._compare([a, b], self._inputs_text(), self.image_candidates())

    @work(thread=True, exclusive=True, group="bench-compare")
    def _compare(self, models: list[str], text: str, candidates: tuple[list[str], str]) -> None:
        try:
            for m in models:
                check_model_name(m)
            client = self.controller.client
            inputs = resolve_inputs(client, models[0], text, candidates)
            paths = [w for w in inputs.words if "=" not in w and w != "random"]
            result = compare.images(client, models, paths) if paths else compare.tensors(client, models)
            self.post_message(CompareDone(result, None, inputs.source, paths))
        except ConsoleError as exc:
            self.post_message(CompareDone(None, worded(exc)))

    def on_compare_done(self, msg: CompareDone) -> None:
        if msg.error:
            self._status(f"compare failed: {msg.error}", "red")
            return
        table = self.query_one("#bench-table", PlainTable)
        table.clear(columns=True)
        # a column per model, named A, B, ... and whole in the key under the chart: a row per model with its
        # name (cut to 14 cells, "ensem…et_lite0") and six figures left the chart beside it 14 columns
        models = list(zip(ALIASES, msg.result.models, strict=False))
        table.add_columns("", *(alias for alias, _ in models))
        figures = [r.to_dict() for _, r in models]

        def pct(x):
            return "-" if x is None else f"{x * 100:.0f}%"

        table.add_row("top-1", *(pct(d["top1_agreement"]) for d in figures))
        table.add_row("top-5", *(pct(d["top5_agreement"]) for d in figures))
        table.add_row(
            "max|Δ|", *("-" if d["max_abs_delta"] is None else f"{d['max_abs_delta']:.1e}" for d in figures)
        )
        table.add_row("p50 ms", *(f"{d['latency_ms']['p50']:.1f}" for d in figures))
        table.add_row("p95 ms", *(f"{d['latency_ms']['p95']:.1f}" for d in figures))
        table.add_row("req/s", *(f"{d['throughput'] or 0:.1f}" for d in figures))
        self.query_one("#bench-detail", Static).update(
            plain(
                "\n".join(
                    f"{alias} {r.model}: {r.route}" + (f" ({r.note})" if r.note else "")
                    for alias, r in models
                ),
                multiline=True,
            )
        )
        n = len(msg.result.items)
        on = msg.source if msg.source and "random" not in msg.source else f"{n} item(s)"
        self._status(self._one_line("compared on {}; top-1, top-5 and max|Δ| against A", on, msg.paths))

    def _one_line(self, line: str, source: str, paths: list[str]) -> str:
        """``line`` with ``source`` in it, on one line of the status where it can be: a long image path (or
        folder) in ``source`` shortened, then where it came from (``(the Classify pane's last)``) left out (at
        80 columns the compare's line wrapped, its path on a line of its own)."""
        width = self.query_one("#bench-status", Static).content_region.width or self.size.width - 2
        if width <= 0:  # not laid out (another pane shown): as it is
            return line.format(source)
        text = fit_paths(line.format(source), paths, width)
        if cell_len(text) > width and source.endswith(")") and " (" in source:
            text = fit_paths(line.format(source.rpartition(" (")[0]), paths, width)
        return text

    def on_unmount(self) -> None:
        job = self._job
        if job is not None:
            self._cancel.set()
            job.signal(signal.SIGTERM)
