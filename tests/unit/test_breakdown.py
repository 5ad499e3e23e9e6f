"""The Classify pane's per-step breakdown when the statistics arrive late. Triton counts an ensemble's last
step when that step's response is released, which can come after the client has the ensemble's answer: the
breakdown reads the statistics again until every step has counted the request (only a real-server test under
load had caught it). Statistics that never add up give a bounded wait and a partial breakdown that says so."""

from __future__ import annotations

import time

from triton_console.tui.core.classify.files import _breakdown
from triton_console.tui.core.client import responses as rs
from triton_console.tui.panes.classify import step_figures

ENSEMBLE = "ensemble_python_efficientnet_lite0"
STEPS = ["preprocess", "efficientnet_lite0_ort", "postprocess"]
MS = {"preprocess": 12.0, "efficientnet_lite0_ort": 8.0, "postprocess": 0.5, ENSEMBLE: 21.0}


def _stats(counted: dict[str, int]) -> list[rs.ModelStats]:
    """Lifetime statistics where each model has counted ``counted[model]`` requests of ``MS[model]`` each
    (a tenth of it queued, the rest in compute_infer)."""
    out = []
    for name, n in counted.items():
        ns = int(MS[name] * 1e6) * n
        durations = {
            "success": (n, ns),
            "queue": (n, ns // 10),
            "compute_input": (n, 0),
            "compute_infer": (n, ns - ns // 10),
            "compute_output": (n, 0),
        }
        out.append(rs.ModelStats(name, "1", n, n, durations))
    return out


class Server:
    """What the breakdown asks of the client: the statistics, as the server's successive answers give them."""

    def __init__(self, answers: list[list[rs.ModelStats]]) -> None:
        self.answers = answers
        self.reads = 0

    def model_statistics(self, name: str = "") -> rs.Parsed:
        answer = self.answers[min(self.reads, len(self.answers) - 1)]
        self.reads += 1
        return rs.Parsed(answer)


BEFORE = _stats({ENSEMBLE: 4, **dict.fromkeys(STEPS, 4)})
ALL = _stats({ENSEMBLE: 5, **dict.fromkeys(STEPS, 5)})
LATE = _stats({ENSEMBLE: 5, "preprocess": 5, "efficientnet_lite0_ort": 5, "postprocess": 4})


def test_a_last_step_counted_late_is_read_again_until_the_steps_add_up():
    server = Server([LATE, ALL])
    bd = _breakdown(server, BEFORE, ENSEMBLE, STEPS)
    assert [s.model for s in bd.steps] == STEPS and bd.missing == []
    assert server.reads == 2  # the first read lacked postprocess; the second had it
    assert [round(ms, 3) for ms in bd.step_ms()] == [12.0, 8.0, 0.5] and round(bd.ensemble_ms, 3) == 21.0
    assert step_figures(bd.step_ms(), 25.0) == "12.0/8.0/0.5/4.5"  # the pane's row: every step and the rest


def test_statistics_that_never_add_up_give_a_bounded_wait_and_an_honest_partial_breakdown():
    server = Server([LATE])
    t0 = time.monotonic()
    bd = _breakdown(server, BEFORE, ENSEMBLE, STEPS)
    elapsed = time.monotonic() - t0
    assert server.reads == 10 and elapsed < 10, (server.reads, elapsed)  # about 1 s: never a hang
    assert [s.model for s in bd.steps] == STEPS[:2] and bd.missing == ["postprocess"]
    assert bd.step_ms()[2] is None
    # the pane says what it does not know instead of counting postprocess's time as the rest
    assert step_figures(bd.step_ms(), 25.0) == "12.0/8.0/?/?"


def test_complete_statistics_are_read_once():
    server = Server([ALL])
    bd = _breakdown(server, BEFORE, ENSEMBLE, STEPS)
    assert server.reads == 1 and bd.missing == [] and len(bd.steps) == 3


def test_a_server_without_statistics_has_no_breakdown():
    class NoStatistics:
        def model_statistics(self, name: str = ""):
            from triton_console.common.errors import ConsoleError

            raise ConsoleError("statistics: not offered by this server", exit_code=1, code="unsupported")

    assert _breakdown(NoStatistics(), BEFORE, ENSEMBLE, STEPS) is None
