"""A DataTable that never reads markup: every str cell becomes plain Text (the one place that enforces it).

Textual's DataTable formats ``str`` cells as Rich markup, so a model whose load-failure reason says
``boom [/]`` would crash it, and ``[bold red]READY[/]`` would restyle it.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from triton_console.tui.text import cell


def _plain(value):
    return cell(value) if isinstance(value, str) else value


class PlainTable(DataTable):
    def add_row(self, *cells, height=1, key=None, label=None):
        return super().add_row(
            *map(_plain, cells), height=height, key=key, label=_plain(label) if label else label
        )

    def add_rows(self, rows):
        return super().add_rows([tuple(map(_plain, r)) for r in rows])

    def update_cell(self, row_key, column_key, value, *, update_width=False):
        return super().update_cell(row_key, column_key, _plain(value), update_width=update_width)

    def update_cell_at(self, coordinate, value, *, update_width=False):
        return super().update_cell_at(coordinate, _plain(value), update_width=update_width)

    def add_column(self, label, *, width=None, key=None, default=None):
        return super().add_column(
            Text(str(label)) if isinstance(label, str) else label, width=width, key=key, default=default
        )

    def fill_last_column(self, least: int) -> int:
        """Size the last column to the room the others leave (at least ``least`` cells) and return its width.

        Textual sizes a column without a width once, on the cells it holds then, and never widens it when a
        cell changes (``update_width`` would, past the screen's edge for a long cell): a column sized on a
        placeholder cut what came later. Call again when the table's width changes."""
        *others, last = self.ordered_columns
        room = self.scrollable_content_region.width - sum(c.get_render_width(self) for c in others)
        width = max(room - 2 * self.cell_padding, least)
        if last.auto_width or last.width != width:
            last.width, last.auto_width = width, False
            # what add_column/update_cell(update_width=True) do inside DataTable: measure and draw again
            self._require_update_dimensions = True
            self._update_count += 1
            self.refresh()
        return width
