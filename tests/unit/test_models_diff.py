"""The poll's model-list diff (worked out in the poll's thread so the Models pane need not compare 20,000 entries
on the event loop) and the snapshot's cached views."""

from __future__ import annotations

from triton_console.tui.core.client.responses import IndexEntry
from triton_console.tui.core.server.controller import ServerSnapshot, models_diff


def _entries(*rows: tuple[str, str]) -> list[IndexEntry]:
    return [IndexEntry(name, "1", state) for name, state in rows]


def test_a_changed_state_is_named_and_names_that_come_or_go_are_told_apart():
    old = _entries(("a", "READY"), ("b", "READY"), ("c", "LOADING"))
    same = models_diff(old, {e.name: e for e in _entries(("a", "READY"), ("b", "READY"), ("c", "LOADING"))})
    assert same.changed == frozenset() and same.same_names and same.base is old

    moved = models_diff(
        old, {e.name: e for e in _entries(("a", "READY"), ("b", "UNAVAILABLE"), ("c", "READY"))}
    )
    assert moved.changed == {"b", "c"} and moved.same_names

    grown = models_diff(old, {e.name: e for e in _entries(("a", "READY"), ("b", "READY"), ("d", "READY"))})
    assert grown.changed == frozenset() and not grown.same_names  # c gone, d new: not "changed" rows


def test_a_reason_or_version_change_counts_as_a_change():
    old = [IndexEntry("m", "1", "UNAVAILABLE", "first")]
    assert models_diff(old, {"m": IndexEntry("m", "1", "UNAVAILABLE", "second")}).changed == {"m"}
    assert models_diff(old, {"m": IndexEntry("m", "2", "UNAVAILABLE", "first")}).changed == {"m"}


def test_the_snapshot_views_are_the_models_by_name_and_the_ready_ones_sorted():
    snap = ServerSnapshot(
        url="u", live=True, models=_entries(("z", "READY"), ("a", "READY"), ("m", "LOADING"))
    )
    assert snap.settle() is snap
    assert list(snap.by_name) == ["z", "a", "m"] and snap.by_name["m"].state == "LOADING"
    assert snap.ready_models == ["z", "a"] and snap.ready_sorted == ["a", "z"]


def test_a_snapshot_that_reuses_a_list_reuses_its_views():
    first = ServerSnapshot(url="u", live=True, models=_entries(("b", "READY"), ("a", "READY"))).settle()
    again = ServerSnapshot(url="u", live=True, models=first.models).settle(same_models_as=first)
    assert again.by_name is first.by_name and again.ready_sorted is first.ready_sorted == ["a", "b"]
    other = ServerSnapshot(url="u", live=True, models=_entries(("c", "READY"))).settle(same_models_as=first)
    assert other.ready_sorted == ["c"] and list(other.by_name) == ["c"]  # another list: its own views
