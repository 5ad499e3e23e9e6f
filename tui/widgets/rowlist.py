"""A virtual table for long lists (a 20,000-model index): O(visible rows) per frame, O(1) per changed row.

Textual's DataTable rebuilds its row offsets after every change (O(rows)), so filling it with tens of
thousands of rows stalls the event loop. Here the widget holds only keys in order; cells are made on demand
by a function the owner gives (cached until the row changes), and only the lines on screen are rendered.
It has a cursor, a case-insensitive filter and sorting by any column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from triton_console.tui.text import Name, middle_cut


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int = 0  # 0: a share of what is left
    weight: int = 1  # how big that share is
    # 0: always shown; else hidden where the row is too narrow (the lowest first), while a fitted column would
    # be cut or a flexible one get less than ``least``: a narrow terminal shows whole names, not every column
    drop: int = 0
    least: int = 0  # a flexible column's least useful width, for ``drop``


class RowList(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="rows.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="rows.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="rows.pageup"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="rows.pagedown"),
        Binding("home,g", "jump(0)", "First", show=False, id="rows.first"),
        Binding("end,G", "jump(-1)", "Last", show=False, id="rows.last"),
    ]
    DEFAULT_CSS = """
    /* one column for the scrollbar, not two: at 80 columns a long list's names were cut once it scrolled */
    RowList { background: $surface; scrollbar-size-vertical: 1; }
    RowList > .rowlist--header { text-style: bold; background: $panel; }
    RowList > .rowlist--cursor { background: $accent; color: $text; text-style: bold; }
    RowList:blur > .rowlist--cursor { background: $accent 40%; }
    RowList > .rowlist--odd { background: $surface-lighten-1; }
    """
    COMPONENT_CLASSES = {"rowlist--header", "rowlist--cursor", "rowlist--odd"}

    @dataclass
    class Highlighted(Message):
        """The cursor moved to another row (``key`` None: the list is empty)."""

        rowlist: RowList
        key: str | None

        @property
        def control(self) -> RowList:
            return self.rowlist

    def __init__(
        self,
        columns: Sequence[Column],
        cells: Callable[[str], Sequence[Text]],
        cursor_mark: str = "",
        **kw,
    ) -> None:
        """``cursor_mark``: a one-cell glyph before the cursor row's first cell (a blank before the others),
        for a list whose rows carry marks of their own (▸): the cursor is then seen without colour too, in
        a terminal's text. The owner counts its cell in the first column's width."""
        super().__init__(**kw)
        self._mark = cursor_mark
        self.columns = list(columns)
        self._cells_of = cells
        self._cache: dict[str, tuple[Text, ...]] = {}
        self._all: list[str] = []
        self._shown: list[str] = []
        self._index: dict[str, int] = {}
        self._cursor = 0
        self._pattern = ""
        self._search: Callable[[str], str] = lambda key: key
        self._parent_of: Callable[[str], str | None] = lambda key: None
        self._sort: tuple[str, bool] | None = None
        self._sort_key: Callable[[str, str], object] | None = None
        self._last_key: str | None = None
        self._fit: dict[str, int] = {}
        self._hidden: set[str] = set()
        self._laid_out: dict[int, list[int]] = {}  # the widths of the columns at a width (see fit)

    # ------------------------------------------------------------------ content
    def set_keys(self, keys: Sequence[str], changed: Sequence[str] = ()) -> None:
        """The rows, in order (the owner's order, unless sorted); ``changed`` rows are drawn anew."""
        for key in changed:
            self._cache.pop(key, None)
        if len(self._cache) > 4 * max(len(keys), 1000):
            self._cache.clear()
        if not self._pattern and not self._sort and keys == self._all:
            # the same rows in the same order: only the changed ones are drawn anew (with 20,000 rows the full
            # refilter below rebuilds the index on the event loop)
            self.refresh()
            return
        self._all = list(keys)
        self._refilter()

    def fit(self, column: str, content: int) -> None:
        """Give ``column`` its content's width (at most half the widget's width beside a flexible column
        that stays; columns that may be dropped make room first)."""
        if self._fit.get(column) != content:
            self._fit[column] = content
            self._laid_out = {}
        self.refresh()

    def show_column(self, column: str, shown: bool = True) -> None:
        """Show or hide ``column`` (hidden, it takes no room: a column that says nothing yet)."""
        if (column not in self._hidden) != shown:
            self._hidden.symmetric_difference_update({column})
            self._laid_out = {}
            self.refresh()

    def set_search(self, search: Callable[[str], str]) -> None:
        """What the filter matches against for a row (lower-cased text)."""
        self._search = search

    def set_parent(self, parent: Callable[[str], str | None]) -> None:
        """The row a row hangs under (an ensemble's step under the ensemble): a filter that matches a child
        keeps its parent, so no row is shown without what it belongs to."""
        self._parent_of = parent

    def filter(self, pattern: str) -> None:
        self._pattern = pattern.lower()
        self._refilter()

    def sort_by(
        self, column: str | None, key: Callable[[str, str], object] | None = None, reverse: bool = False
    ) -> None:
        """Sort by ``key(row_key, column)``; None: back to the owner's order."""
        self._sort = (column, reverse) if column else None
        self._sort_key = key
        self._refilter()

    def _refilter(self) -> None:
        keys = self._all
        if self._pattern:
            p = self._pattern
            hit = {k for k in keys if p in self._search(k)}
            hit |= {parent for k in hit if (parent := self._parent_of(k)) is not None}
            keys = [k for k in keys if k in hit]
        if self._sort and self._sort_key is not None:
            column, reverse = self._sort
            keys = sorted(keys, key=lambda k: self._sort_key(k, column), reverse=reverse)
        self._shown = keys
        self._index = {k: i for i, k in enumerate(keys)}
        was = self._cursor
        if self._last_key in self._index:  # the cursor stays on its row wherever the row went
            self._cursor = self._index[self._last_key]
        self._cursor = max(0, min(self._cursor, len(keys) - 1))
        if self._cursor != was and self.size.height:  # and in view, where its row moved
            self._scroll_to_cursor()
        self.virtual_size = Size(0, len(keys) + 1)  # never wider than the widget: no sideways scrolling
        self._announce()
        self.refresh()

    @property
    def keys(self) -> list[str]:
        """The rows shown, in order."""
        return list(self._shown)

    @property
    def row_count(self) -> int:
        return len(self._shown)

    @property
    def cursor_key(self) -> str | None:
        return self._shown[self._cursor] if self._shown else None

    def cells(self, key: str) -> tuple[Text, ...]:
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = tuple(self._cells_of(key))
        return cached

    def get_cell(self, key: str, column: str) -> Text:
        """One cell of a row, by the column's key."""
        return self.cells(key)[[c.key for c in self.columns].index(column)]

    def row_text(self, key: str) -> str:
        return " ".join(c.plain for c in self.cells(key))

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    def move_cursor(self, row: int) -> None:
        if not self._shown:
            return
        self._cursor = max(0, min(row, len(self._shown) - 1))
        self._scroll_to_cursor()
        self._announce()
        self.refresh()

    def _announce(self) -> None:
        key = self.cursor_key
        if key != self._last_key:
            self._last_key = key
            self.post_message(self.Highlighted(self, key))

    # ------------------------------------------------------------------ keys
    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self._cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self._cursor + direction * max(1, self.size.height - 2))

    def action_jump(self, where: int) -> None:
        self.move_cursor(0 if where == 0 else len(self._shown) - 1)

    def on_click(self, event) -> None:
        row = int(self.scroll_offset.y) + event.y - 1
        if 0 <= row < len(self._shown):
            self.move_cursor(row)

    def _scroll_to_cursor(self) -> None:
        height = max(1, self.size.height - 1)
        top = int(self.scroll_offset.y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + height:
            self.scroll_to(y=self._cursor - height + 1, animate=False)

    # ------------------------------------------------------------------ drawing
    def _widths(self, total: int) -> list[int]:
        """Each column's width, 0 for a column dropped: while a fitted column would be cut (or a flexible one
        get less than its ``least``), the droppable columns go, lowest ``drop`` first."""
        if total in self._laid_out:  # asked once per line drawn
            return self._laid_out[total]
        shown = [c for c in self.columns if c.key not in self._hidden]
        dropped: list[Column] = []
        while True:
            widths, short = self._share(shown, total)
            droppable = [c for c in shown if c.drop]
            if not short or not droppable:
                break
            dropped.append(min(droppable, key=lambda c: c.drop))
            shown.remove(dropped[-1])
        for column in reversed(dropped):  # back where it fits beside the rest (ver, once reason made room)
            trial = [c for c in self.columns if c in shown or c is column]
            trial_widths, short = self._share(trial, total)
            if not short:
                shown, widths = trial, trial_widths
        self._laid_out = {total: [widths.get(c.key, 0) for c in self.columns]}
        return self._laid_out[total]

    def _share(self, columns: list[Column], total: int) -> tuple[dict[str, int], bool]:
        """Fixed columns as given; fitted ones at their content's width (shrunk first when space is short);
        flexible ones share the rest by weight, at least MIN_FLEX each. Also whether any came out short."""
        MIN_FLEX = 6
        flex = [c for c in columns if not c.width and c.key not in self._fit]
        fixed = sum(c.width for c in columns if c.width)
        spare = total - fixed - (len(columns) - 1) - MIN_FLEX * len(flex)
        # beside a flexible column a fitted one takes at most half, unless that column can go (when under its least)
        cap = total // 2 if any(not c.drop for c in flex) else total
        fitted: dict[str, int] = {}
        short = False
        for c in columns:
            if not c.width and c.key in self._fit:
                want = max(self._fit[c.key], len(c.title))
                fitted[c.key] = max(len(c.title), min(want, spare, cap))
                short |= fitted[c.key] < want
                spare -= fitted[c.key]
        room = max(0, spare + MIN_FLEX * len(flex))
        weights = sum(c.weight for c in flex) or 1
        widths = {
            c.key: c.width or fitted.get(c.key) or max(MIN_FLEX, room * c.weight // weights) for c in columns
        }
        short |= any(widths[c.key] < c.least for c in flex)
        return widths, short

    def _line(self, cells: Sequence[Text], widths: list[int], style: Style) -> list[Segment]:
        console = self.app.console
        segments: list[Segment] = []
        shown = [(cell, width) for cell, width in zip(cells, widths, strict=False) if width]
        last = len(shown) - 1
        for i, (cell, width) in enumerate(shown):
            text = (middle_cut(cell, width) if isinstance(cell, Name) else cell).copy()
            text.truncate(width, overflow="ellipsis", pad=True)
            # Text.render leaves the text's own base style out: add it, under any span styles
            own = style + console.get_style(text.style, default=Style.null()) if text.style else style
            for seg in text.render(console):
                segments.append(Segment(seg.text, own + seg.style if seg.style else own))
            if i < last:  # between columns only: the last one ends at the edge
                segments.append(Segment(" ", style))
        return segments

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        widths = self._widths(width)
        if y == 0:
            style = base + self.get_component_rich_style("rowlist--header")
            head = [
                Text(
                    c.title
                    + (
                        " ▼"
                        if self._sort and self._sort[0] == c.key and self._sort[1]
                        else " ▲"
                        if self._sort and self._sort[0] == c.key
                        else ""
                    )
                )
                for c in self.columns
            ]
            if self._mark:
                head[0] = Text(" ") + head[0]
            return Strip(self._line(head, widths, style)).adjust_cell_length(width, style)
        row = int(self.scroll_offset.y) + y - 1
        if row >= len(self._shown):
            return Strip.blank(width, base)
        key = self._shown[row]
        if row == self._cursor:
            style = base + self.get_component_rich_style("rowlist--cursor")
        elif row % 2:
            style = base + self.get_component_rich_style("rowlist--odd")
        else:
            style = base
        cells = self.cells(key)
        if row == self._cursor:  # the cursor row's own colours win over the cells' styles
            cells = tuple((Name if isinstance(c, Name) else Text)(c.plain) for c in cells)
        if self._mark and cells:
            cells = (self._marked(cells[0], self._mark if row == self._cursor else " "), *cells[1:])
        return Strip(self._line(cells, widths, style)).adjust_cell_length(width, style)

    @staticmethod
    def _marked(cell: Text, mark: str) -> Text:
        out = (Name if isinstance(cell, Name) else Text)(mark, no_wrap=True, end="")
        out.append_text(cell)
        return out

    def on_resize(self) -> None:
        self.virtual_size = Size(0, len(self._shown) + 1)
