"""Latency percentiles, and statistics deltas -> per-step breakdown (live metrics: see metrics.py)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client.client import TIMEOUT, TritonClient, server_gone
from triton_console.tui.core.client.responses import DURATIONS, ModelStats


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    if not values:
        return math.nan
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass
class LatencySummary:
    count: int
    mean: float
    p50: float
    p90: float
    p95: float
    p99: float

    @classmethod
    def of(cls, values: Sequence[float]) -> LatencySummary:
        n = len(values)
        mean = sum(values) / n if n else math.nan
        return cls(n, mean, *(percentile(values, q) for q in (50, 90, 95, 99)))


# ------------------------------------------------------------------------------ statistics deltas


def totals_by_model(stats: Iterable[ModelStats]) -> dict[str, dict[str, tuple[int, int]]]:
    """model name → {duration kind: (count, ns), "executions"/"inferences": (count, 0)} summed over versions."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for s in stats:
        per = out.setdefault(s.name, {})
        for kind in DURATIONS:
            c, ns = s.duration(kind)
            c0, n0 = per.get(kind, (0, 0))
            per[kind] = (c0 + c, n0 + ns)
        for key, value in (("executions", s.execution_count), ("inferences", s.inference_count)):
            per[key] = (per.get(key, (0, 0))[0] + value, 0)
    return out


@dataclass
class StepTime:
    model: str
    requests: int
    executions: int
    queue_ms: float  # mean per request
    compute_ms: float  # mean per request: input + infer + output

    @property
    def avg_batch(self) -> float:
        return self.requests / self.executions if self.executions else 0.0


@dataclass
class Breakdown:
    """Where a request's time went on the server, from two statistics snapshots: the model's own mean time per
    request and, for an ensemble, per composing model."""

    steps: list[StepTime] = field(default_factory=list)
    # server-side mean per request of the model asked about (the ensemble itself, for an ensemble)
    ensemble_ms: float = math.nan
    names: list[str] = field(
        default_factory=list
    )  # the ensemble's steps asked about, in order ([]: no ensemble)
    missing: list[str] = field(default_factory=list)  # of those, the ones the statistics have not counted

    def step_ms(self) -> list[float | None]:
        """Each step's queue + compute in order, None where it was not counted (a partial breakdown)."""
        times = {s.model: s.queue_ms + s.compute_ms for s in self.steps}
        return [times.get(name) for name in self.names or list(times)]

    def to_dict(self) -> dict:
        """``ensemble_ms`` and the steps for an ensemble; for any other model its own time is ``model_ms`` (it
        was ``ensemble_ms`` for a single model too) and ``steps`` is empty."""
        ms = round(self.ensemble_ms, 3) if not math.isnan(self.ensemble_ms) else None
        return {
            "ensemble_ms" if self.names else "model_ms": ms,
            "steps": [
                {
                    "model": s.model,
                    "requests": s.requests,
                    "executions": s.executions,
                    "avg_batch": round(s.avg_batch, 2),
                    "queue_ms": round(s.queue_ms, 3),
                    "compute_ms": round(s.compute_ms, 3),
                }
                for s in self.steps
            ],
        }


def breakdown(
    before: list[ModelStats], after: list[ModelStats], ensemble: str, steps: list[str]
) -> Breakdown:
    b, a = totals_by_model(before), totals_by_model(after)
    out = Breakdown(names=list(steps))

    def delta(model: str, kind: str) -> tuple[int, int]:
        c1, n1 = a.get(model, {}).get(kind, (0, 0))
        c0, n0 = b.get(model, {}).get(kind, (0, 0))
        return c1 - c0, n1 - n0

    for model in steps:
        count, _ = delta(model, "success")
        if count <= 0:
            out.missing.append(model)
            continue
        execs, _ = delta(model, "executions")
        q = delta(model, "queue")[1]
        compute = sum(delta(model, k)[1] for k in ("compute_input", "compute_infer", "compute_output"))
        out.steps.append(StepTime(model, count, execs, q / count / 1e6, compute / count / 1e6))
    count, ns = delta(ensemble, "success")
    if count > 0:
        out.ensemble_ms = ns / count / 1e6
    return out


def statistics(client: TritonClient, timeout_is_none: bool = False) -> list | None:
    """All models' statistics, or None where the server has none (latency then comes from the client only).
    A lost server raises; so does a timeout unless ``timeout_is_none`` (a load step keeps its client-side
    figures when the statistics call is what timed out)."""
    try:
        return client.model_statistics().items
    except ConsoleError as exc:
        if server_gone(exc) or (exc.code == TIMEOUT and not timeout_is_none):
            raise
        return None
