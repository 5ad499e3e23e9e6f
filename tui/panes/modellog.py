"""One model's server log, live (L in the Models pane): the lines the explainer attributes to it, its Python
stub's stderr among them, following the tail, with a ``/`` filter and a bounded buffer (floods collapsed).

Records are shown short (severity, time, message: the pid and source file of Triton's own lines take half
of 80 columns). The log so far is attributed in a worker (the managed server keeps 50,000 lines), then new lines arrive from
the server's log listener in batches, as toolong streams a file: the event loop only appends them.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Collection
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from triton_console.tui.core.server.controller import ServerController
from triton_console.tui.text import join, plain
from triton_console.tui.widgets.filterbox import FilterBox
from triton_console.tui.widgets.logview import SHOWN_MAX, FilteredLog, matching
from triton_console.tui.workers import work

FILTER_HINT = "filter this model's lines (case-insensitive); esc closes"
BATCH_S = 0.2  # how often new lines are handed to the screen
NOT_OURS = (
    "this server was not started by the console, so its log is not here: start one in the Server pane (s), "
    "or read the log where that server runs"
)  # (or the console started one, but shows another)


@dataclass
class ModelLogLines(Message):
    lines: list[str]


class ModelLogScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "close", "Close", id="modellog.close"),
        Binding("slash", "filter", "Filter", id="modellog.filter"),
        Binding("w", "wrap", "Wrap", id="modellog.wrap"),
    ]
    DEFAULT_CSS = """
    ModelLogScreen { align: center middle; }
    ModelLogScreen > Vertical { width: 100%; height: 100%; border: round $accent; background: $surface; }
    ModelLogScreen #modellog-title { height: auto; padding: 0 1; }
    ModelLogScreen #modellog-filter { margin: 0 1; }
    ModelLogScreen #model-log { height: 1fr; }
    """

    def __init__(self, controller: ServerController, model: str, models: Collection[str] = ()) -> None:
        super().__init__()
        self.controller, self.model, self.models = controller, model, set(models)
        self.kept: collections.deque[str] = collections.deque(maxlen=SHOWN_MAX)  # what the filter searches
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="modellog-title")
            yield FilterBox(FILTER_HINT, "#model-log", id="modellog-filter")
            yield FilteredLog(id="model-log")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#model-log").focus()
        m = self.controller.shown_managed()
        if m is None:
            self.query_one("#modellog-title", Static).update(
                join(("log of ", "bold"), plain(self.model, "bold"), "\n", (NOT_OURS, "yellow"))
            )
            return
        self._server = m
        with self._lock:  # a line the listener gets while the log is copied is in both: dropped once below
            m.add_listener(self._on_line)
            first = list(m.log)
        self._title()
        self._follow(first)

    def _on_line(self, line: str) -> None:  # on the server's log thread
        with self._lock:
            self._pending.append(line)

    @work(thread=True, exclusive=True, group="model-log")
    def _follow(self, first: list[str]) -> None:
        from triton_console.tui.core.server.modellog import ModelLines, short

        worker = get_current_worker()
        lines = ModelLines(self.model, self.models, before=0, after=0)  # others' lines around are noise here
        self.post_message(ModelLogLines([short(ln) for ln in lines.feed(first) + lines.flush()]))
        last = first[-1] if first else None
        while not self._stop.wait(BATCH_S) and not worker.is_cancelled:
            with self._lock:
                batch, self._pending = self._pending, []
            if batch and last is not None and batch[0] is last:
                batch = batch[1:]
            last = None
            out = lines.feed(batch) + lines.flush() if batch else []
            if out:
                self.post_message(ModelLogLines([short(ln) for ln in out]))

    def on_model_log_lines(self, msg: ModelLogLines) -> None:
        self.kept.extend(msg.lines)
        self.query_one("#model-log", FilteredLog).append(msg.lines)
        self._title()

    def _title(self) -> None:
        log = self.query_one("#model-log", FilteredLog)
        if log.pattern:
            count = f"filter {log.pattern!r}: {len(matching(self.kept, log.pattern))}/{len(self.kept)} lines"
        else:
            count = f"{len(self.kept)} lines"
        self.query_one("#modellog-title", Static).update(
            join(
                ("log of ", "bold"),
                plain(self.model, "bold"),
                Text(f"  {count}  (its stub's stderr among them)", style="dim"),
            )
        )

    def action_filter(self) -> None:
        self.query_one("#modellog-filter", FilterBox).open()

    def action_wrap(self) -> None:
        wrapped = self.query_one("#model-log", FilteredLog).toggle_wrap()
        self.notify("long lines wrap" if wrapped else "long lines whole: → and ← scroll", timeout=2)

    def action_close(self) -> None:
        if not self.query_one("#modellog-filter", FilterBox).close():
            self.dismiss()

    @on(Input.Changed, "#modellog-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one("#model-log", FilteredLog).show(event.value, matching(self.kept, event.value))
        self._title()

    @on(Input.Submitted, "#modellog-filter")
    def _filter_done(self) -> None:
        self.query_one("#model-log").focus()

    def on_unmount(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.remove_listener(self._on_line)
