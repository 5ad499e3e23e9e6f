"""Servers pane: every server of the servers file, refreshed in the background; enter makes one active.

The active server is always listed, marked: a servers-file entry gets the mark, and a server given with
-u or started by the console gets a row of its own on top, kept current by the console's own poll; its
inf/s comes from the pane's own refresh (the statistics call each file row makes too).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from triton_console.tui.core.client import contexts
from triton_console.tui.core.client.client import TritonClient
from triton_console.tui.core.server.controller import ServerController, ServerSnapshot
from triton_console.tui.core.server.fleet import Fleet, FleetRow, InferenceRate, probe
from triton_console.tui.text import cell, plain
from triton_console.tui.widgets.table import PlainTable
from triton_console.tui.workers import work

REFRESH_S = 2.0
RATE_SOON_S = 1.0  # a refresh whose inference count was a row's first: the next one this soon (a rate)
PENDING = "…"  # not asked yet
ACTIVE = "(active)"  # the row of an active server not in the file (no file name can start with "(")
MANAGED = "(managed)"  # that row's name while the managed server runs and a file entry is active
URL_CELLS = (
    16  # what an 80-column screen shows of the url / error column (it takes the room left, at least this)
)


@dataclass
class FleetRefreshed(Message):
    rows: list[FleetRow]
    own: tuple[str, float | None, bool] | None = None  # the active server's own row: URL, inf/s, pending
    managed: FleetRow | None = None  # the managed server's row while a file entry is active


@dataclass
class ContextChosen(Message):
    """Make this server of the servers file the active one."""

    name: str


class ManagedChosen(Message):
    """Make the running managed server the active one again."""


def short_url(url: str, cells: int = URL_CELLS) -> str:
    """The URL cut to ``cells``: the scheme first, then the host's middle; never the port (two servers on one
    host differ only there). The full URL is in the line under the table."""
    rest = url.partition("://")[2] or url
    if len(rest) <= cells:
        return rest
    host, sep, port = rest.rpartition(":")
    if not sep:
        host, port = rest, ""
    keep = max(cells - len(port) - len(sep) - 1, 2)
    return f"{host[: keep - keep // 2]}…{host[-(keep // 2) :] if keep // 2 else ''}{sep}{port}"


def detail_line(r: FleetRow, active: bool = True) -> Text:
    """The selected row in full: its URL and its whole error (the column cuts both at 80 columns). The own
    row is named as the table names it: "(managed)" when it is not the active one."""
    name = MANAGED if r.name == ACTIVE and not active else r.name
    out = Text.assemble(plain(name, "bold"), "  ", plain(r.url))
    if r.error not in (None, PENDING):
        out.append("  ")
        out.append_text(plain(r.error, "red", limit=400))
    return out


def name_cell(name: str, active: bool) -> Text:
    if name == ACTIVE and not active:
        name = MANAGED
    return cell(("▶ " if active else "  ") + name, "bold" if active else "")


def row_cells(r: FleetRow, active: bool, url_cells: int = URL_CELLS) -> tuple:
    if r.error == PENDING:
        state = cell(PENDING)
    elif r.ready:
        state = cell("● ready", "green")
    elif r.live:
        state = cell("● live", "yellow")
    else:
        state = cell("● down", "red")
    # whole ms ("<1" below): tenths changed at every refresh and redrew the whole table (DataTable drops
    # every row's render cache on any cell update), a 40-60 ms stall with 20 servers on 2 cores
    ping = "-" if r.ping_ms is None else "<1" if r.ping_ms < 1 else f"{r.ping_ms:.0f}"
    # inf/s is a rate between two refreshes: after the first, "…" (measuring), never "-" (read as none)
    rate = f"{r.rate:.1f}" if r.rate is not None else PENDING if r.rate_pending else "-"
    models = f"{r.models_ready}/{r.models_total}" if r.live else "-"
    return (
        name_cell(r.name, active),
        state,
        cell(r.server or "-"),
        models,
        ping,
        rate,
        cell(
            short_url(r.url, url_cells) if r.error in (None, PENDING) else r.error,
            "red" if r.error not in (None, PENDING) else "dim",
        ),
    )


def _looks(value) -> tuple:
    """What a cell shows: its text and style (rich's Text equality ignores the style)."""
    if isinstance(value, Text):
        return (value.plain, str(value.style), tuple(value.spans))
    return (str(value), "", ())


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
    ServersPane #fleet-detail { height: auto; max-height: 3; padding: 0 1; }
    ServersPane #fleet-note { height: auto; padding: 0 1; color: $text-muted; }
    """

    def __init__(
        self, active: str | None = None, url: str = "", controller: ServerController | None = None, **kw
    ) -> None:
        super().__init__(**kw)
        self.controller = controller  # its client: the active server, for the own row's inf/s
        self._own_rate = InferenceRate()  # used by the refresh worker only
        self._managed_rate = InferenceRate()  # the managed row's, while a file entry is active (worker only)
        self._managed_client: TritonClient | None = None  # its client (worker only)
        # the own row's URL, inf/s and whether that is still measured (its first count), last refresh
        self.own_rate: tuple[str, float | None, bool] = ("", None, False)
        self._soon = None  # the prompt refresh that follows a first count (RATE_SOON_S)
        self.active = active
        self.url = url  # the active server's URL
        self.own_url = url  # the URL of the row of a server not in the file (-u, or the managed one)
        self.managed = False  # the managed server runs (its row stays when a file entry is active)
        self.shown: dict[str, FleetRow] = {}  # each row as last drawn, for the line under the table
        self._cells: dict[str, list] = {}  # each row's cells as a refresh last drew them (see _looks)
        self.names: list[str] = []  # the servers file's entries, in order
        self.fleet: Fleet | None = None
        self.problems: list[str] = []
        self.url_cells = URL_CELLS  # the url / error column's width, as the table's width leaves it
        self._described: str | None = None  # the row the line under the table is about

    def compose(self) -> ComposeResult:
        table = PlainTable(id="fleet", cursor_type="row", zebra_stripes=True)
        # fixed widths for what the columns hold (sized on the pending rows, state read 're…'; resizing on
        # each refresh stalled the loop); the url / error takes the room left (_fit: sized on the first
        # rows, it cut the port of the managed server that then started on other ports: 127.0.0.1:368…)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        yield table
        yield Static("", id="fleet-detail")
        yield Static("", id="fleet-note")

    def on_mount(self) -> None:
        self.action_reload()
        self.set_interval(REFRESH_S, self._tick)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """The url / error column to the width left, and each row's URL cut to it (never its port)."""
        table = self.query_one("#fleet", PlainTable)
        cells = table.fill_last_column(URL_CELLS)
        if cells == self.url_cells:
            return
        self.url_cells = cells
        with self.app.batch_update():
            for name, row in self.shown.items():
                if name in table.rows:
                    self._update_row(table, name, self._cells_of(row))

    def _is_active(self, name: str) -> bool:
        return self.active not in self.names if name == ACTIVE else name == self.active

    def _cells_of(self, r: FleetRow) -> tuple:
        return row_cells(r, self._is_active(r.name), self.url_cells)

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
        self._cells = {}
        self.shown = {}
        if self.active not in self.names or self.managed:
            own = FleetRow(ACTIVE, self.own_url, error=PENDING)
            table.add_row(*self._cells_of(own), key=ACTIVE)
            self.shown[ACTIVE] = own
        for e in entries:
            row = FleetRow(e.name, e.url, error=PENDING)
            table.add_row(*self._cells_of(row), key=e.name)
            self.shown[e.name] = row
        self._show_detail()
        self._note(len(entries))
        self._tick()

    def _note(self, count: int) -> None:
        lines = [f"{count} server(s) in {contexts.path()}; enter makes one active, r reloads the file"]
        if not count:
            lines = [f"no servers in {contexts.path()} yet: triton-console servers add NAME URL"]
        lines += [f"problem: {p}" for p in self.problems]
        self.query_one("#fleet-note", Static).update(plain("\n".join(lines), multiline=True))

    def _own_shown(self) -> bool:
        """The active server has the row of its own (not a file entry's)."""
        return ACTIVE in self.query_one("#fleet", PlainTable).rows and self.active not in self.names

    def _managed_url(self) -> str | None:
        """The managed server's own URL while it runs (None otherwise)."""
        c = self.controller
        if c is None or c.managed_connection is None or not c.is_managed_running():
            return None
        return str(c.managed_connection.endpoint())  # as TritonClient.url says it

    def _tick(self) -> None:
        own = self.controller.client if self.controller is not None and self._own_shown() else None
        if own is not None and self.controller.holding():  # --start: not the server holding the URL's port
            own = None
        # a file entry is active and the managed server keeps its row: the console's poll asks the active
        # server only, so the row is probed here as the file's rows are (not left as the last server shown)
        managed = None
        if ACTIVE in self.query_one("#fleet", PlainTable).rows and self.active in self.names:
            managed = self.controller.managed_connection if self._managed_url() else None
        if self.fleet is not None or own is not None or managed is not None:
            self._refresh(self.fleet, own, managed)

    @work(thread=True, exclusive=True, group="fleet")
    def _refresh(self, fleet: Fleet | None, own: TritonClient | None, managed=None) -> None:
        """The file's servers, and the active server's inference rate when it has its own row (the console's
        poll asks no statistics: one call here, as for each file row); the managed server's row when a file
        entry is active."""
        rows = fleet.refresh() if fleet is not None else []
        rate = None
        if own is not None:
            rate = (own.url, self._own_rate.sample(own), self._own_rate.pending)
        managed_row = None
        if managed is not None:
            client = self._managed_client
            fresh = client is None or client.connection.url != managed.url
            if fresh:
                if client is not None:
                    client.close()
                client = self._managed_client = TritonClient(connection=replace(managed, timeout=2.0))
            # a new client's first call also connects: the ping is timed on the second, as the file rows' are
            managed_row = probe(ACTIVE, client, self._managed_rate, first_call=fresh)
        self.post_message(FleetRefreshed(rows, rate, managed_row))

    def on_fleet_refreshed(self, msg: FleetRefreshed) -> None:
        table = self.query_one("#fleet", PlainTable)
        with self.app.batch_update():
            for r in msg.rows:
                if r.name not in table.rows:
                    continue
                self._update_row(table, r.name, self._cells_of(r))
                self.shown[r.name] = r
            mine = msg.managed
            if (
                mine is not None
                and ACTIVE in table.rows
                and self.active in self.names
                and mine.url == self.own_url
            ):
                self._update_row(table, ACTIVE, self._cells_of(mine))
                self.shown[ACTIVE] = mine
            if msg.own is not None:
                self.own_rate = msg.own
                row = self.shown.get(ACTIVE)
                if row is not None and self._own_shown() and row.url == msg.own[0]:
                    pending = msg.own[2] and row.error is None
                    row = self.shown[ACTIVE] = replace(row, rate=msg.own[1], rate_pending=pending)
                    self._update_row(table, ACTIVE, self._cells_of(row))
        self._show_detail()
        measuring = (
            any(r.rate_pending for r in msg.rows)
            or (msg.own is not None and msg.own[2])
            or (msg.managed is not None and msg.managed.rate_pending)
        )
        if measuring and self._soon is None:  # a rate needs a second count: take it soon, not in 2 s
            self._soon = self.set_timer(RATE_SOON_S, self._tick_soon)

    def _tick_soon(self) -> None:
        self._soon = None
        self._tick()

    def _update_row(self, table: PlainTable, name: str, cells: tuple) -> None:
        """Only the cells that changed: any update redraws the whole table (DataTable drops every row's
        render cache), so a refresh that changes nothing must not touch it."""
        seen = [_looks(c) for c in cells]
        before = self._cells.get(name, [])
        for i, (key, value) in enumerate(zip(table.columns, cells, strict=True)):
            if i >= len(before) or before[i] != seen[i]:
                table.update_cell(name, key, value)
        self._cells[name] = seen

    def _cursor_name(self) -> str | None:
        table = self.query_one("#fleet", PlainTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value

    def _show_detail(self) -> None:
        self._described = self._cursor_name()
        row = self.shown.get(self._described or "")
        self.query_one("#fleet-detail", Static).update(
            detail_line(row, self._is_active(row.name)) if row is not None else ""
        )

    @on(PlainTable.RowHighlighted, "#fleet")
    def _highlighted(self) -> None:
        if (
            self._cursor_name() != self._described
        ):  # the cursor kept on its row (a row above went) says nothing new
            self._show_detail()

    def action_choose(self) -> None:
        name = self._cursor_name()
        if name is None or (name == self.active or (name == ACTIVE and self.active not in self.names)):
            return  # already the active one
        # at once: the switch itself (and the first answer of a dead server) takes seconds
        shown = MANAGED if name == ACTIVE else name
        self.query_one("#fleet-detail", Static).update(plain(f"connecting to {shown}…", "yellow"))
        self._described = name  # until the next refresh says how it is
        self.app.notify(f"connecting to {shown}…")
        self.post_message(ManagedChosen() if name == ACTIVE else ContextChosen(name))

    @on(PlainTable.RowSelected, "#fleet")
    def _selected(self) -> None:
        self.action_choose()

    def server_changed(self, client: TritonClient, context: str | None) -> None:
        """Another server became the active one: mark it (a row of its own when the file lacks it)."""
        self.active, self.url = context, client.url
        table = self.query_one("#fleet", PlainTable)
        if context not in self.names:
            self.own_url = client.url
        else:
            managed = self._managed_url()
            if managed is not None and managed != self.own_url:
                # the own row held another server (a URL typed with c, perhaps one that failed): it is the
                # managed server's row again, with its own URL; its state comes from the next refresh
                self.own_url = managed
                if ACTIVE in table.rows:
                    self.shown[ACTIVE] = FleetRow(ACTIVE, managed, error=PENDING)
                    self._cells.pop(ACTIVE, None)
                    self._update_row(table, ACTIVE, self._cells_of(self.shown[ACTIVE]))
        if ACTIVE in table.rows and context in self.names and not self.managed:
            self._drop_own_row(table)
        elif ACTIVE not in table.rows and context not in self.names:
            self.action_reload()  # the row goes on top
            return
        self._fill_own(ServerSnapshot(url=client.url, error=PENDING))
        first = next(iter(table.columns))
        for name in self.names:  # the mark moves
            table.update_cell(name, first, name_cell(name, name == context))
        if ACTIVE in table.rows:
            table.update_cell(ACTIVE, first, name_cell(ACTIVE, context not in self.names))
        self._cells.clear()  # the marks moved outside _update_row: the next refresh draws every cell

    def show_snapshot(self, snap: ServerSnapshot) -> None:
        """The console's poll of the active server fills its own row (the file's rows refresh themselves)."""
        table = self.query_one("#fleet", PlainTable)
        if self.managed != snap.managed_running:  # the managed server started or stopped
            self.managed = snap.managed_running
            if not self.managed and ACTIVE in table.rows and self.active in self.names:
                self._drop_own_row(table)  # stopped while a file entry is active: nothing to go back to
        self._fill_own(snap)

    def _drop_own_row(self, table: PlainTable) -> None:
        """Remove the row of the server not in the file; the cursor stays on the row it was on. (DataTable
        keeps the cursor's index: with the top row gone it landed on the next server, and the line under the
        table then described that one, not the server just chosen.)"""
        on = self._cursor_name()
        table.remove_row(ACTIVE)
        self.shown.pop(ACTIVE, None)
        self._cells.pop(ACTIVE, None)
        if on is not None and on != ACTIVE and on in table.rows:
            table.move_cursor(row=table.get_row_index(on))
        table.refresh()

    def _fill_own(self, snap: ServerSnapshot) -> None:
        table = self.query_one("#fleet", PlainTable)
        if ACTIVE not in table.rows or snap.url != self.url or self.active in self.names:
            return
        row = FleetRow(
            ACTIVE,
            snap.url,
            live=snap.live,
            ready=snap.ready,
            server=snap.server.title if snap.server else "",
            models_ready=len(snap.ready_models),
            models_total=len(snap.models),
            ping_ms=snap.ping_ms,
            rate=self.own_rate[1] if self.own_rate[0] == snap.url and snap.error is None else None,
            # not counted yet (its first refresh is still out), or counted once: measuring
            rate_pending=snap.error is None and (self.own_rate[0] != snap.url or self.own_rate[2]),
            error=snap.error,
        )
        self._update_row(table, ACTIVE, self._cells_of(row))
        self.shown[ACTIVE] = row
        self._show_detail()

    def on_unmount(self) -> None:
        if self.fleet is not None:
            self.fleet.close()
        if self._managed_client is not None:
            self._managed_client.close()

    @staticmethod
    def title(name: str | None, url: str) -> Text:
        return Text(f"{name} — {url}" if name else url)
