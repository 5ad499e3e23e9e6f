"""The console's per-model health record: the deadline fitted to a model, and when a model counts as broken."""

from __future__ import annotations

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client.codes import STUB_UNHEALTHY, TIMEOUT, UNREACHABLE
from triton_console.tui.core.client.health import Health, error_kind


def test_deadline_is_ten_times_the_warm_p99_between_the_floor_and_the_cap():
    h = Health()
    assert h.deadline("m", cap=30) == 30  # nothing seen yet: the connection's timeout
    for ms in [10.0] * 98 + [400.0, 2000.0]:
        h.ok("m", ms)
    assert h.warm_p99("m") == 400.0
    assert h.deadline("m", cap=30) == 5.0  # 10 x 0.4 s = 4 s, under the 5 s floor
    for ms in [1500.0] * 100:
        h.ok("slow", ms)
    assert h.deadline("slow", cap=30) == 15.0
    assert h.deadline("slow", cap=8) == 8  # never past the connection's timeout


def test_a_dead_stub_or_a_timeout_makes_a_model_unhealthy_until_it_answers_again():
    h = Health()
    h.failed("m", ConsoleError("cannot reach", code=UNREACHABLE))  # the server's problem, not the model's
    assert h.verdict("m") is None and h.failures("m")[0].kind == "connection"
    assert (
        error_kind(ConsoleError("x", code=TIMEOUT)) == "timeout"
        and error_kind(ConsoleError("x")) == "server error"
    )
    h.failed("m", ConsoleError("Stub process 'm_0' is not healthy.", code=STUB_UNHEALTHY))
    h.failed("m", ConsoleError("timed out", code=TIMEOUT))
    v = h.verdict("m")
    assert v is not None and v.failures == 2 and v.reason == "timed out"
    assert v.to_dict()["state"] == "unhealthy" and "unhealthy since" in v.describe()
    assert list(h.verdicts()) == ["m"]
    h.ok("m", 3.0)
    assert h.verdict("m") is None
    h.failed("m", ConsoleError("not healthy", code=STUB_UNHEALTHY))
    h.reset("m")  # a reload
    assert h.verdict("m") is None and h.failures("m") == []
