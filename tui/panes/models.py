"""Models pane: the model list as a live table; load/unload; config (protobuf text format) and statistics."""

from __future__ import annotations

import threading

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from ..core import responses as rs
from ..core.controller import ServerController, ServerSnapshot
from ..core.errors import ConsoleError
from ..hints import worded
from ..messages import ModelDetail, Notice, PollRequested
from ..text import cell, plain
from ..widgets.table import PlainTable

STATE_STYLE = {"READY": "green", "UNAVAILABLE": "red", "LOADING": "yellow", "UNLOADING": "yellow"}
COLUMNS = ("state", "name", "version", "reason")
ROWS_PER_TICK = 500  # a 20,000-model index is added in batches so the event loop never stalls


def row_cells(entry: rs.IndexEntry) -> tuple:
    state = entry.state or "-"
    return (
        cell(state, STATE_STYLE.get(state, "")),
        cell(entry.name),
        cell(entry.version or "-"),
        cell(entry.reason),
    )


def config_text(config) -> str:
    """A model config as its ``config.pbtxt`` would look (protobuf text format)."""
    from google.protobuf import text_format

    return text_format.MessageToString(config, as_utf8=True)


def config_summary(config) -> str:
    """The few fields people look for first: where it runs, batching, tensors, ensemble steps."""
    from tritonclient.grpc import model_config_pb2 as mc

    def tensors(items) -> str:
        return ", ".join(
            f"{t.name} {mc.DataType.Name(t.data_type).removeprefix('TYPE_')} {list(t.dims)}" for t in items
        )

    lines = [
        f"{config.platform or config.backend or '?'}  max batch {config.max_batch_size}",
        f"in:  {tensors(config.input)}",
        f"out: {tensors(config.output)}",
    ]
    if config.instance_group:
        lines.append(
            "instances: "
            + ", ".join(
                f"{g.count or 1}x {mc.ModelInstanceGroup.Kind.Name(g.kind)}" for g in config.instance_group
            )
        )
    if config.HasField("dynamic_batching"):
        lines.append("dynamic batching on")
    steps = [s.model_name for s in config.ensemble_scheduling.step]
    if steps:
        lines.append("steps: " + " → ".join(steps))
    if (
        "triton_console.trained" in config.parameters
        and config.parameters["triton_console.trained"].string_value == "false"
    ):
        lines.append("⚠ UNTRAINED (random) weights")
    return "\n".join(lines)


def metadata_text(meta: rs.ModelMetadata) -> str:
    lines = [f"platform {meta.platform or '?'}  versions {', '.join(meta.versions) or '?'}"]
    lines += [f"in:  {t.name} {t.datatype} {list(t.shape)}" for t in meta.inputs]
    lines += [f"out: {t.name} {t.datatype} {list(t.shape)}" for t in meta.outputs]
    return "\n".join(lines)


def stats_text(stats: list[rs.ModelStats]) -> str:
    if not stats:
        return "no statistics (model not loaded?)"
    lines = []
    for s in stats:
        ok = s.duration("success")[0]

        def avg(kind: str, s=s) -> str:
            c, ns = s.duration(kind)
            return f"{ns / c / 1e6:.2f} ms" if c else "-"

        lines.append(
            f"v{s.version or '?'}: {ok} ok, {s.duration('fail')[0]} failed, {s.execution_count} executions, "
            f"{s.inference_count} inferences\n"
            f"  request {avg('success')}  queue {avg('queue')}  infer {avg('compute_infer')}  "
            f"in {avg('compute_input')}  out {avg('compute_output')}"
        )
    return "\n".join(lines)


