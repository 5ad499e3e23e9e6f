"""The Bench and Tune panes' child process (tui/childjob.py), run for real on a small Python child: its JSON
objects in order (other lines skipped), its last stderr line, a signal to its process group."""

from __future__ import annotations

import signal
import sys

from triton_console.tui.childjob import ChildJob

CHILD = r"""
import json, sys, time
print(json.dumps({"event": "step", "n": 1}), flush=True)
print("not json", flush=True)
print("[1, 2]", flush=True)
sys.stderr.write(("x" * 99 + "\n") * 2000)  # 200 kB: more than a pipe holds before stdout closes
print(json.dumps({"event": "run", "n": 2}), flush=True)
sys.stderr.write("error: the one line\n")
sys.exit(3)
"""


def test_events_in_order_and_how_it_ended():
    job = ChildJob([sys.executable, "-c", CHILD])
    events = list(job.events())
    ended = job.wait()
    assert events == [{"event": "step", "n": 1}, {"event": "run", "n": 2}]
    assert ended.code == 3 and ended.last_line("none") == "error: the one line"


def test_a_signal_reaches_it_and_a_silent_end_gives_the_default():
    job = ChildJob([sys.executable, "-c", "import time; print('{}', flush=True); time.sleep(60)"])
    events = job.events()
    assert next(events) == {}
    job.signal(signal.SIGTERM)
    assert list(events) == []
    ended = job.wait()
    assert ended.code == -signal.SIGTERM and ended.last_line("bench failed") == "bench failed"
    job.signal(signal.SIGTERM)  # gone: nothing raised
