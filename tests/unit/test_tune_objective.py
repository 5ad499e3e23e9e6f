"""The tuner's choice among trials: the objective's best and the Pareto front (no server needed)."""

from __future__ import annotations

import pytest

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.tune.sweep import Objective, Trial, pareto


def trial(n: int, throughput: float | None, p99: float | None, status: str = "ok") -> Trial:
    return Trial({"instance_group.count": n}, "concurrency", 4, status, throughput=throughput, p99_ms=p99)


TRIALS = [trial(1, 20.0, 100.0), trial(2, 40.0, 300.0), trial(3, 30.0, 90.0), trial(4, 25.0, 200.0)]
REFUSED = trial(5, None, None, "error")


def test_each_objective_picks_its_best_and_ignores_refused_trials():
    trials = [*TRIALS, REFUSED]
    assert Objective.parse("throughput").best(trials).set["instance_group.count"] == 2
    assert Objective.parse("latency").best(trials).set["instance_group.count"] == 3
    assert Objective.parse("throughput@p99<=250").best(trials).set["instance_group.count"] == 3
    assert Objective.parse("throughput@p99<=50").best(trials) is None
    assert str(Objective.parse("throughput @ p99 <= 12.5")) == "throughput@p99<=12.5"
    with pytest.raises(ConsoleError, match="throughput, latency or throughput@p99<=MS"):
        Objective.parse("fast")


def test_the_pareto_front_is_what_no_other_trial_beats_on_both():
    front = {t.set["instance_group.count"] for t in pareto([*TRIALS, REFUSED])}
    assert front == {2, 3}  # 1 and 4 are beaten by 3 (faster and lower p99)
