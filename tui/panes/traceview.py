"""Where one request's time goes, drawn in the console: the Try form (ctrl+t) and the Classify pane (t) trace
their current request with the same core as ``triton-console trace`` (Triton's trace records, or the
statistics where the server's trace file is out of reach) and show a waterfall per request and p50/p99 per
stage, as text bars that fit the screen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client.client import ModelInfo
from triton_console.tui.core.server.controller import ServerController
from triton_console.tui.hints import worded
from triton_console.tui.text import join, plain
from triton_console.tui.workers import work

COUNT = 5  # requests traced, as `trace` sends by default
BAR_SHARE = 3  # the bars take 1/BAR_SHARE of the line at least


@dataclass
class TraceDone(Message):
    model: str
    result: object | None  # core.server.trace.Trace
    error: str | None = None


def trace_text(result, columns: int) -> Text:
    """The report as plain text (model names are untrusted), the bars and the stage figures coloured. The
    bars get a third of the line at least (the names first left them 12 cells of 73 at 80 columns beside the
    generated ensemble's 34-character name): a name that does not fit beside them is cut with an ellipsis."""
    from triton_console.tui.core.server import trace

    out = Text()
    if result.note:
        out.append_text(plain(f"note: {result.note}", "yellow"))
        out.append("\n")
    for line in trace.report(result, columns, bar_min=max(12, columns // BAR_SHARE)):
        text = plain(line, "bold" if line.startswith(("request ", "per stage")) else "")
        text.highlight_regex("█+", "cyan")
        out.append_text(text)
        out.append("\n")
    out.rstrip()
    return out


class TraceScreen(ModalScreen):
    """Trace ``COUNT`` requests of a model (the request ``plan`` builds from its metadata) in a worker."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="trace.close"),
        Binding("ctrl+t", "again", "Trace again", id="trace.again"),
    ]
    DEFAULT_CSS = """
    TraceScreen { align: center middle; }
    TraceScreen > VerticalScroll {
        width: 100%; height: 1fr; border: round $accent; background: $surface; padding: 0 1;
        scrollbar-gutter: stable;
    }
    TraceScreen #trace-title { height: auto; }
    TraceScreen #trace-body { height: auto; }
    """

    def __init__(
        self,
        controller: ServerController,
        model: str,
        plan: Callable[[ModelInfo], list],
        what: str,
        count: int = COUNT,
    ) -> None:
        super().__init__()
        self.controller, self.model, self.plan, self.what, self.count = controller, model, plan, what, count
        self.result = None
        self._tracing = False

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("", id="trace-title")
            yield Static("", id="trace-body")
        yield Footer()

    def on_mount(self) -> None:
        self.action_again()

    def _title(self, state: str) -> Text:
        return join(("Trace ", "bold"), plain(self.model, "bold"), plain(f"  {self.what}"), (state, "dim"))

    def action_again(self) -> None:
        if self._tracing:  # two traces of one model at once would restore each other's settings
            self.app.notify("a trace is running", severity="warning")
            return
        self._tracing = True
        self.query_one("#trace-title", Static).update(self._title(f"  tracing {self.count} requests…"))
        self._trace()

    @work(thread=True, exclusive=True, group="trace")
    def _trace(self) -> None:
        from triton_console.tui.core.request import infer
        from triton_console.tui.core.server import trace

        client = self.controller.client
        try:
            infer.ensure_ready(client, self.model)
            plans = self.plan(client.model_info(self.model))
            self.post_message(TraceDone(self.model, trace.run(client, self.model, plans, self.count)))
        except ConsoleError as exc:
            self.post_message(TraceDone(self.model, None, worded(exc)))

    def on_trace_done(self, msg: TraceDone) -> None:
        if msg.model != self.model:
            return
        self._tracing = False
        title = self.query_one("#trace-title", Static)
        body = self.query_one("#trace-body", Static)
        if msg.error:
            title.update(self._title("  failed"))
            body.update(join(("error: ", "bold red"), plain(msg.error, "red", limit=2000)))
            return
        self.result = msg.result
        source = "Triton's trace records" if msg.result.source == "trace" else "the statistics"
        title.update(self._title(f"  {len(msg.result.requests)} requests, from {source}"))
        self._draw()

    def on_resize(self) -> None:
        if self.result is not None:
            self._draw()

    def _draw(self) -> None:
        body = self.query_one("#trace-body", Static)
        columns = max(40, body.content_region.width or self.size.width - 4)
        body.update(trace_text(self.result, columns))
