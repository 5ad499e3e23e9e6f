"""Every parser of a server response: garbage becomes the console's own error (or a per-item problem),
never a traceback. Property-based (hypothesis) plus the cases a hostile server actually sends."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triton_console.tui.core.client import responses as rs

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
FIELDS = (
    "name",
    "version",
    "state",
    "reason",
    "models",
    "model_stats",
    "inputs",
    "outputs",
    "shape",
    "datatype",
)
# objects that look like responses, with arbitrary values where the real fields go
SHAPED = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6) | st.lists(
    st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5), max_size=4
)
PARSERS = [
    rs.server_metadata_json,
    rs.index_json,
    rs.model_list_json,
    rs.model_metadata_json,
    rs.statistics_json,
]


@pytest.mark.parametrize("parse", PARSERS, ids=lambda f: f.__name__)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=JSON | SHAPED)
def test_json_parsers_raise_only_their_own_error(parse, value):
    with contextlib.suppress(rs.ResponseError):
        parse(value)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.text(max_size=40) | st.binary(max_size=40) | st.integers() | st.none(), max_size=8))
def test_classification_strings_never_raise(values):
    parsed = rs.classes(values)
    assert len(parsed.items) + len(parsed.problems) == len(values)


@settings(max_examples=100, deadline=None)
@given(value=JSON)
def test_model_config_parser_raises_only_its_own_error(value):
    with contextlib.suppress(rs.ResponseError):
        rs.model_config_json(value)


def test_classification_problems_name_the_string_and_its_position():
    parsed = rs.classes([b"0.9:3:cat", "abc", "0.5:notanint:x", "nan:5:nanny", "inf:7", "0.2:-4:neg"])
    assert [(t.index, t.label) for t in parsed.items] == [(3, "cat"), (5, "nanny"), (7, "")]
    assert parsed.problems[0] == "classification string 2 of 6 is not score:index[:label]: 'abc'"
    assert "string 3 of 6" in parsed.problems[1] and "string 6 of 6" in parsed.problems[2]
    ranked = sorted(parsed.items, key=rs.score_key)
    assert ranked[0].index == 3 and all(
        not math.isfinite(t.score) for t in ranked[1:]
    )  # NaN/Inf never on top


def test_labels_may_hold_colons():
    (t,) = rs.classes(["0.25:12:a:b:c"]).items
    assert (t.score, t.index, t.label) == (0.25, 12, "a:b:c")


def test_index_keeps_good_entries_and_names_bad_ones():
    parsed = rs.index_json(
        [
            {"name": "ok", "version": "1", "state": "READY"},
            {"name": 5, "state": "READY"},
            {"name": "v_int", "version": 3},
            "not an object",
            {"name": ""},
        ]
    )
    assert [e.name for e in parsed.items] == ["ok", "v_int"] and parsed.items[1].version == "3"
    assert len(parsed.problems) == 3 and "entry 2 name is int" in parsed.problems[0]


def test_metadata_rejects_impossible_shapes_and_types():
    bad = {"name": "m", "inputs": [{"name": "x", "datatype": "FP32", "shape": [-5, 3]}], "outputs": []}
    with pytest.raises(rs.ResponseError, match="impossible shape"):
        rs.model_metadata_json(bad)
    huge = {"name": "m", "inputs": [{"name": "x", "datatype": "FP32", "shape": [10**13]}], "outputs": []}
    with pytest.raises(rs.ResponseError, match="impossible shape"):
        rs.model_metadata_json(huge)
    odd = {"name": "m", "inputs": [{"name": "x", "datatype": "FLOAT99", "shape": [1]}], "outputs": []}
    with pytest.raises(rs.ResponseError, match="unknown datatype"):
        rs.model_metadata_json(odd)
    good = {
        "name": "m",
        "versions": ["1"],
        "platform": "p",
        "inputs": [{"name": "x", "datatype": "BYTES", "shape": ["-1", 3]}],
    }
    assert rs.model_metadata_json(good).inputs[0].shape == (-1, 3)


def test_statistics_with_wrong_types_are_one_problem_per_model():
    ok = {
        "name": "good",
        "version": "1",
        "inference_count": "12",
        "execution_count": 3,
        "inference_stats": {"success": {"count": 12, "ns": 1000}},
    }
    bad = {"name": "bad", "inference_count": "lots", "inference_stats": {"queue": {"count": -1, "ns": 2}}}
    parsed = rs.statistics_json({"model_stats": [ok, bad, 7]})
    assert [s.name for s in parsed.items] == ["good"] and parsed.items[0].inference_count == 12
    assert parsed.items[0].duration("success") == (12, 1000)
    assert "'bad'" in parsed.problems[0] and "'lots'" in parsed.problems[0]
    assert len(parsed.problems) == 2


def test_server_metadata_title_uses_the_servers_own_name():
    assert (
        rs.server_metadata_json(
            {"name": "kserve", "version": "0.21.0", "extensions": ["model_repository_extension"]}
        ).title
        == "kserve 0.21.0"
    )
    assert rs.server_metadata_json({"name": "triton", "version": "2.51.0"}).title == "triton 2.51.0"
    with pytest.raises(rs.ResponseError, match="extensions is an object"):
        rs.server_metadata_json({"name": "x", "extensions": {"a": 1}})


def test_long_strings_are_cut():
    meta = rs.server_metadata_json({"name": "x" * 100_000, "version": "1"})
    assert len(meta.name) < rs.MAX_TEXT + 50 and meta.name.endswith("more characters)")
