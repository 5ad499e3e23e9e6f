"""tests.helpers.read_until, which the real-server tests use to wait for a child's line: it must see a line
that arrived together with the one before it, and give up at its deadline on a part line."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.helpers import read_until

CHILD = 'import sys, time; sys.stdout.write("a 1\\nb 2\\npart"); sys.stdout.flush(); time.sleep(60)'


def test_read_until_sees_lines_that_arrived_together_and_keeps_its_deadline():
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert read_until(proc.stdout, "a", 30) == "a 1\n"
        t0 = time.monotonic()
        assert read_until(proc.stdout, "b", 30) == "b 2\n"  # it was in the text stream's buffer: a 30 s wait
        assert time.monotonic() - t0 < 10
        t0 = time.monotonic()
        with pytest.raises(AssertionError, match="'zzz' not seen within 1 s"):
            read_until(proc.stdout, "zzz", 1)  # "part" never ends its line
        assert time.monotonic() - t0 < 10
    finally:
        proc.kill()
        proc.wait(10)
