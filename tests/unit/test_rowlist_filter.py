"""The list widget's filter: a row that hangs under another (an ensemble's step in the Metrics pane) keeps its
parent on screen; filtering ``post`` showed a lone ``└ postprocess`` without its ensemble."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import App, ComposeResult

from triton_console.tui.widgets.rowlist import Column, RowList

CHILD = "\x00"
KEYS = ["ens", f"ens{CHILD}preprocess", f"ens{CHILD}postprocess", "other", "postal"]


class ListApp(App):
    def compose(self) -> ComposeResult:
        rows = RowList([Column("model", "model")], lambda key: (Text(key.replace(CHILD, " / ")),), id="rows")
        rows.set_search(lambda key: key.partition(CHILD)[2] or key)
        rows.set_parent(lambda key: key.partition(CHILD)[0] if CHILD in key else None)
        yield rows


def test_a_matching_child_keeps_its_parent_and_order():
    async def scenario():
        app = ListApp()
        async with app.run_test(size=(60, 10)):
            rows = app.query_one(RowList)
            rows.set_keys(KEYS)
            rows.filter("post")
            assert rows.keys == ["ens", f"ens{CHILD}postprocess", "postal"]
            rows.filter("oth")
            assert rows.keys == ["other"]
            rows.filter("")
            assert rows.keys == KEYS

    asyncio.run(scenario())
