"""Try any model: a form built from its inputs (a SPEC per input, as ``infer`` takes), Run, an output
inspector, and the same request as a call (curl / python / perf_analyzer) copied to the clipboard.

A decoupled model streams: its responses appear as they arrive, with the time to the first and the rate so
far, text outputs appended as running text; ctrl+x cancels (a priority key: it works with the focus in a
SPEC box too). A sequence model gets a sequence id that stays across runs, with start/end
toggles (start clears itself after the run that started the sequence).

The form's keys are ctrl-combinations, so they work wherever the focus is (a letter would be typed into
the SPEC box that has it); its own footer shows them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DirectoryTree, Footer, Input, Label, Select, Static

from triton_console.common.errors import ConsoleError
from triton_console.common.untrusted import one_line
from triton_console.tui.core.classify.classifier import looks_like_scores, top_k
from triton_console.tui.core.client.client import ModelInfo
from triton_console.tui.core.request import infer, showcall, stream
from triton_console.tui.core.server.controller import ServerController
from triton_console.tui.hints import worded
from triton_console.tui.text import cell, join, middle_cut, plain
from triton_console.tui.widgets.filetree import FileTree
from triton_console.tui.widgets.table import PlainTable
from triton_console.tui.workers import work

OUTPUT_COLUMNS = ("output", "dtype", "shape", "min", "max", "mean", "NaN")
VALUES_LEAST = 10  # the values column's least width: one value (-2.176e-05) in 4 significant digits


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def _value(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return one_line(v, 200) if isinstance(v, str) else str(v)


def values_fit(values: list, width: int) -> str:
    """An output's first values in ``width`` cells: whole values only (4 significant digits; an exponent is
    never cut off), then ``…`` where more did not fit."""
    pieces = [_value(v) for v in values]
    out = ""
    for i, piece in enumerate(pieces):
        joined = piece if i == 0 else f"{out}, {piece}"
        tail = ", …" if i < len(pieces) - 1 else ""
        if cell_len(joined + tail) > width:
            if i == 0:  # not even one value with its ellipsis: the value alone if it fits, else cut, marked
                return piece if cell_len(piece) <= width else middle_cut(Text(piece), width).plain
            return out + (", …" if cell_len(out) + 3 <= width else "…")
        out = joined
    return out


@dataclass
class ModelLoaded(Message):
    info: ModelInfo | None
    error: str | None


@dataclass
class TryDone(Message):
    result: infer.InferResult | None
    call: showcall.Call | LargeCall | None
    error: str | None


@dataclass
class LargeCall:
    """A call whose data goes to files (too large to show inline, or perf_analyzer's input data, always a
    file): copying it (^y) writes them first, into a temporary folder; a run writes nothing."""

    form: str
    why: str  # "the request is 588 KiB", "perf_analyzer reads its input data (1 KiB) from a file"
    make: Callable[[], showcall.Call]  # the call, its data files in a new temporary folder

    @property
    def line(self) -> str:
        """What the form shows in place of the call."""
        if self.form == "perf_analyzer":
            return f"# {self.why}: ^y writes it to a temporary folder and copies the call"
        return f"# {self.why}, too large to show here: ^y writes its data to files and copies the call"


@dataclass
class CallWritten(Message):
    """A large call made at ^y, its data files written (or why they could not be)."""

    call: showcall.Call | None
    error: str | None


@dataclass
class StreamArrived(Message):
    """One response of a streaming run, with the summary so far."""

    response: stream.StreamResponse
    summary: stream.StreamSummary


@dataclass
class StreamEnded(Message):
    summary: stream.StreamSummary | None
    call: showcall.Call | LargeCall | None
    error: str | None
    cancelled: bool = False


class FilePicker(ModalScreen[str | None]):
    """Pick a file for an input (its path comes back; esc: nothing). The tree starts at ``start``; ⌫ climbs
    out of it, and the path box takes any folder or file (absolute, ~, or relative to the tree's folder)."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="pick.cancel"),
        Binding("backspace", "parent", "Up", id="pick.parent"),  # the path box keeps its own backspace
    ]
    DEFAULT_CSS = """
    FilePicker { align: center middle; }
    FilePicker > Vertical { width: 70; height: 24; border: round $accent; background: $surface; }
    FilePicker #pick-path { margin-bottom: 1; }
    """

    def __init__(self, start: str) -> None:
        super().__init__()
        self.start = start

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("pick a file ⏎, ⌫ up a folder, tab: a path; esc cancels", id="pick-note")
            yield Input(
                str(Path(self.start).expanduser().resolve()),
                placeholder="folder or file ⏎ (/…, ~/…, ../…)",
                id="pick-path",
                compact=True,
            )
            yield FileTree(self.start, id="files")

    def on_mount(self) -> None:
        self.query_one("#files").focus()

    @property
    def folder(self) -> Path:
        """The folder the tree shows."""
        return Path(self.query_one("#files", DirectoryTree).path).expanduser().resolve()

    def _open(self, folder: Path) -> None:
        self.query_one("#files", DirectoryTree).path = folder
        self.query_one("#pick-path", Input).value = str(folder)
        self.query_one("#pick-note", Static).update("pick a file ⏎, ⌫ up a folder, tab: a path; esc cancels")
        self.query_one("#files").focus()

    def action_parent(self) -> None:
        here = self.folder
        if here.parent != here:
            self._open(here.parent)

    @on(Input.Submitted, "#pick-path")
    def _typed(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        path = (self.folder / Path(text).expanduser()).resolve()  # an absolute path replaces the folder
        if path.is_dir():
            self._open(path)
        elif path.is_file():
            self.dismiss(str(path))
        else:
            self.query_one("#pick-note", Static).update(plain(f"no such file or folder: {path}", "red"))

    @on(DirectoryTree.FileSelected)
    def _picked(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(str(event.path))


class TryScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="try.close"),
        Binding("ctrl+r", "run", "Run", id="try.run"),
        Binding("ctrl+o", "pick", "Pick file", id="try.pick"),
        Binding("ctrl+y", "copy", "Copy call", id="try.copy"),
        Binding("ctrl+t", "trace", "Trace", id="try.trace"),
        Binding("ctrl+x", "cancel", "Cancel stream", id="try.cancel", priority=True),
    ]
    DEFAULT_CSS = """
    TryScreen { align: center middle; }
    TryScreen > VerticalScroll { width: 96%; height: 90%; border: round $accent; background: $surface; padding: 0 1; }
    TryScreen .row { height: 1; margin-bottom: 0; }
    TryScreen .row Label { width: 34; }
    TryScreen .row .spec { width: 1fr; }
    TryScreen .row .shape { width: 16; margin-left: 1; }
    TryScreen #controls { height: 1; margin-top: 1; }
    TryScreen #controls Input { width: 8; }
    TryScreen #controls Select { width: 18; margin-left: 1; }
    TryScreen #controls Button { margin-left: 1; min-width: 10; }
    TryScreen #sequence { height: 1; margin-top: 1; display: none; }
    TryScreen #sequence Input { width: 24; }
    TryScreen #sequence Checkbox { margin-left: 1; }
    TryScreen #form { height: auto; }
    TryScreen #running { height: auto; max-height: 8; }
    TryScreen #outputs { height: auto; max-height: 12; margin-top: 1; }
    TryScreen #summary { height: auto; }
    TryScreen #call { height: auto; color: $text-muted; }
    """

    def __init__(self, controller: ServerController, model: str, start_dir: str) -> None:
        super().__init__()
        self.controller = controller
        self.model = model
        self.start_dir = start_dir
        self.info: ModelInfo | None = None
        self.call_text = ""
        self._large: LargeCall | None = None  # the last call, its data in files: ^y writes them first
        self.decoupled = False
        self.sequence: stream.SequenceConfig | None = None
        self._stream: stream.StreamRun | None = None
        self._streaming = False  # from Run to the stream's end (the worker sets _stream once it starts)
        self._text: list[str] = []
        self._outputs: list[infer.OutputSummary] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(
                join(("Try ", "bold"), plain(self.model, "bold"), "  reading its metadata…"), id="title"
            )
            yield Vertical(id="form")
            with Horizontal(id="controls"):
                yield Label("batch ")
                yield Input("1", id="batch", compact=True)
                yield Select(
                    [(f, f) for f in showcall.FORMS],
                    value="curl",
                    allow_blank=False,
                    id="form-call",
                    compact=True,
                )
                yield Button("Run ^r", id="run", variant="primary", compact=True)
                yield Button("File ^o", id="pick", compact=True)
                yield Button("Copy call ^y", id="copy", compact=True)
            with Horizontal(id="sequence"):
                yield Label("sequence id ")
                yield Input(placeholder="number or text", id="sequence-id", compact=True)
                yield Checkbox("start", True, id="sequence-start", compact=True)
                yield Checkbox("end", False, id="sequence-end", compact=True)
            outputs = PlainTable(id="outputs", cursor_type="row", zebra_stripes=True)
            outputs.add_columns(*OUTPUT_COLUMNS, "values")  # whole at 80
            yield outputs
            yield Static("", id="summary")
            yield Static("", id="running")
            yield Static("", id="call")
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="try-load")
    def _load(self) -> None:
        try:
            self.post_message(ModelLoaded(self.controller.client.model_info(self.model), None))
        except ConsoleError as exc:
            self.post_message(ModelLoaded(None, worded(exc)))

    def on_model_loaded(self, msg: ModelLoaded) -> None:
        title = self.query_one("#title", Static)
        if msg.info is None:
            title.update(
                join(("Try ", "bold"), plain(self.model, "bold"), "  ", plain(msg.error or "", "red"))
            )
            return
        self.info = info = msg.info
        self.decoupled = stream.is_decoupled(info)
        self.sequence = stream.sequence_config(info.config)
        batched = info.batched
        title.update(
            join(
                ("Try ", "bold"),
                plain(self.model, "bold"),
                plain(
                    f"  {info.platform or '?'}, {'batching' + (f' up to {info.max_batch_size}' if info.max_batch_size else '') if batched else 'no batching'}"
                    + (", decoupled: streams (^x cancels)" if self.decoupled else "")
                    + (", sequence model" if self.sequence else "")
                ),
                (
                    # a line of its own: after the title it wrapped at "(.npy" at 80 and at 120 columns
                    "\nSPEC: random|zeros|ones|@FILE (.npy/.json/bytes)|text:…|image:FILE",
                    "dim",
                ),
            )
        )
        form = self.query_one("#form", Vertical)
        for i, t in enumerate(info.metadata.inputs):
            dims = list(t.shape[1:] if batched else t.shape)
            row = Horizontal(classes="row")
            form.mount(row)
            row.mount(Label(plain(f"{t.name}  {t.datatype} {dims}")))
            spec = self._default_spec(t)
            hint = "give image:FILE or @FILE" if not spec else "SPEC"
            row.mount(Input(spec, placeholder=hint, id=f"spec-{i}", classes="spec", compact=True))
            if -1 in dims:
                row.mount(
                    Input(
                        placeholder="shape e.g. " + ",".join("4" if d == -1 else str(d) for d in dims),
                        id=f"shape-{i}",
                        classes="shape",
                        compact=True,
                    )
                )
        self.query_one("#batch", Input).disabled = not batched
        self.query_one("#sequence").display = self.sequence is not None
        self.refresh_bindings()
        first = self.query("#spec-0")
        if first:
            first.first().focus()

    def _default_spec(self, tensor) -> str:
        """random, except for an image model's encoded-image input (random bytes are no image): the Classify
        pane's last image, else the first of the images the console was given or its tree shows."""
        if not (infer.takes_bytes(tensor, self.info.batched) and infer.takes_image_files(self.info)):
            return "random"
        from triton_console.tui.core.classify.images import IMAGE_SUFFIXES, expand
        from triton_console.tui.panes.bench import app_image_candidates

        last = self.controller.last_classified
        if last is not None:
            return f"image:{last[1]}"
        given = list(getattr(getattr(self.app, "options", None), "images", []) or [])
        files = expand(app_image_candidates(self.app, given)[0])
        first = next(
            (f for f in files if Path(f).suffix.lower() in IMAGE_SUFFIXES and Path(f).is_file()), None
        )
        return f"image:{first}" if first else ""

    def _worded(self, exc: ConsoleError, specs: dict[str, str], shapes: dict[str, str]) -> str:
        """An error in the form's own words: its SPEC boxes and shape boxes, not the infer command's flags."""
        inputs = self.info.metadata.inputs if self.info else ()
        if exc.code == infer.ENCODED_IMAGES:
            name = next((t.name for t in inputs if infer.takes_bytes(t, self.info.batched)), "its input")
            return f"{self.model} takes encoded images in {name}: give image:FILE or @FILE (^o picks a file)"
        if exc.code == infer.VARIABLE_SHAPE:
            name = next(
                (
                    t.name
                    for t in inputs
                    if -1 in (t.shape[1:] if self.info.batched else t.shape)
                    and specs.get(t.name, "random") in ("random", "zeros", "ones")
                    and t.name not in shapes
                ),
                "an input",
            )
            return f"input {name} has a variable dimension: fill in its shape box, or give @FILE"
        return worded(exc)

    # -- actions
    def _values(self) -> tuple[dict[str, str], dict[str, str], int]:
        specs, shapes = {}, {}
        for i, t in enumerate(self.info.metadata.inputs):
            specs[t.name] = self.query_one(f"#spec-{i}", Input).value.strip() or "random"
            box = self.query(f"#shape-{i}")
            if box and box.first().value.strip():
                shapes[t.name] = box.first().value.strip()
        text = self.query_one("#batch", Input).value.strip() or "1"
        return specs, shapes, int(text) if text.isdigit() else 0

    def _sequence(self):
        """The sequence of this run (None for a model without sequence batching); raises ConsoleError."""
        if self.sequence is None:
            return None
        seq_id = self.query_one("#sequence-id", Input).value.strip()
        if not seq_id:
            raise ConsoleError("a sequence model: fill in the sequence id (a number or text)")
        return stream.sequence(
            seq_id,
            self.query_one("#sequence-start", Checkbox).value,
            self.query_one("#sequence-end", Checkbox).value,
        )

    def focus_default(self) -> None:
        """Off the inputs, onto the outputs (the results arrive there): keys such as ? and q are not typed."""
        self.query_one("#outputs", PlainTable).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter in a box runs, and the focus stays in that box: edit it and Enter sends again (the form's
        keys are ctrl-combinations and esc, so no letter is taken from the box)."""
        self.action_run(keep_focus=True)

    @on(Button.Pressed, "#run")
    def _run_pressed(self) -> None:
        self.action_run()

    def action_run(self, keep_focus: bool = False) -> None:
        """Send the form's request (a stream for a decoupled model); ``keep_focus``: Enter in a box."""
        if self.info is None:
            return
        if self._streaming:
            self.app.notify("a stream is running: ctrl+x cancels it", severity="warning")
            return
        specs, shapes, batch = self._values()
        form = str(self.query_one("#form-call", Select).value)
        try:
            seq = self._sequence()
        except ConsoleError as exc:
            self.query_one("#summary", Static).update(
                join(("error: ", "bold red"), plain(exc.message, "red"))
            )
            return
        self.query_one("#summary", Static).update(Text("running…", style="dim"))
        self.query_one("#running", Static).update("")
        if self.decoupled:
            self._text, self._streaming = [], True
            if not keep_focus:
                self.focus_default()
            self._run_stream(specs, shapes, batch, form, seq)
        else:
            self._run(specs, shapes, batch, form, seq)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """ctrl+x (cancel) only in the footer of a model that streams."""
        return self.decoupled if action == "cancel" else True

    def on_unmount(self) -> None:
        """Closing the form mid-stream cancels the stream (its worker would stream on unseen)."""
        if self._stream is not None:
            self._stream.cancel()

    def action_cancel(self) -> None:
        run = self._stream
        if run is None:
            self.app.notify("nothing is streaming")
            return
        run.cancel()

    @work(thread=True, exclusive=True, group="try-run")
    def _run_stream(self, specs, shapes, batch: int, form: str, seq) -> None:
        client = self.controller.client
        run = None
        try:
            plans = infer.plan_inputs(
                self.info, specs, shapes, batch=batch, limit=client.connection.max_response_bytes
            )
            call = self._call(form, plans, [t.name for t in self.info.metadata.outputs], seq, streaming=True)
            run = stream.start(client, self.model, plans, seq=seq)
            self._stream = run
            for r in run:
                self.post_message(StreamArrived(r, run.summary))
            self.post_message(StreamEnded(run.summary, call, None))
        except ConsoleError as exc:
            cancelled = run is not None and run.cancelled
            error = self._worded(exc, specs, shapes)
            self.post_message(StreamEnded(run.summary if run else None, None, error, cancelled))
        finally:
            self._stream = None

    def _call(self, form: str, plans, outputs: list[str], seq, streaming: bool = False, datatypes=None):
        client = self.controller.client
        make = partial(
            showcall.make,
            form,
            client.connection,
            client.endpoint,
            self.model,
            plans,
            outputs,
            None,
            batched=self.info.batched,
            datatypes=datatypes,
            streaming=streaming,
            sequence=seq,
        )
        try:
            return make()
        except ConsoleError as exc:
            if exc.code == showcall.NEEDS_FOLDER:  # the CLI's words name --save, which the form has not
                # its data goes to files only when the user asks for the call (^y): not at every run, and
                # never into the current folder (the user's)
                return LargeCall(form, exc.message.split(":")[0], partial(make, spill=True))
            return showcall.Call(form, f"# {exc.message}")

    def _stream_head(self, s: stream.StreamSummary, state: str) -> Text:
        first = "-" if s.ttft_ms is None else f"{s.ttft_ms:.1f} ms"
        return plain(
            f"{self.model}: {s.responses} response{'s' if s.responses != 1 else ''}{' ' + state if state else ''}  "
            f"first after {first}  {s.per_second:.1f} responses/s",
            "bold",
        )

    def on_stream_arrived(self, msg: StreamArrived) -> None:
        r = msg.response
        self._show_outputs(r.outputs)
        self.query_one("#summary", Static).update(self._stream_head(msg.summary, "so far"))
        piece = r.text()
        if piece:
            self._text.append(piece)
            self.query_one("#running", Static).update(plain("".join(self._text), multiline=True, limit=20000))

    def on_stream_ended(self, msg: StreamEnded) -> None:
        self._streaming = False
        summary = self.query_one("#summary", Static)
        head = (
            self._stream_head(msg.summary, "then cancelled" if msg.cancelled else "") if msg.summary else None
        )
        if msg.error and not msg.cancelled:
            parts = [head, "\n"] if head is not None and msg.summary.responses else []
            summary.update(join(*parts, ("error: ", "bold red"), plain(msg.error, "red", limit=2000)))
        elif head is not None:
            s = msg.summary
            p50 = "-" if s.itl_p50_ms is None else f"{s.itl_p50_ms:.1f} ms"
            summary.update(join(head, plain(f"  between p50 {p50}  total {s.total_ms:.1f} ms")))
        if not msg.error:
            self._sequence_ran()
        self._show_call(msg.call)

    def _sequence_ran(self) -> None:
        """After a run that started the sequence, the next continues it; after the end, the next starts anew."""
        if self.sequence is None:
            return
        start = self.query_one("#sequence-start", Checkbox)
        end = self.query_one("#sequence-end", Checkbox)
        if end.value:
            start.value, end.value = True, False
        elif start.value:
            start.value = False

    def _show_call(self, call: showcall.Call | LargeCall | None) -> None:
        if isinstance(call, LargeCall):
            self.call_text, self._large = "", call
            self.query_one("#call", Static).update(plain(call.line))
        elif call is not None:
            self.call_text, self._large = call.text, None
            notes = "".join(f"\n# {n}" for n in call.notes)
            self.query_one("#call", Static).update(plain(call.text + notes, multiline=True, limit=20000))
        else:  # no call to show (the request failed): none to copy either
            self.call_text, self._large = "", None
            self.query_one("#call", Static).update("")

    @work(thread=True, exclusive=True, group="try-run")
    def _run(self, specs: dict[str, str], shapes: dict[str, str], batch: int, form: str, seq=None) -> None:
        client = self.controller.client
        try:
            plans = infer.plan_inputs(
                self.info, specs, shapes, batch=batch, limit=client.connection.max_response_bytes
            )
            self.controller.last_requests[self.model] = (dict(specs), dict(shapes), batch)
            result = infer.run(client, self.model, plans, sequence=seq)
            call = self._call(
                form,
                plans,
                [o.name for o in result.outputs],
                seq,
                datatypes={o.name: o.datatype for o in result.outputs},
            )
            self.post_message(TryDone(result, call, None))
        except ConsoleError as exc:
            self.post_message(TryDone(None, None, self._worded(exc, specs, shapes)))

    def on_try_done(self, msg: TryDone) -> None:
        summary = self.query_one("#summary", Static)
        if msg.error:
            summary.update(join(("error: ", "bold red"), plain(msg.error, "red", limit=2000)))
            # the last run's outputs and call stayed above the error and read as this request's
            self._show_outputs([])
            self._show_call(None)
            return
        r = msg.result
        self._show_outputs(r.outputs)
        lines = [plain(f"{r.model} v{r.version or '?'}: {r.latency_ms:.2f} ms", "bold")]
        for o in r.outputs:
            if o.array is not None and looks_like_scores(o.array, self.info.batched):
                top, kind = top_k(o.array[0] if self.info.batched else o.array, 5)
                lines.append(
                    plain(
                        f"{o.name} top-5{' (softmax)' if kind == 'softmax' else ''}: "
                        + ", ".join(f"{t.index} {t.label} {t.score:.4f}" for t in top)
                    )
                )
        summary.update(Text("\n").join(lines))
        self._sequence_ran()
        self._show_call(msg.call)

    def _show_outputs(self, outputs: list[infer.OutputSummary]) -> None:
        """The outputs' summaries, the values column as wide as the table leaves it, filled with whole values
        only: a column cut at the screen's edge showed 2.176e-05 as ``2.1761123207``."""
        self._outputs = outputs
        table = self.query_one("#outputs", PlainTable)
        rows = [
            (
                one_line(o.name, 200),
                o.datatype,
                str(list(o.shape)),
                _num(o.min),
                _num(o.max),
                _num(o.mean),
                str(o.nan),
            )
            for o in outputs
        ]
        pad = 2 * table.cell_padding
        used = sum(
            max(len(title), *(len(r[i]) for r in rows), 0) + pad for i, title in enumerate(OUTPUT_COLUMNS)
        )
        room = max(VALUES_LEAST, (table.scrollable_content_region.width or 72) - used - pad)
        table.clear(columns=True)
        table.add_columns(*OUTPUT_COLUMNS)
        table.add_column("values", width=room)
        for r, o in zip(rows, outputs, strict=True):
            table.add_row(*r, cell(values_fit(o.values, room)))

    def on_resize(self) -> None:
        """The values column is fitted to the table's width: fit it again (once the new layout is known)."""
        if self._outputs:
            self.call_after_refresh(lambda: self._show_outputs(self._outputs))

    def action_trace(self) -> None:
        """The form's request traced (``COUNT`` of them): a waterfall per request, p50/p99 per stage."""
        from triton_console.tui.panes.traceview import TraceScreen

        if self.info is None:
            return
        if self.decoupled or self.sequence is not None:
            kind = "streams its responses" if self.decoupled else "is a sequence model"
            self.app.notify(f"{self.model} {kind}: trace sends single requests", severity="warning")
            return
        specs, shapes, batch = self._values()
        limit = self.controller.client.connection.max_response_bytes

        def plan(info: ModelInfo) -> list[infer.InputPlan]:
            return infer.plan_inputs(info, specs, shapes, batch=batch, limit=limit)

        what = ", ".join(f"{k}={v}" for k, v in specs.items())
        self.app.push_screen(TraceScreen(self.controller, self.model, plan, what))

    def action_copy(self) -> None:
        if self._large is not None:
            self._write_call(self._large)
            return
        if not self.call_text:
            self.app.notify("run the model first: the call is the request that ran")
            return
        self.app.copy_to_clipboard(self.call_text)
        self.app.notify("call copied to the clipboard (OSC 52)")
        self._call_into_view()

    def _call_into_view(self) -> None:
        """The call is the form's last part: at 80x24 it began on the last rows and its data line and notes
        were below them, where only a mouse wheel reached. Copying it scrolls down to its end."""
        form = self.query_one(VerticalScroll)
        self.call_after_refresh(form.scroll_end, animate=False)

    @work(thread=True, exclusive=True, group="try-copy")
    def _write_call(self, large: LargeCall) -> None:
        try:
            self.post_message(CallWritten(large.make(), None))
        except (ConsoleError, OSError) as exc:
            self.post_message(CallWritten(None, exc.message if isinstance(exc, ConsoleError) else str(exc)))

    def on_call_written(self, msg: CallWritten) -> None:
        if msg.call is None:
            self.app.notify(f"call not copied: its data could not be written: {msg.error}", severity="error")
            return
        self._show_call(msg.call)
        self.app.copy_to_clipboard(msg.call.text)
        folder = msg.call.files[0].parent if msg.call.files else None
        where = f"; its data files are in {folder}" if folder else ""
        self.app.notify(f"call copied to the clipboard (OSC 52){where}")
        self._call_into_view()

    @on(Button.Pressed, "#copy")
    def _copy_pressed(self) -> None:
        self.action_copy()

    @on(Button.Pressed, "#pick")
    def action_pick(self) -> None:
        focused = self.focused
        target = (
            focused if isinstance(focused, Input) and focused.id and focused.id.startswith("spec-") else None
        )
        target = target or (self.query("#spec-0").first() if self.query("#spec-0") else None)
        if target is None:
            return

        def picked(path: str | None) -> None:
            if path:
                suffix = Path(path).suffix.lower()
                image = suffix in (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
                index = int(target.id.split("-")[1])
                tensor = self.info.metadata.inputs[index]
                byte_input = tensor.datatype == "BYTES" or (
                    tensor.datatype == "UINT8" and len(tensor.shape) <= 2 and tensor.shape[-1] == -1
                )
                target.value = f"image:{path}" if image and not byte_input else f"@{path}"
                target.focus()
                # after the focus is back (it selects the whole box): the cursor at the path's end, so the
                # next key adds to it instead of replacing it
                self.call_after_refresh(target.action_end)

        # the folder of the file the SPEC names, if there is one (the last pick, an image elsewhere)
        named = target.value.strip().removeprefix("image:").removeprefix("@")
        folder = Path(named).expanduser().parent if named not in ("", "random", "zeros", "ones") else None
        start = (
            str(folder) if folder is not None and folder.is_absolute() and folder.is_dir() else self.start_dir
        )
        self.app.push_screen(FilePicker(start), picked)
