"""Build pane: choose model, weights and backbone; run export -> check -> engine -> repository."""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, ProgressBar, RichLog, Select, Static

from triton_console.build_tools import catalog
from triton_console.tui.core.server.controller import ServerController
from triton_console.tui.messages import BuildFinished, BuildFraction, BuildLog, BuildStep
from triton_console.tui.text import join, middle_cut, plain, short_path
from triton_console.tui.widgets.textbox import TextBox
from triton_console.tui.workers import work


class StepRow(Horizontal):
    """One build step: name, progress bar, state and elapsed time."""

    DEFAULT_CSS = """
    StepRow { height: auto; }
    StepRow .name { width: 11; }
    StepRow ProgressBar { width: 26; }
    /* a long result wraps instead of being cut; a column from the bar ("━━━━done 0.4s" read as one word) */
    StepRow .state { width: 1fr; height: auto; margin-left: 1; }
    """

    def __init__(self, step: str) -> None:
        super().__init__(id=f"step-{step}")
        self.step = step
        self.started: float | None = None

    def compose(self) -> ComposeResult:
        yield Label(self.step, classes="name")
        yield ProgressBar(total=1.0, show_eta=False, show_percentage=False)
        yield Label("", classes="state")

    def reset(self) -> None:
        self.started = None
        self.query_one(ProgressBar).update(total=1.0, progress=0)
        self.query_one(".state", Label).update("")

    def set_state(self, state: str, detail: str) -> None:
        bar = self.query_one(ProgressBar)
        label = self.query_one(".state", Label)
        if state == "start":
            self.started = time.monotonic()
            bar.update(total=None)  # indeterminate until a fraction arrives
            label.update("running…")
            return
        elapsed = f"{time.monotonic() - self.started:.1f}s " if self.started else ""
        bar.update(total=1.0, progress=1.0 if state in ("done", "skipped") else 0)
        colour = {"done": "green", "skipped": "yellow", "failed": "red", "cancelled": "yellow"}.get(
            state, "white"
        )
        label.update(join((state, colour), f" {elapsed}", plain(short_words(detail), "dim", limit=300)))


# a step's result wraps between words; a word longer than this (a path) is cut in its middle, its file name
# kept (the log has it whole): folded, the weights' path took five lines at 80x24 and pushed the engine and
# repository steps out of sight
WORD_MAX = 36


def short_words(detail: str, most: int = WORD_MAX) -> str:
    def short(w: str) -> str:
        if len(w) <= most:
            return w
        return short_path(w, most) if "/" in w else middle_cut(Text(w), most).plain

    return " ".join(short(w) for w in detail.split(" "))


def next_step(model: str, repository: Path, serving: Path | None, model_control: str | None) -> str:
    """What to do to serve a model just written to ``repository``, given the managed server (the repository
    it serves and its model-control mode; None: no managed server running)."""
    if serving is not None and serving.resolve() == repository.resolve():
        if model_control == "explicit":
            return f"{model} written; load it: l on it in Models (3)"
        return f"{model} written; restart the server to serve it (R in Server)"
    if serving is not None:
        return f"{model} written to {repository}, which the running server does not serve"
    return (
        f"{model} written; start the server on {repository} (s in Server), or load it "
        "(l in Models) on a server of that repository in explicit model-control mode"
    )


