"""Servers pane: every server of the servers file, refreshed in the background; enter makes one active.

The active server is always listed, marked: a servers-file entry gets the mark, and a server given with
-u or started by the console gets a row of its own on top, kept current by the console's own poll.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from triton_console.tui.core.client import contexts
from triton_console.tui.core.client.client import TritonClient
from triton_console.tui.core.server.controller import ServerSnapshot
from triton_console.tui.core.server.fleet import Fleet, FleetRow
from triton_console.tui.text import cell, plain
from triton_console.tui.widgets.table import PlainTable

REFRESH_S = 2.0
PENDING = "…"  # not asked yet
ACTIVE = "(active)"  # the row of an active server not in the file (no file name can start with "(")


@dataclass
class FleetRefreshed(Message):
    rows: list[FleetRow]


@dataclass
class ContextChosen(Message):
    """Make this server of the servers file the active one."""

    name: str


def name_cell(name: str, active: bool) -> Text:
    return cell(("▶ " if active else "  ") + name, "bold" if active else "")


def row_cells(r: FleetRow, active: bool) -> tuple:
    if r.error == PENDING:
        state = cell(PENDING)
    elif r.ready:
        state = cell("● ready", "green")
    elif r.live:
        state = cell("● live", "yellow")
    else:
        state = cell("● down", "red")
    ping = f"{r.ping_ms:.1f}" if r.ping_ms is not None else "-"
    rate = f"{r.rate:.1f}" if r.rate is not None else "-"
    models = f"{r.models_ready}/{r.models_total}" if r.live else "-"
    return (
        name_cell(r.name, active),
        state,
        cell(r.server or "-"),
        models,
        ping,
        rate,
        cell(
            r.url if r.error == PENDING else r.error or r.url,
            "red" if r.error not in (None, PENDING) else "dim",
        ),
    )


COLUMNS = [
    ("server", 12),
    ("state", 7),
    ("name/version", 13),
    ("models", 6),
    ("ping ms", 7),
    ("inf/s", 5),
    ("url / error", None),
]


class ServersPane(Vertical):
    BINDINGS = [
        Binding(
            "enter", "choose", "Make active", id="servers.choose", priority=True
        ),  # shown: the table's enter hid it
        Binding("r", "reload", "Reload file", id="servers.reload"),
    ]
    DEFAULT_CSS = """
    ServersPane #fleet { height: 1fr; }
    ServersPane #fleet-note { height: auto; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, active: str | None = None, url: str = "", **kw) -> None:
        super().__init__(**kw)
        self.active = active
        self.url = url  # the active server's URL
        self.names: list[str] = []  # the servers file's entries, in order
        self.fleet: Fleet | None = None
        self.problems: list[str] = []

    def compose(self) -> ComposeResult:
        table = PlainTable(id="fleet", cursor_type="row", zebra_stripes=True)
        # fixed widths for what the columns hold (sized on the pending rows, state read 're…'; resizing on
        # each refresh stalled the loop), the url / error runs on
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        yield table
        yield Static("", id="fleet-note")

    def on_mount(self) -> None:
        self.action_reload()
        self.set_interval(REFRESH_S, self._tick)

    def focus_default(self) -> None:
        self.query_one("#fleet").focus()

    def action_reload(self) -> None:
        entries, self.problems = contexts.load()
        if self.fleet is not None:
            self.fleet.close()
        self.fleet = Fleet(entries) if entries else None
        self.names = [e.name for e in entries]
        table = self.query_one("#fleet", PlainTable)
        table.clear()
        if self.active not in self.names:
            table.add_row(*row_cells(FleetRow(ACTIVE, self.url, error=PENDING), True), key=ACTIVE)
        for e in entries:
            table.add_row(
                *row_cells(FleetRow(e.name, e.url, error=PENDING), e.name == self.active), key=e.name
            )
        self._note(len(entries))
        self._tick()

    def _note(self, count: int) -> None:
        lines = [f"{count} server(s) in {contexts.path()}; enter makes one active, r reloads the file"]
        if not count:
            lines = [f"no servers in {contexts.path()} yet: triton-console servers add NAME URL"]
        lines += [f"problem: {p}" for p in self.problems]
        self.query_one("#fleet-note", Static).update(plain("\n".join(lines), multiline=True))

    def _tick(self) -> None:
        if self.fleet is not None:
            self._refresh(self.fleet)

    @work(thread=True, exclusive=True, group="fleet")
    def _refresh(self, fleet: Fleet) -> None:
        self.post_message(FleetRefreshed(fleet.refresh()))

    def on_fleet_refreshed(self, msg: FleetRefreshed) -> None:
        table = self.query_one("#fleet", PlainTable)
        with self.app.batch_update():
            for r in msg.rows:
                if r.name not in table.rows:
                    continue
                for key, value in zip(table.columns, row_cells(r, r.name == self.active), strict=True):
                    table.update_cell(r.name, key, value)

    def action_choose(self) -> None:
        table = self.query_one("#fleet", PlainTable)
        if not table.row_count:
            return
        name = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        if name != ACTIVE:  # already the active one
            self.post_message(ContextChosen(name))

    @on(PlainTable.RowSelected, "#fleet")
    def _selected(self) -> None:
        self.action_choose()

    def server_changed(self, client: TritonClient, context: str | None) -> None:
        """Another server became the active one: mark it (a row of its own when the file lacks it)."""
        self.active, self.url = context, client.url
        table = self.query_one("#fleet", PlainTable)
        if ACTIVE in table.rows and context in self.names:
            table.remove_row(ACTIVE)
            table.refresh()
        elif ACTIVE not in table.rows and context not in self.names:
            self.action_reload()  # the row goes on top
            return
        self.show_snapshot(ServerSnapshot(url=client.url, error=PENDING))
        first = next(iter(table.columns))
        for name in self.names:  # the mark moves
            table.update_cell(name, first, name_cell(name, name == context))

    def show_snapshot(self, snap: ServerSnapshot) -> None:
        """The console's poll of the active server fills its own row (the file's rows refresh themselves)."""
        table = self.query_one("#fleet", PlainTable)
        if ACTIVE not in table.rows or snap.url != self.url:
            return
        row = FleetRow(
            ACTIVE,
            snap.url,
            live=snap.live,
            ready=snap.ready,
            server=snap.server.title if snap.server else "",
            models_ready=len(snap.ready_models),
            models_total=len(snap.models),
            error=snap.error,
        )
        for col, value in zip(table.columns, row_cells(row, True), strict=True):
            table.update_cell(ACTIVE, col, value)

    def on_unmount(self) -> None:
        if self.fleet is not None:
            self.fleet.close()

    @staticmethod
    def title(name: str | None, url: str) -> Text:
        return Text(f"{name} — {url}" if name else url)
