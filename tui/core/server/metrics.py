"""Live numbers of a server: Triton's metrics endpoint (parsed with prometheus_client's own parser) and the
statistics API, turned into per-model rates between two polls, plus GPU and CPU gauges and 15 minutes of
history.

Rates come from counter deltas, never lifetime averages: inferences/s, executions/s, average batch size,
queue and compute (input/infer/output) ms per request, failures/s; pending requests is a gauge. The
statistics API is preferred for the per-model counters (every model, ns precision); the metrics endpoint
adds pending requests, GPU and CPU. A server with only one of them (KServe has neither) still shows what
it has, and the snapshot says what is missing.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client.client import TritonClient
from triton_console.tui.core.client.codes import no_answer
from triton_console.tui.core.client.responses import ModelStats
from triton_console.tui.core.client.stats import totals_by_model
from triton_console.tui.core.request.stream import decoupled

COUNTERS = {
    "nv_inference_request_success": "success",
    "nv_inference_request_failure": "failure",
    "nv_inference_count": "inferences",
    "nv_inference_exec_count": "executions",
    "nv_inference_queue_duration_us": "queue_us",
    "nv_inference_compute_input_duration_us": "input_us",
    "nv_inference_compute_infer_duration_us": "infer_us",
    "nv_inference_compute_output_duration_us": "output_us",
}
PENDING = "nv_inference_pending_request_count"
GPU = {
    "nv_gpu_utilization": "util",
    "nv_gpu_memory_used_bytes": "mem_used",
    "nv_gpu_memory_total_bytes": "mem_total",
    "nv_gpu_power_usage": "power",
    "nv_gpu_power_limit": "power_limit",
}
CPU = {
    "nv_cpu_utilization": "util",
    "nv_cpu_memory_used_bytes": "mem_used",
    "nv_cpu_memory_total_bytes": "mem_total",
}
HISTORY_S = 15 * 60


@dataclass
class Counters:
    """Lifetime counters of one model (summed over its versions); durations in microseconds."""

    success: float = 0
    failure: float = 0
    inferences: float = 0
    executions: float = 0
    queue_us: float = 0
    input_us: float = 0
    infer_us: float = 0
    output_us: float = 0
    responses: float | None = None  # decoupled models: responses sent, where the server reports them


@dataclass
class Scrape:
    models: dict[str, Counters] = field(default_factory=dict)
    pending: dict[str, float] = field(default_factory=dict)
    gpus: dict[str, dict[str, float]] = field(default_factory=dict)  # GPU uuid -> gauges
    cpu: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _families(text: str, problems: list[str]):
    """prometheus_client's parser over the whole text; if any line is garbage, line by line, skipping the
    bad ones (one problem each, at most a few)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        return list(text_string_to_metric_families(text))
    except Exception:  # the parser raises ValueError, TypeError, IndexError ... on hostile text
        pass
    families, bad = [], 0
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            families.extend(text_string_to_metric_families(line + "\n"))
        except Exception:
            bad += 1
            if bad <= 3:
                problems.append(f"metrics line {n} does not parse: {line[:80]!r}")
    if bad > 3:
        problems.append(f"{bad - 3} more metrics lines do not parse")
    return families


def parse(text: str) -> Scrape:
    """Prometheus exposition text → per-model counters, pending requests, GPU and CPU gauges."""
    out = Scrape()
    for family in _families(text, out.problems):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if family.type == "counter":  # the parser names counter samples <family>_total
                name = name.removesuffix("_total")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                continue
            field_name = COUNTERS.get(name)
            model = labels.get("model")
            if field_name and model is not None:
                c = out.models.setdefault(model, Counters())
                setattr(c, field_name, getattr(c, field_name) + value)
            elif name == PENDING and model is not None:
                out.pending[model] = out.pending.get(model, 0) + value
            elif name in GPU:
                out.gpus.setdefault(labels.get("gpu_uuid", "gpu"), {})[GPU[name]] = value
            elif name in CPU:
                out.cpu[CPU[name]] = value
    return out