class BuildPane(Vertical):
    BINDINGS = [
        Binding("b", "build", "Build", id="build.start"),
        Binding("x", "cancel", "Cancel build", id="build.cancel"),
    ]

    DEFAULT_CSS = """
    BuildPane Grid { grid-size: 5 2; grid-columns: 22 1fr 1fr 1fr 10; height: 2; grid-gutter: 0 1; margin: 0 1; }
    BuildPane Label { color: $text-muted; }
    BuildPane Select { width: 1fr; }
    BuildPane #weights-file { display: none; margin: 0 1; }
    BuildPane #weights-file.shown { display: block; }
    BuildPane #untrained { color: $warning; height: auto; display: none; margin: 0 1; }
    BuildPane #untrained.shown { display: block; }
    /* the steps' details wrap (a path, the check's numbers): past 8 lines they scroll, and the log keeps
       4 lines of its own at 80x24 instead of being pushed off the screen */
    BuildPane #steps { height: auto; max-height: 8; margin: 1 1 0 1; scrollbar-size-vertical: 1; }
    BuildPane #summary { margin: 0 1; height: auto; max-height: 3; }
    BuildPane #build-log { height: 1fr; min-height: 6; border: round $panel; }
    """

    def __init__(self, repository: Path, controller: ServerController | None = None, **kw) -> None:
        super().__init__(**kw)
        self.repository = repository
        self.controller = controller
        self._progress = None
        self._current: str | None = None
        # (step, detail) of the step that failed, which its row shows
        self._failed: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        with Grid():
            yield Label("model")
            yield Label("weights")
            yield Label("backbone")
            yield Label("layout")
            yield Label("")
            yield Select(
                catalog.model_choices(),
                value=catalog.DEFAULT_MODEL,
                allow_blank=False,
                id="model",
                compact=True,
            )
            yield Select(
                catalog.weight_choices(), value="imagenet", allow_blank=False, id="weights", compact=True
            )
            yield Select(
                catalog.backbone_choices(), value=catalog.AUTO, allow_blank=False, id="backbone", compact=True
            )
            yield Select(
                catalog.layout_choices(),
                value=catalog.DEFAULT_LAYOUT,
                allow_blank=False,
                id="layout",
                compact=True,
            )
            yield Button("Build b", id="build", variant="primary", compact=True)
        yield TextBox(placeholder="path to a state_dict (.pth)", id="weights-file", compact=True, enter=None)
        yield Static(
            "⚠ random weights: the model is untrained and its predictions are meaningless", id="untrained"
        )
        with VerticalScroll(id="steps", can_focus=False):
            for step in catalog.STEPS:
                yield StepRow(step)
        yield Static(self._where(), id="summary")
        yield RichLog(id="build-log", max_lines=5000, wrap=False, markup=False)

    def _where(self) -> Text:
        """Where b writes, before the first build: the default repository is the user's, outside the checkout,
        and a newcomer took the checkout's model_repository/ (the sources) for it."""
        return plain(f"b builds into {short_path(str(self.repository), 60)}", "dim")

    def focus_default(self) -> None:
        self.query_one("#model").focus()

    @on(Select.Changed, "#weights")
    def _weights_changed(self, event: Select.Changed) -> None:
        self.query_one("#weights-file").set_class(event.value == "file", "shown")
        self.query_one("#untrained").set_class(event.value == "random", "shown")

    @on(Button.Pressed, "#build")
    def _pressed(self) -> None:
        """The button builds; while a build runs it says so and cancels it."""
        if self._progress is not None:
            self.action_cancel()
        else:
            self.action_build()

    def _button(self, building: bool) -> None:
        button = self.query_one("#build", Button)
        button.label = "Cancel x" if building else "Build b"
        button.variant = "error" if building else "primary"
        button.tooltip = "building: press to cancel" if building else None

    def action_build(self) -> None:
        if self._progress is not None:
            self.app.notify("a build is already running (x cancels it)", severity="warning")
            return
        model = self.query_one("#model", Select).value
        weights = self.query_one("#weights", Select).value
        if weights == "file":
            weights = self.query_one("#weights-file", Input).value.strip()
            if not weights:
                self.app.notify("enter the path of a weights file", severity="error")
                self.query_one("#weights-file", Input).focus()
                return
        backbone = self.query_one("#backbone", Select).value
        layout = str(self.query_one("#layout", Select).value)
        self._failed = None
        for row in self.query(StepRow):
            row.reset()
        self.query_one("#build-log", RichLog).clear()
        self.query_one("#summary", Static).update("")
        from triton_console.common.progress import Progress

        self._progress = Progress(
            log=lambda line: self.post_message(BuildLog(line)),
            fraction=lambda f: self.post_message(BuildFraction(f)),
        )
        self._button(True)
        self._run(str(model), str(weights), str(backbone), layout, self._progress)

    def action_cancel(self) -> None:
        if self._progress is None:
            self.app.notify("no build is running")
            return
        self._progress.cancel()
        self.app.notify("cancelling the build…")

    @work(thread=True, exclusive=True, group="build")
    def _run(self, model: str, weights: str, backbone: str, layout: str, progress) -> None:
        from triton_console.build_tools import pipeline
        from triton_console.common.errors import Cancelled, ConsoleError

        try:
            report = pipeline.build(
                model,
                weights,
                backbone,
                self.repository,
                force=False,
                progress=progress,
                on_step=lambda s, st, d: self.post_message(BuildStep(s, st, d)),
                layout=layout,
            )
            self.post_message(BuildFinished(report.to_dict(), None))
        except Cancelled as exc:
            self.post_message(BuildFinished(None, str(exc), cancelled=True))
        except ConsoleError as exc:
            self.post_message(BuildFinished(None, str(exc)))
        except Exception as exc:  # an unexpected failure still ends the build cleanly
            self.post_message(BuildFinished(None, f"{type(exc).__name__}: {exc}"))

    def on_build_step(self, msg: BuildStep) -> None:
        self._current = msg.step if msg.state == "start" else None
        if msg.state == "failed":
            self._failed = (msg.step, msg.detail)
        self.query_one(f"#step-{msg.step}", StepRow).set_state(msg.state, msg.detail)

    def on_build_log(self, msg: BuildLog) -> None:
        self.query_one("#build-log", RichLog).write(plain(msg.line, limit=2000))

    def on_build_fraction(self, msg: BuildFraction) -> None:
        if self._current:
            self.query_one(f"#step-{self._current}", StepRow).query_one(ProgressBar).update(
                total=1.0, progress=msg.fraction
            )

    def on_build_finished(self, msg: BuildFinished) -> None:
        self._progress = None
        self._button(False)
        summary = self.query_one("#summary", Static)
        if msg.cancelled:  # the step rows show which step it stopped; nothing was written
            summary.update(join(("build cancelled", "yellow"), ": the repository is as it was"))
            self.app.notify("the repository is as it was", title="Build cancelled", severity="warning")
            return
        if msg.error:
            first, _, rest = msg.error.partition("\n")
            if self._failed is not None and self._failed[1] == first:
                # the failed step's row already says it: the summary names the step and adds the hint, which
                # the message said twice had pushed out of the summary's three lines
                step = self._failed[0]
                summary.update(
                    join(
                        ("build failed", "red"),
                        f" at {step} (above)" + ("; " if rest.strip() else ""),
                        plain(" ".join(rest.split()), limit=600),
                    )
                )
            else:
                summary.update(join(("build failed: ", "red"), plain(msg.error, multiline=True)))
            self.app.notify(msg.error.splitlines()[0], title="Build failed", severity="error")
            return
        r = msg.report or {}
        check = r.get("check") or {}
        size = f"ONNX {r.get('onnx_bytes', 0) / 1e6:.1f} MB"
        if r.get("plan_bytes"):
            size += f", plan {r['plan_bytes'] / 1e6:.1f} MB"
        trained = r.get("weights", {}).get("trained", True)
        summary.update(
            join(
                ("built ", "green"),
                plain(
                    f"{r.get('ensemble')} → {r.get('repository')}  ({r.get('backbone')}; {size}; "
                    f"max|Δ| {check.get('max_abs_diff', float('nan')):.1e}, top-1 {check.get('top1_agree')}/{check.get('batch')})"
                ),
                ("" if trained else "  UNTRAINED weights", "yellow"),
            )
        )
        m = self.controller.managed if self.controller is not None else None
        running = m is not None and m.is_running()
        self.app.notify(
            next_step(
                str(r.get("ensemble")),
                Path(r.get("repository") or self.repository),
                Path(m.cfg.repository) if running else None,
                m.cfg.model_control if running else None,
            ),
            title="Build done",
        )
