"""Tune pane: config fields × load on the console's server (each config applied as an override), the trials
as they come, throughput against p99 with the Pareto front marked, the best as a diff; w writes it after a
confirm.

The sweep runs in its own process (``triton-console tune --progress``, read line by line in a worker): its
saturating load would take the GIL from the event loop here, and the process restores the original config on
its own however it ends (done, ctrl+x, the console closed). A refusal whose reason is only in the log of the
server the console runs gets it from that log here.
"""

from __future__ import annotations

import re
import signal
import sys
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from triton_console.common.errors import ConsoleError
from triton_console.tui.childjob import ChildJob, files_argv
from triton_console.tui.core.client.flags import connection_argv
from triton_console.tui.core.load.inputs import AUTO, resolve_inputs
from triton_console.tui.core.server.controller import ServerController, ServerSnapshot
from triton_console.tui.core.tune import deploy, sweep
from triton_console.tui.hints import worded
from triton_console.tui.panes.bench import app_image_candidates
from triton_console.tui.text import cell, plain
from triton_console.tui.widgets import ticks
from triton_console.tui.widgets.chart import FittedPlot, Series, legend
from triton_console.tui.widgets.nameselect import NameSelect
from triton_console.tui.widgets.table import PlainTable
from triton_console.tui.widgets.textbox import TextBox
from triton_console.tui.workers import work


@dataclass
class TrialDone(Message):
    trial: sweep.Trial
    index: int
    total: int


@dataclass
class TuneFinished(Message):
    result: sweep.Result | None
    target: deploy.Target | None
    error: str | None


@dataclass
class BestWritten(Message):
    path: str | None
    error: str | None


def tune_argv(
    controller: ServerController, target: deploy.Target, sets: str, inputs: list[str]
) -> tuple[list[str], dict, str | None]:
    """The tune command for the active connection (header values through the environment only), and its
    stdin: the image paths, listed there as the Bench pane's are (``files_argv``)."""
    flags, env = connection_argv(controller.client.connection, controller.client.endpoint)
    argv = [sys.executable, "-m", "triton_console", "tune", target.name, *flags, "--progress", "--save"]
    for item in (s for s in re.split(r"[;\s]+", sets.strip()) if s):
        argv += ["--set", item]
    for word in inputs:
        if "=" in word:
            argv += ["--input", word]
    if target.file is not None:
        argv += ["--repository", str(target.repository)]
    files, stdin = files_argv([w for w in inputs if "=" not in w and w != "random"])
    return argv + files, env, stdin


TRIAL = ("•", (0, 130, 200))  # a trial off the Pareto front
FRONT = ("*", (230, 25, 75))  # the Pareto front: no trial is both faster and lower in p99
CHART_FRAME = 4  # rows of the chart that are not plot rows: title, frame top and bottom, x ticks

SHORT = {"max_queue_delay_microseconds": "delay_us", "preferred_batch_size": "preferred"}


def _short(path: str) -> str:
    """A field's last name, shortened where it is long (the table's column is narrow at 80 columns)."""
    last = path.rsplit(".", 1)[-1]
    return SHORT.get(last, last)