class ModelsPane(Horizontal):
    BINDINGS = [
        Binding("l", "load", "Load", id="models.load"),
        Binding("u", "unload", "Unload", id="models.unload"),
        Binding("r", "refresh", "Refresh", id="models.refresh"),
    ]

    DEFAULT_CSS = """
    ModelsPane #index { width: 1fr; height: 1fr; }
    ModelsPane #detail { width: 45%; max-width: 72; height: 1fr; border-left: solid $panel; padding: 0 1; }
    """

    def __init__(self, controller: ServerController, **kw) -> None:
        super().__init__(**kw)
        self.controller = controller
        self._selected: str | None = None
        self._rows: dict[str, tuple] = {}
        self._entries: dict[str, rs.IndexEntry] = {}
        self._pending: list[str] = []  # rows still to add, a batch per tick
        self.note = ""  # why the list is empty or partial, as shown
        # Load/unload requests run one after another: a load sent while an unload is still in flight
        # can be undone by that unload finishing after it.
        self._lu_lock = threading.Lock()

    def compose(self) -> ComposeResult:
        table = PlainTable(id="index", cursor_type="row", zebra_stripes=True)
        for col in COLUMNS:
            table.add_column(col, key=col)
        yield table
        with VerticalScroll(id="detail"):
            yield Static("select a model to see its config and statistics", id="detail-text")

    def focus_default(self) -> None:
        self.query_one("#index").focus()

    @property
    def selected(self) -> str | None:
        return self._selected

    def show_snapshot(self, snap: ServerSnapshot) -> None:
        """Update the table in place by row key: no flicker, the cursor stays on its model."""
        table = self.query_one("#index", PlainTable)
        entries = snap.models if snap.live else []
        wanted = {e.name: row_cells(e) for e in entries}
        self._entries = {e.name: e for e in entries}
        if not snap.live:
            self.note = "server not reachable"
        elif not snap.models_from:
            self.note = "this server lists no models (no repository index, no model list)"
        else:
            self.note = f"{len(wanted)} models from the {snap.models_from}"
        table.border_title = Text(self.note)
        with self.app.batch_update():
            for name, cells in wanted.items():
                old = self._rows.get(name)
                if old is None or old == cells:
                    continue
                self._rows[name] = cells
                if name in table.rows:  # else still pending: added with its new cells
                    for col, value, before in zip(COLUMNS, cells, old, strict=True):
                        if value != before:
                            table.update_cell(name, col, value)
            for gone in [n for n in self._rows if n not in wanted]:
                if gone in table.rows:
                    table.remove_row(gone)
                del self._rows[gone]
        new = sorted(n for n in wanted if n not in self._rows)
        for name in new:
            self._rows[name] = wanted[name]
        self._pending = [n for n in self._pending if n in wanted] + new
        if self._pending:
            self._add_batch()

    def _add_batch(self) -> None:
        table = self.query_one("#index", PlainTable)
        batch, self._pending = self._pending[:ROWS_PER_TICK], self._pending[ROWS_PER_TICK:]
        with self.app.batch_update():
            for name in batch:
                if name not in table.rows and name in self._rows:
                    table.add_row(*self._rows[name], key=name)
        if self._pending:
            self.set_timer(0.01, self._add_batch)
        elif table.row_count and self._selected is None:
            self._select_current()

    @on(PlainTable.RowHighlighted, "#index")
    def _highlighted(self, event: PlainTable.RowHighlighted) -> None:
        if event.row_key and event.row_key.value != self._selected:
            self._selected = event.row_key.value
            self._fetch_detail(self._selected)

    def _select_current(self) -> None:
        table = self.query_one("#index", PlainTable)
        if table.row_count:
            key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
            if key != self._selected:
                self._selected = key
                self._fetch_detail(key)

    @work(thread=True, exclusive=True, group="model-detail")
    def _fetch_detail(self, name: str) -> None:
        client = self.controller.client
        parts: list[tuple[str, str]] = []
        entry = self._entries.get(name)
        if entry is not None and (entry.state != "READY" or entry.reason):
            parts.append(("state", f"{entry.state or '?'}" + (f": {entry.reason}" if entry.reason else "")))

        def section(title: str, produce) -> bool:
            """Add what ``produce`` returns; on failure one line, and False when the server is gone."""
            try:
                parts.extend(produce())
                return True
            except ConsoleError as exc:
                parts.append((title, f"unavailable: {exc.message}"))
                return exc.code != "unreachable"

        def config() -> list[tuple[str, str]]:
            c = client.model_config(name)
            return [("config", config_summary(c)), ("config.pbtxt", config_text(c))]

        def statistics() -> list[tuple[str, str]]:
            p = client.model_statistics(name)
            return [("statistics", "\n".join([stats_text(p.items), *p.problems]))]

        _ = (
            section("metadata", lambda: [("metadata", metadata_text(client.model_metadata(name)))])
            and section("config", config)
            and section("statistics", statistics)
        )
        self.post_message(ModelDetail(name, parts))

    def on_model_detail(self, msg: ModelDetail) -> None:
        if msg.name != self._selected:
            return
        items = [plain(msg.name, "bold")]
        for title, body in msg.parts:
            items.append(Text(title, style="bold underline"))
            items.append(plain(body, multiline=True, limit=20000))
        self.query_one("#detail-text", Static).update(Group(*items))

    def action_refresh(self) -> None:
        self.post_message(PollRequested())
        if self._selected:
            self._fetch_detail(self._selected)

    def action_load(self) -> None:
        self._load_unload("load")

    def action_unload(self) -> None:
        self._load_unload("unload")

    def _load_unload(self, what: str) -> None:
        name = self._selected
        if not name:
            self.app.notify("select a model first", severity="warning")
            return
        self.app.notify(f"{what}ing {name}…")
        self._do_load_unload(what, name)

    @work(thread=True, group="load-unload")
    def _do_load_unload(self, what: str, name: str) -> None:
        client = self.controller.client
        try:
            with self._lu_lock:
                (client.load_model if what == "load" else client.unload_model)(name)
            self.post_message(Notice(f"{name}: {what}ed"))
        except ConsoleError as exc:
            self.post_message(Notice(worded(exc), f"{what} failed", "error"))
        self.post_message(PollRequested([name]))

    def on_poll_requested(self, msg: PollRequested) -> None:
        """On its way up to the app: a model of ours was (un)loaded, so its detail may have changed."""
        if self._selected in msg.models:
            self._fetch_detail(self._selected)
