"""One model's lines of a log as they arrive (the Models pane's live log view, L): records that name it with
their context, untagged stub stderr while it is the model the log last named (held until it is named again
otherwise), floods collapsed."""

from __future__ import annotations

from triton_console.tui.core.server.modellog import HELD_MAX, ModelLines, repeated, short


def rec(msg: str, t: int = 0) -> str:
    return f"I1202 01:58:{t:02d}.000000 4242 model_lifecycle.cc:473] {msg}"


def test_records_naming_the_model_with_their_context():
    log = [rec(f'"line {i}"') for i in range(12)]
    log[3] = rec('"loading: talker:1"')
    log[9] = rec("\"successfully loaded 'talker'\"")
    got = ModelLines("talker", {"talker", "other"}).feed(log)
    assert got == log[1:5] + log[7:11]  # two lines before each, one after


def test_stderr_follows_the_model_the_log_last_named_and_is_held_otherwise():
    lines = ModelLines("talker", {"talker", "chatty"}, before=0, after=0)
    assert lines.feed([rec('"loading: talker:1"'), "talker: hello"]) == [
        rec('"loading: talker:1"'),
        "talker: hello",
    ]
    assert lines.feed(["talker: again"]) == ["talker: again"]  # live: nothing named another model since
    assert lines.feed([rec('"loading: chatty:1"'), "whose line?"]) == []  # chatty was named last: held
    got = lines.feed([rec("\"successfully loaded 'talker'\"")])
    assert got == ["whose line?", rec("\"successfully loaded 'talker'\"")]  # between two mentions: shown


def test_stderr_before_the_model_was_ever_named_is_not_its():
    assert ModelLines("talker", {"talker"}, before=0).feed(["early", rec('"loading: talker:1"')]) == [
        rec('"loading: talker:1"')
    ]


def test_a_traceback_a_record_carries_goes_with_it():
    log = [
        rec("failed to load 'talker' version 1: Internal: NameError: boom"),
        "At:",
        "  /models/talker/1/model.py(11): initialize",
        rec('"unrelated"'),
        rec("load failed for 'chatty': Internal: x"),
        "  /models/chatty/1/model.py(3): initialize",
    ]
    assert ModelLines("talker", {"talker", "chatty"}, before=0, after=0).feed(log) == log[:3]


def test_a_flood_is_one_line_and_a_count():
    lines = ModelLines("talker", {"talker"}, before=0)
    got = lines.feed(
        [rec('"loading: talker:1"')] + [rec("model talker says spam", t % 60) for t in range(1000)] + ["done"]
    )
    assert got == [rec('"loading: talker:1"'), rec("model talker says spam", 0), repeated(999), "done"]
    more = lines.feed(["x"] * 5)
    assert more == ["x"] and lines.flush() == [repeated(4)] and lines.flush() == []


def test_held_lines_are_bounded():
    lines = ModelLines("talker", {"talker", "chatty"}, before=0, after=0)
    lines.feed([rec('"loading: talker:1"'), rec('"loading: chatty:1"')])
    got = lines.feed([f"line {i}" for i in range(HELD_MAX + 100)] + [rec("\"loaded 'talker'\"")])
    assert len(got) == HELD_MAX + 1 and got[0] == "line 100"


def test_records_are_shown_short():
    assert short(rec('"loading: talker:1"', 34)) == "I 01:58:34.000 loading: talker:1"
    assert short("talker: hello") == "talker: hello"
