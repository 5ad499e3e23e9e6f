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