class TunePane(Vertical):
    BINDINGS = [
        Binding("ctrl+r", "run", "Tune", id="tune.run"),
        Binding("ctrl+x", "cancel", "Cancel", id="tune.cancel"),
        Binding("w", "write", "Write best", id="tune.write"),
        Binding("o", "open", "Last run", id="tune.open"),
    ]
    DEFAULT_CSS = """
    TunePane #tune-form, TunePane #tune-form2 { height: 1; margin: 0 1; }
    TunePane Label { width: auto; margin: 0 1 0 1; color: $text-muted; }
    TunePane #tune-model { width: 2fr; }
    TunePane #tune-model > SelectOverlay { width: 64; max-width: 100vw; constrain: inside inside; }
    TunePane #tune-load { width: 8; }
    TunePane #tune-requests { width: 6; }
    TunePane #tune-objective { width: 1fr; }
    TunePane #tune-sets { width: 3fr; }
    TunePane #tune-inputs { width: 1fr; }
    TunePane #tune-status { height: auto; max-height: 4; padding: 0 1; }
    TunePane #tune-body { height: 1fr; }
    TunePane #tune-table { width: 3fr; }
    TunePane #tune-plot { width: 2fr; }
    TunePane FittedPlot { height: 1fr; }
    TunePane #tune-legend { height: auto; max-height: 2; padding: 0 1; }
    TunePane #tune-best { height: auto; max-height: 5; padding: 0 1; }
    """

    def __init__(self, controller: ServerController, images: list[str] | None = None, **kw) -> None:
        super().__init__(**kw)
        self.controller = controller
        self.images = list(images or [])  # given on the command line: auto's images after the Classify pane's
        self.models: list[str] = []
        self._options_stale = False  # models changed while the pane was hidden
        self.trials: list[sweep.Trial] = []
        self.result: sweep.Result | None = None
        self.target: deploy.Target | None = None
        self.running = False
        self._job: ChildJob | None = None
        self.target_running: deploy.Target | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="tune-form"):
            yield Label("model")
            yield NameSelect([], prompt="no ready model", id="tune-model", compact=True)
            yield Label("in flight")
            yield TextBox("4", id="tune-load", compact=True, enter="Tune", placeholder="1,4")
            yield Label("req")
            yield TextBox("50", id="tune-requests", compact=True, enter="Tune")
            yield Label("best")
            yield TextBox(
                "throughput",
                id="tune-objective",
                compact=True,
                enter="Tune",
                placeholder="throughput@p99<=MS",
            )
        with Horizontal(id="tune-form2"):
            yield Label("set")
            yield TextBox(
                "instance_group.count=1,2",
                id="tune-sets",
                compact=True,
                enter="Tune",
                placeholder="FIELD=V1,V2 FIELD=V1,V2 (dotted paths)",
            )
            yield Label("inputs")
            yield TextBox(
                AUTO,
                id="tune-inputs",
                compact=True,
                enter="Tune",
                placeholder="auto, images, NAME=SPEC ... or random",
            )
        yield Static(
            "^r tunes: configs apply as overrides; the original is restored at the end",
            id="tune-status",
        )
        with Horizontal(id="tune-body"):
            table = PlainTable(id="tune-table", cursor_type="row", zebra_stripes=True)
            table.add_columns("#", "set", "req/s", "p99", "batch", "")
            yield table
            with Vertical(id="tune-plot"):
                yield FittedPlot(id="tune-chart")
                yield Static("", id="tune-legend")
        yield Static("", id="tune-best")

    def focus_default(self) -> None:
        self.query_one("#tune-model").focus()

    @property
    def model(self) -> str | None:
        value = self.query_one("#tune-model", Select).value
        return value if isinstance(value, str) else None

    def show_snapshot(self, snap: ServerSnapshot) -> None:
        models = snap.ready_sorted if snap.live else []
        if models == self.models:
            return
        self.models = models
        self._options_stale = True
        if self.is_on_screen:  # hidden, the list waits for the pane to show: 20,000 options cost the loop
            self._fill_models()

    def on_show(self) -> None:
        if self._options_stale:
            self._fill_models()

    def _fill_models(self) -> None:
        self._options_stale = False
        models = self.models
        select = self.query_one("#tune-model", NameSelect)
        current = select.value
        select.set_names(models)
        if current in models:
            select.value = current
        elif models:  # a ready model at once: the blank choice read "no ready model" while some were
            select.value = models[0]

    def _status(self, text: str, style: str = "") -> None:
        self.query_one("#tune-status", Static).update(plain(text, style, limit=400))

    # -- run
    @on(Input.Submitted)
    def _submitted(self) -> None:
        """Enter in a box tunes, and the focus goes back to the pane (as in Classify and Server): w, o and
        the digits must not become typed text."""
        self.focus_default()
        self.action_run()

    def action_run(self) -> None:
        if self.running:
            self.app.notify("a sweep is running: ctrl+x cancels it", severity="warning")
            return
        model = self.model
        if model is None:
            self.app.notify("choose a ready model first", severity="warning")
            return
        try:
            sets = sweep.parse_sets(self.query_one("#tune-sets", Input).value)
            objective = sweep.Objective.parse(self.query_one("#tune-objective", Input).value or "throughput")
            levels = [float(v) for v in self.query_one("#tune-load", Input).value.split(",") if v.strip()]
            requests = int(self.query_one("#tune-requests", Input).value or "50")
            if not levels or any(v <= 0 for v in levels) or requests < 1:
                raise ConsoleError("in flight: numbers above 0 (e.g. 1,4); req: a count above 0")
        except (ConsoleError, ValueError) as exc:
            self._status(getattr(exc, "message", None) or f"not a number: {exc}", "red")
            return
        self.trials, self.result = [], None
        self.query_one("#tune-table", PlainTable).clear()
        self.query_one("#tune-best", Static).update("")
        self._chart()
        extra = ["--concurrency", ",".join(f"{v:g}" for v in levels), "--requests", str(requests)]
        extra += ["--warmup", str(max(2, requests // 10)), "--objective", str(objective)]
        sets_text = self.query_one("#tune-sets", Input).value
        self.running = True
        n = 1
        for _, values in sets:
            n *= len(values)
        self._status(f"tuning {model}: {n} config(s) × {len(levels)} load(s)…", "yellow")
        candidates = app_image_candidates(self.app, self.images)
        self._sweep(sets_text, self._inputs_text(), candidates, extra, model)

    def _inputs_text(self) -> str:
        return self.query_one("#tune-inputs", Input).value.strip()

    @work(thread=True, exclusive=True, group="tune")
    def _sweep(
        self, sets: str, text: str, candidates: tuple[list[str], str], extra: list[str], model: str
    ) -> None:
        target = None
        try:  # for_console asks the server's index; auto asks the server whether the model takes images
            target = deploy.for_console(self.controller, model)
            self.target_running = target  # read by the trial messages this thread posts next
            inputs = resolve_inputs(self.controller.client, target.name, text, candidates)
        except ConsoleError as exc:
            self.post_message(TuneFinished(None, target, worded(exc)))
            return
        argv, env, stdin = tune_argv(self.controller, target, sets, inputs.words)
        argv += extra
        try:
            job = ChildJob(argv, env, stdin)
        except OSError as exc:
            self.post_message(TuneFinished(None, target, str(exc)))
            return
        self._job = job
        result = None
        for e in job.events():
            if e.get("event") == "trial":
                self.post_message(TrialDone(sweep.Trial.from_dict(e["trial"]), e["index"], e["total"]))
            elif e.get("event") == "result":
                result = sweep.Result.from_event(e)
        ended = job.wait()
        self._job = None
        error = None if result is not None else ended.last_line("tune ended without a result")
        self.post_message(TuneFinished(result, target, error))

    def on_trial_done(self, msg: TrialDone) -> None:
        t = msg.trial
        target = self.target_running
        if t.status != "ok" and t.reason and "log has the reason" in t.reason and target and target.log:
            found = deploy.reason_from_log(target.name, list(target.log()))  # the refusal just logged
            if found:
                t.reason = f"{target.name}: the server refused the config: {found}"
        self.trials.append(t)
        self._add_row(t, msg.index)
        self._status(f"trial {msg.index}/{msg.total}: {t.describe()}", "" if t.status == "ok" else "red")
        self._chart()

    def _add_row(self, t: sweep.Trial, index: int) -> None:
        what = " ".join(f"{_short(k)}={v}" for k, v in t.set.items())

        def num(x, fmt="{:.1f}"):
            return "-" if x is None else fmt.format(x)

        self.query_one("#tune-table", PlainTable).add_row(
            str(index),
            cell(what, limit=22),
            num(t.throughput) if t.status == "ok" else cell("✗ error", "red"),
            num(t.p99_ms, "{:.0f}"),
            num(t.avg_batch),
            cell("ok" if t.status == "ok" else f"✗ {t.reason}", "" if t.status == "ok" else "red", 200),
            key=str(index),
        )

    def on_tune_finished(self, msg: TuneFinished) -> None:
        self.running = False
        self.target = msg.target
        if msg.result is None:
            error = re.sub(
                r"^(error|tune failed):\s*", "", msg.error or ""
            )  # the command's stderr says error: too
            self._status(f"tune failed: {error}", "red")
            return
        r = self.result = msg.result
        self._chart()
        ended = "cancelled" if r.cancelled else "done"
        note = r.gpu_note()
        self._status(
            f"{ended}: {r.model} serves {r.restored}" + (f"; {note}" if note else ""),
            "green" if not r.cancelled else "yellow",
        )
        self._show_best(r)

    def action_open(self) -> None:
        """The last saved sweep of the chosen model (every sweep of this pane is saved), to look at again."""
        if self.running:
            return
        model = self.model
        runs = sweep.saved(model) if model else []
        if not runs:
            self.app.notify(f"no saved sweep of {model or 'this model'} yet", severity="warning")
            return
        path, r = runs[0]
        self.trials, self.result, self.target = list(r.trials), r, None  # a reopened sweep is not written
        self.query_one("#tune-table", PlainTable).clear()
        for i, t in enumerate(r.trials, 1):
            self._add_row(t, i)
        self._chart()
        self._status(f"reopened {path.name} (^r runs it again; w writes only a fresh run's best)")
        self._show_best(r)

    def _show_best(self, r: sweep.Result) -> None:
        best = self.query_one("#tune-best", Static)
        if r.best is None:
            best.update(Text(f"no best: no trial met {r.objective}", style="yellow"))
            return
        lines = [plain(f"best ({r.objective}): {r.best.describe()}", "bold")]
        changed = [ln for ln in r.diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
        # "diff:" and no indent after the sign: "-  count: 1  +  count: 2" under the chart read as its legend
        changes = "  ".join(ln[0] + ln[1:].strip() for ln in changed)
        lines.append(plain(f"diff: {changes}" if changes else "the same as the current config", "green"))
        if r.diff and self.target is not None and self.target.file is not None:
            lines.append(Text("w writes it to config.pbtxt (after the diff)", style="dim"))
        best.update(Text("\n").join(lines))
        self.query_one("#tune-table").focus()

    def _chart(self) -> None:
        """Throughput against p99, the Pareto front as a line, at round ticks; the legend under the chart
        names the glyphs drawn (plotext's own sat on the plot, and the best's diff line under it, ``-
        count: 1  + count: 2``, read as one)."""
        widget = self.query_one("#tune-chart", FittedPlot)
        width, height = widget.size.width or 30, widget.size.height or 12
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("req/s vs p99 ms")
        ok = [
            t for t in self.trials if t.status == "ok" and t.throughput is not None and t.p99_ms is not None
        ]
        front = sorted(sweep.pareto(ok), key=lambda t: t.p99_ms)
        rest = [t for t in ok if t not in front]
        shown = [
            Series(label, marker, color, [t.p99_ms for t in trials], [t.throughput for t in trials])
            for label, (marker, color), trials in (("trial", TRIAL, rest), ("Pareto front", FRONT, front))
            if trials
        ]
        for s in shown:
            draw = plt.plot if s.marker == FRONT[0] else plt.scatter
            draw(s.xs, s.ys, marker=s.marker, color=s.color)
        top = max((t.throughput for t in ok), default=0.0)
        axis, yticks = ticks.row_ticks(top, height - CHART_FRAME)
        plt.ylim(0, axis)
        plt.yticks(yticks, [ticks.label(y, yticks[1]) for y in yticks])
        xs = [t.p99_ms for t in ok]
        if xs:
            label_width = len(ticks.label(axis, yticks[1])) + 2
            xticks = ticks.range_ticks(min(xs), max(xs), most=max(2, (width - label_width) // 7))
            plt.xlim(xticks[0], xticks[-1])
            plt.xticks(xticks, [ticks.label(x, xticks[1] - xticks[0]) for x in xticks])
        widget.refresh()
        self.query_one("#tune-legend", Static).update(legend(shown, max(10, width - 2)))

    def on_fitted_plot_resized(self) -> None:
        """The ticks are fitted to the chart's size: fit them again."""
        if self.trials:
            self._chart()

    def _interrupt(self) -> bool:
        """Ctrl-C to the tune process: it ends the sweep and serves the original config before it exits."""
        job = self._job
        if job is None:
            return False
        job.signal(signal.SIGINT)
        return True

    def action_cancel(self) -> None:
        if self.running and self._interrupt():
            self._status("cancelling: the original config is being restored…", "yellow")

    def on_unmount(self) -> None:
        self._interrupt()  # the process restores the original on its own, even after the console has gone

    # -- write the best
    def action_write(self) -> None:
        from triton_console.tui.panes.configedit import DiffScreen

        r, target = self.result, self.target
        if r is None or r.best is None or self.running:
            self.app.notify("run a sweep first: w writes its best config", severity="warning")
            return
        if target is None:
            self.app.notify("a reopened sweep may be stale: ^r runs it again, then w writes its best")
            return
        if target.file is None:
            self.app.notify("no config.pbtxt on this machine: copy the diff to the server's repository")
            return
        if not r.diff:
            self.app.notify("the file already holds the best config")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._write(target, r.best_text)

        self.app.push_screen(DiffScreen(r.diff, str(target.file)), answered)

    @work(thread=True, exclusive=True, group="tune-write")
    def _write(self, target: deploy.Target, text: str) -> None:
        try:
            deploy.write(target, text)
            deploy.revert(target)  # serve what the files now hold
            self.post_message(BestWritten(str(target.file), None))
        except (ConsoleError, OSError) as exc:
            self.post_message(BestWritten(None, str(exc)))

    def on_best_written(self, msg: BestWritten) -> None:
        if msg.error:
            self._status(f"write failed: {msg.error}", "red")
            return
        self._status(f"written: {msg.path} (previous file: config.pbtxt.bak); it serves now", "green")
