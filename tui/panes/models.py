"""Models pane: the repository index as a live table; load/unload; config and statistics of the selection."""

from __future__ import annotations

import json
import threading

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from ..core.errors import ConsoleError

STATE_STYLE = {"READY": "green", "UNAVAILABLE": "red", "LOADING": "yellow", "UNLOADING": "yellow"}
COLUMNS = ("state", "name", "version", "reason")


class ModelsPane(Horizontal):
    BINDINGS = [
        Binding("l", "load", "Load", id="models.load"),
        Binding("u", "unload", "Unload", id="models.unload"),
        Binding("r", "refresh", "Refresh", id="models.refresh"),
    ]

    DEFAULT_CSS = """
    ModelsPane #index { width: 1fr; height: 1fr; }
    ModelsPane #detail { width: 36; height: 1fr; border-left: solid $panel; padding: 0 1; }
    """

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._selected: str | None = None
        self._rows: dict[str, tuple] = {}
        # Load/unload requests run one after another: a load sent while an unload is still in flight
        # can be undone by that unload finishing after it.
        self._lu_lock = threading.Lock()

    def compose(self) -> ComposeResult:
        table = DataTable(id="index", cursor_type="row", zebra_stripes=True)
        for col in COLUMNS:
            table.add_column(col, key=col)
        yield table
        with VerticalScroll(id="detail"):
            yield Static("select a model to see its config and statistics", id="detail-text")

    def focus_default(self) -> None:
        self.query_one("#index").focus()

    def update_rows(self, rows: list[dict]) -> None:
        """Update the table in place by row key: no flicker, the cursor stays on its model."""
        table = self.query_one("#index", DataTable)
        wanted = {r["name"]: r for r in rows if r.get("name")}
        with self.app.batch_update():
            for name, r in sorted(wanted.items()):
                state = r.get("state") or "-"
                cells = (
                    Text(state, style=STATE_STYLE.get(state, "")),
                    name,
                    r.get("version") or "-",
                    (r.get("reason") or "").splitlines()[0][:200] if r.get("reason") else "",
                )
                if name not in self._rows:
                    table.add_row(*cells, key=name)
                elif self._rows[name] != cells:
                    for col, value, old in zip(COLUMNS, cells, self._rows[name], strict=True):
                        if value != old:
                            table.update_cell(name, col, value)
                self._rows[name] = cells
            for gone in [n for n in self._rows if n not in wanted]:
                table.remove_row(gone)
                del self._rows[gone]
        if table.row_count and self._selected is None:
            self._select_current()

    @on(DataTable.RowHighlighted, "#index")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key and event.row_key.value != self._selected:
            self._selected = event.row_key.value
            self._fetch_detail(self._selected)

    def _select_current(self) -> None:
        table = self.query_one("#index", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
            if key != self._selected:
                self._selected = key
                self._fetch_detail(key)

    @property
    def selected(self) -> str | None:
        return self._selected

    @work(thread=True, exclusive=True, group="model-detail")
    def _fetch_detail(self, name: str) -> None:
        client = self.app.client
        parts = []
        try:
            cfg = client.model_config(name)
            parts.append(("config", _config_summary(cfg)))
            parts.append(("config.json", json.dumps(cfg, indent=1)))
        except ConsoleError as exc:
            parts.append(("config", f"unavailable: {exc.message}"))
        try:
            stats = client.model_statistics(name)
            parts.append(("statistics", _stats_text(stats)))
        except ConsoleError as exc:
            parts.append(("statistics", f"unavailable: {exc.message}"))
        self.app.call_from_thread(self._show_detail, name, parts)

    def _show_detail(self, name: str, parts: list[tuple[str, str]]) -> None:
        if name != self._selected:
            return
        from rich.console import Group
        from rich.text import Text

        items = [Text(name, style="bold")]
        for title, body in parts:
            items.append(Text(title, style="bold underline"))
            items.append(
                Syntax(body, "json", word_wrap=True, theme="ansi_dark")
                if body.startswith("{")
                else Text(body)
            )
        self.query_one("#detail-text", Static).update(Group(*items))

    def action_refresh(self) -> None:
        self.app.poll_now()
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
        client = self.app.client
        try:
            with self._lu_lock:
                (client.load_model if what == "load" else client.unload_model)(name)
            self.app.call_from_thread(self.app.notify, f"{name}: {what}ed")
        except ConsoleError as exc:
            hint = ""
            if "explicit" in exc.message or "not allowed" in exc.message or "polling" in exc.message:
                hint = " (the server must run with --model-control explicit)"
            self.app.call_from_thread(
                self.app.notify, exc.message + hint, title=f"{what} failed", severity="error"
            )
        self.app.call_from_thread(self.app.poll_now)


def _config_summary(cfg: dict) -> str:
    """The few fields people look for first: where it runs, batching, tensors, ensemble steps."""

    def tensors(items: list[dict]) -> str:
        return ", ".join(
            f"{t.get('name')} {t.get('data_type', '').removeprefix('TYPE_')} {t.get('dims')}" for t in items
        )

    lines = [
        f"{cfg.get('platform') or cfg.get('backend') or '?'}  max batch {cfg.get('max_batch_size', 0)}",
        f"in:  {tensors(cfg.get('input', []))}",
        f"out: {tensors(cfg.get('output', []))}",
    ]
    groups = cfg.get("instance_group", [])
    if groups:
        lines.append("instances: " + ", ".join(f"{g.get('count', 1)}x {g.get('kind', '')}" for g in groups))
    if "dynamic_batching" in cfg:
        lines.append("dynamic batching on")
    steps = cfg.get("ensemble_scheduling", {}).get("step", [])
    if steps:
        lines.append("steps: " + " → ".join(s.get("model_name", "?") for s in steps))
    params = {k: v.get("string_value", "") for k, v in cfg.get("parameters", {}).items()}
    if params.get("triton_console.trained") == "false":
        lines.append("⚠ UNTRAINED (random) weights")
    return "\n".join(lines)


def _stats_text(stats: list[dict]) -> str:
    if not stats:
        return "no statistics (model not loaded?)"
    lines = []
    for s in stats:
        inf = s.get("inference_stats", {})
        ok = inf.get("success", {})
        count = int(ok.get("count", 0))

        def avg(kind: str, inf=inf) -> str:
            d = inf.get(kind, {})
            c = int(d.get("count", 0))
            return f"{int(d.get('ns', 0)) / c / 1e6:.2f} ms" if c else "-"

        lines.append(
            f"v{s.get('version', '?')}: {count} ok, {int(inf.get('fail', {}).get('count', 0))} failed, "
            f"{int(s.get('execution_count', 0))} executions, {int(s.get('inference_count', 0))} inferences\n"
            f"  request {avg('success')}  queue {avg('queue')}  infer {avg('compute_infer')}  "
            f"in {avg('compute_input')}  out {avg('compute_output')}"
        )
    return "\n".join(lines)