def from_statistics(stats: list[ModelStats]) -> dict[str, Counters]:
    """The statistics API's totals (stats.totals_by_model, summed over versions) as metric counters; the
    responses a model sent where its ``response_stats`` report them."""
    sent: dict[str, float] = {}
    for s in stats:
        if s.responses is not None:
            sent[s.name] = sent.get(s.name, 0) + s.responses
    return {
        name: Counters(
            success=t["success"][0],
            failure=t["fail"][0],
            inferences=t["inferences"][0],
            executions=t["executions"][0],
            queue_us=t["queue"][1] / 1000,
            input_us=t["compute_input"][1] / 1000,
            infer_us=t["compute_infer"][1] / 1000,
            output_us=t["compute_output"][1] / 1000,
            responses=sent.get(name),
        )
        for name, t in totals_by_model(stats).items()
    }


@dataclass(frozen=True)
class Rates:
    """One model between two polls (per second, or per request for times)."""

    inf_s: float = 0.0
    exec_s: float = 0.0
    avg_batch: float = 0.0
    queue_ms: float = 0.0
    input_ms: float = 0.0
    infer_ms: float = 0.0
    output_ms: float = 0.0
    fail_s: float = 0.0
    pending: float | None = None
    resp_s: float | None = None  # responses/s (decoupled models), None where the server reports none

    @property
    def compute_ms(self) -> float:
        return self.input_ms + self.infer_ms + self.output_ms

    def to_dict(self) -> dict:
        out = {k: round(v, 4) if isinstance(v, float) else v for k, v in self.__dict__.items()}
        out["compute_ms"] = round(self.compute_ms, 4)
        return out


def rates(
    prev: dict[str, Counters], cur: dict[str, Counters], seconds: float, pending: dict[str, float]
) -> dict[str, Rates]:
    out = {}
    for name, c in cur.items():
        p = prev.get(name, Counters())

        def d(attr: str, c=c, p=p) -> float:
            return max(0.0, getattr(c, attr) - getattr(p, attr))  # a restarted server resets its counters

        ok = d("success")
        out[name] = Rates(
            inf_s=d("inferences") / seconds,
            exec_s=d("executions") / seconds,
            avg_batch=d("inferences") / d("executions") if d("executions") else 0.0,
            queue_ms=d("queue_us") / ok / 1000 if ok else 0.0,
            input_ms=d("input_us") / ok / 1000 if ok else 0.0,
            infer_ms=d("infer_us") / ok / 1000 if ok else 0.0,
            output_ms=d("output_us") / ok / 1000 if ok else 0.0,
            fail_s=d("failure") / seconds,
            pending=pending.get(name),
            resp_s=max(0.0, c.responses - (p.responses or 0)) / seconds if c.responses is not None else None,
        )
    return out


@dataclass
class Point:
    """One poll: rates since the previous one, gauges, where they came from and what is missing."""

    time: float  # wall clock
    interval: float
    models: dict[str, Rates]
    gpus: dict[str, dict[str, float]]
    cpu: dict[str, float]
    sources: list[str]
    missing: list[str]
    steps: dict[str, list[str]]  # ensemble -> its steps, for the ones seen in this poll
    problems: list[str] = field(default_factory=list)
    decoupled: dict[str, str] = field(default_factory=dict)  # decoupled model -> its backend

    def responses_line(self, model: str) -> str | None:
        """What the server says of a decoupled model's responses, in one line (None: not decoupled)."""
        if model not in self.decoupled:
            return None
        r = self.models.get(model)
        if r is None or r.resp_s is None:
            backend = self.decoupled[model]
            kind = {"python": "Python"}.get(backend, backend)
            return f"{model}: responses: not reported by this server for decoupled {kind} models"
        per = f", {r.resp_s / r.inf_s:.1f} per request" if r.inf_s else ""
        return f"{model}: {r.resp_s:.1f} responses/s ({r.inf_s:.1f} requests/s{per})"

    @property
    def total_inf_s(self) -> float:
        """The server's throughput: requests at the models clients call (ensemble steps not counted twice)."""
        inner = {s for steps in self.steps.values() for s in steps}
        return sum(r.inf_s for n, r in self.models.items() if n not in inner)

    def to_dict(self) -> dict:
        return {
            "time": round(self.time, 3),
            "interval_s": round(self.interval, 3),
            "sources": self.sources,
            "missing": self.missing,
            "models": {n: r.to_dict() for n, r in sorted(self.models.items())},
            "ensembles": self.steps,
            "gpus": self.gpus,
            "cpu": self.cpu,
            "problems": self.problems,
            "decoupled": self.decoupled,
        }


class Poller:
    """Polls one server; each poll returns the rates since the previous one (the first poll sets the base)."""

    def __init__(self, client: TritonClient) -> None:
        self.client = client
        self._prev: tuple[float, dict[str, Counters]] | None = None
        self._ensembles: dict[str, list[str]] = {}
        self._decoupled: dict[str, str] = {}
        self._checked: set[str] = set()

    def poll(self) -> Point | None:
        """None on the first call (nothing to compare with yet)."""
        now = time.monotonic()
        sources, missing, problems = [], [], []
        counters: dict[str, Counters] | None = None
        try:
            parsed = self.client.model_statistics()
            counters = from_statistics(parsed.items)
            problems += parsed.problems[:5]
            sources.append("statistics API")
        except ConsoleError as exc:
            if no_answer(exc):  # gone, timed out, or the other protocol's port: said as status says it
                raise
            missing.append(f"statistics API ({exc.message})")
        scrape = Scrape()
        try:
            scrape = parse(self.client.metrics())
            problems += scrape.problems
            sources.append(f"metrics at {self.client.metrics_url}")
        except ConsoleError as exc:
            missing.append(f"metrics endpoint ({exc.message})")
        if counters is None:
            counters = scrape.models
        self._learn_ensembles(counters)
        prev, self._prev = self._prev, (now, counters)
        if prev is None:
            return None
        seconds = max(now - prev[0], 1e-6)
        models = rates(prev[1], counters, seconds, scrape.pending)
        steps = {e: s for e, s in self._ensembles.items() if e in models}
        decoupled = {m: b for m, b in self._decoupled.items() if m in models}
        return Point(
            time.time(),
            seconds,
            models,
            scrape.gpus,
            scrape.cpu,
            sources,
            missing,
            steps,
            problems,
            decoupled,
        )

    def _learn_ensembles(self, counters: dict[str, Counters]) -> None:
        """Which models are ensembles (their steps), asked once per model that has served something."""
        for name, c in counters.items():
            if name in self._checked or not c.inferences or len(self._checked) > 500:
                continue
            self._checked.add(name)
            try:
                info = self.client.model_info(name)
            except ConsoleError:
                continue
            if info.is_ensemble and info.steps:
                self._ensembles[name] = info.steps
            if decoupled(info.config):
                cfg = info.config
                self._decoupled[name] = cfg.backend or cfg.platform or info.metadata.platform or "these"


@dataclass
class History:
    """The last 15 minutes: per model and for the server, one value per poll."""

    seconds: float = HISTORY_S
    points: deque = field(default_factory=deque)

    def add(self, point: Point) -> None:
        self.points.append(point)
        while self.points and point.time - self.points[0].time > self.seconds:
            self.points.popleft()

    def series(self, model: str, attr: str) -> tuple[list[float], list[float]]:
        """(seconds ago, values) of one model's rate (0 where it did not appear)."""
        if not self.points:
            return [], []
        last = self.points[-1].time
        xs, ys = [], []
        for p in self.points:
            r = p.models.get(model)
            xs.append(p.time - last)
            value = getattr(r, attr) if r is not None else None
            ys.append(0.0 if value is None else value)
        return xs, ys

    def server(self, fn) -> tuple[list[float], list[float]]:
        if not self.points:
            return [], []
        last = self.points[-1].time
        return [p.time - last for p in self.points], [fn(p) for p in self.points]
