"""The tuner: a grid of config fields × load, each config applied as an override, measured with the console's
own load generator, the best chosen by an objective, the original config served again at the end however
the sweep ends (done, cancelled, failed), and the best written back to the files on request.

Per config: apply, the first request timed (cold start), then per load level a warm-up and a measured step
between two statistics snapshots (queue and compute time per request, average batch size).
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from triton_console.common import fsutil
from triton_console.common.errors import EXIT_USAGE, ConsoleError
from triton_console.tui.core.client.client import MODEL_CONTROL
from triton_console.tui.core.client.stats import breakdown, statistics
from triton_console.tui.core.load import loadgen
from triton_console.tui.core.server.process import is_loopback
from triton_console.tui.core.tune import coldstart, deploy, fields, memory
from triton_console.tui.core.tune import config as cfg

GPU_KEYS = ("gpu_memory_bytes", "gpu_free_bytes", "gpu_fits", "gpu_memory")
_CONSTRAINED = re.compile(r"^throughput@p99<=(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class Objective:
    kind: str  # throughput | latency | throughput@p99
    limit_ms: float | None = None

    @classmethod
    def parse(cls, text: str) -> Objective:
        text = text.strip().replace(" ", "")
        if text in ("throughput", "latency"):
            return cls(text)
        m = _CONSTRAINED.match(text)
        if m:
            return cls("throughput@p99", float(m.group(1)))
        raise ConsoleError(
            f"--objective {text!r}: throughput, latency or throughput@p99<=MS", exit_code=EXIT_USAGE
        )

    def __str__(self) -> str:
        return f"throughput@p99<={self.limit_ms:g}" if self.kind == "throughput@p99" else self.kind

    def best(self, trials: list[Trial]) -> Trial | None:
        ok = [t for t in trials if t.status == "ok" and t.throughput]
        if self.kind == "latency":
            return min(ok, key=lambda t: t.p99_ms, default=None)
        if self.kind == "throughput@p99":
            ok = [t for t in ok if t.p99_ms <= self.limit_ms]
        return max(ok, key=lambda t: t.throughput, default=None)


@dataclass
class Trial:
    """One config at one load level (a config the server refused is one trial with its reason)."""

    set: dict
    mode: str
    level: float | None
    status: str = "ok"
    reason: str | None = None
    throughput: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    first_request_ms: float | None = None
    avg_batch: float | None = None
    queue_ms: float | None = None
    compute_ms: float | None = None
    memory_bytes: int | None = None
    model_warmup: bool = False  # the config warms the model up at load (first_request_ms then meets it warm)
    gpu_memory_bytes: int | None = None  # GPU memory used after this config's load minus before it
    gpu_free_bytes: int | None = None  # the most free on one GPU after the load
    gpu_fits: bool | None = None  # another gpu_memory_bytes fits in gpu_free_bytes
    gpu_memory: str | None = None  # the one line: the figures, or why there are none

    def to_dict(self) -> dict:
        def r(x):
            return (
                round(x, 3)
                if isinstance(x, float) and math.isfinite(x)
                else (None if isinstance(x, float) else x)
            )

        level = int(self.level) if self.mode == "concurrency" and self.level is not None else self.level
        out = {"set": self.set, self.mode: level, "status": self.status, "reason": self.reason}
        for k in ("throughput", "p50_ms", "p95_ms", "p99_ms", "errors", "first_request_ms", "avg_batch"):
            out[k] = r(getattr(self, k))
        for k in ("queue_ms", "compute_ms", "memory_bytes"):
            out[k] = r(getattr(self, k))
        out["model_warmup"] = self.model_warmup
        for k in GPU_KEYS:
            out[k] = getattr(self, k)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Trial:
        mode = "rate" if "rate" in d else "concurrency"
        keys = ("throughput", "p50_ms", "p95_ms", "p99_ms", "first_request_ms", "avg_batch", "queue_ms")
        t = cls(dict(d.get("set") or {}), mode, d.get(mode), d.get("status", "ok"), d.get("reason"))
        for k in (*keys, "compute_ms", "memory_bytes", "errors", "model_warmup", *GPU_KEYS):
            if d.get(k) is not None:
                setattr(t, k, d[k])
        return t

    def describe(self) -> str:
        what = ", ".join(f"{k}={v}" for k, v in self.set.items())
        load = (
            f"{self.level:g} {'in flight' if self.mode == 'concurrency' else 'req/s'}" if self.level else ""
        )
        if self.status != "ok":
            return f"{what}  {load}  {self.status}: {self.reason}"
        return (
            f"{what}  {load}  {self.throughput:.1f} req/s  p50 {self.p50_ms:.1f}  p99 {self.p99_ms:.1f} ms"
            + (f"  batch {self.avg_batch:.1f}" if self.avg_batch else "")
            + (f"  errors {self.errors}" if self.errors else "")
            + self._cold()
            + self._gpu()
        )

    def _cold(self) -> str:
        """The first request after the load (against the p50 shown before it), and whether it was warmed."""
        if self.first_request_ms is None:
            return ""
        return f"  first {self.first_request_ms:.0f} ms" + (" (model_warmup)" if self.model_warmup else "")

    def _gpu(self) -> str:
        """The config's GPU footprint where one was measured (no GPU: said once for the sweep, not here)."""
        if self.gpu_memory_bytes is None:
            return ""
        n = self.gpu_memory_bytes / 2**30
        fits = (
            "" if self.gpu_fits is None else (" (fits again)" if self.gpu_fits else " (no room for another)")
        )
        return f"  GPU {n:+.2f} GiB{fits}"


@dataclass
class Result:
    model: str
    objective: Objective
    original: dict
    trials: list[Trial] = field(default_factory=list)
    best: Trial | None = None
    diff: str = ""
    written: str | None = None  # the path written, with --write
    restored: str = ""  # what the model serves after the sweep, in words
    cancelled: bool = False
    best_text: str = ""

    def gpu_note(self) -> str | None:
        """The one line of a sweep without GPU figures (why there are none); else each trial has its own."""
        return next((t.gpu_memory for t in self.trials if t.gpu_memory and t.gpu_memory_bytes is None), None)

    def events(self) -> dict:
        """The ``result`` event of ``tune --progress``: the JSON, and what the Tune pane needs besides."""
        extra = {"best_text": self.best_text, "restored": self.restored, "cancelled": self.cancelled}
        return {"event": "result", "result": self.to_dict(), **extra}

    @classmethod
    def from_event(cls, e: dict) -> Result:
        d = e.get("result") or {}
        trials = [Trial.from_dict(t) for t in d.get("trials", [])]
        best = d.get("best")
        chosen = next((t for t in trials if best and t.set == best.get("set") and t.status == "ok"), None)
        if best and chosen is not None:
            mode = chosen.mode
            chosen = next((t for t in trials if t.set == best["set"] and t.level == best.get(mode)), chosen)
        r = cls(
            d.get("model", ""), Objective.parse(d.get("objective") or "throughput"), d.get("original") or {}
        )
        r.trials, r.best, r.diff, r.written = trials, chosen, d.get("diff") or "", d.get("written")
        r.best_text, r.restored, r.cancelled = (
            e.get("best_text", ""),
            e.get("restored", ""),
            e.get("cancelled", False),
        )
        return r

    def to_dict(self) -> dict:
        best = None
        if self.best is not None:
            best = {
                "set": self.best.set,
                self.best.mode: self.best.to_dict()[self.best.mode],
                "throughput": self.best.to_dict()["throughput"],
                "p99_ms": self.best.to_dict()["p99_ms"],
            }
        return {
            "model": self.model,
            "objective": str(self.objective),
            "original": self.original,
            "trials": [t.to_dict() for t in self.trials],
            "best": best,
            "diff": self.diff,
            "written": self.written,
        }


def grid(sets: list[tuple[fields.Field, list]]) -> list[dict]:
    """Every combination of the values, in the order given (the first field varies slowest)."""
    names = [f.path for f, _ in sets]
    return [
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*(values for _, values in sets))
    ]


def build(base, sets: list[tuple[fields.Field, list]], values: dict):
    config = cfg.copy(base)
    for f, _ in sets:
        fields.set_value(config, f, values[f.path])
    cfg.follow(config)
    return config


def run(
    target: deploy.Target,
    workload: loadgen.Workload,
    sets: list[tuple[fields.Field, list]],
    levels: list[float],
    mode: str = "concurrency",
    requests: int = 100,
    warmup: int = 10,
    objective: Objective | None = None,
    write: bool = False,
    cancel: threading.Event | None = None,
    on_trial: Callable[[Trial, int, int], None] | None = None,
    engine: str = "triton-console",
) -> Result:
    """The sweep; the config served before it is served again at the end unless the best was written."""
    client, name = target.client, target.name
    cancel = cancel or threading.Event()
    objective = objective or Objective("throughput")
    served = client.model_config(name)
    base = deploy.file_config(target) or cfg.copy(served)
    result = Result(name, objective, {f.path: fields.get_value(base, f) for f, _ in sets})
    local = is_loopback(client.endpoint.host)
    probe = memory.gpu_sample(client, local)  # no GPU seen now: none sampled per trial either
    combos = grid(sets)
    total = len(combos) * len(levels)
    try:
        for values in combos:
            if cancel.is_set():
                break
            for trial in _config_trials(
                target,
                workload,
                build(base, sets, values),
                values,
                levels,
                mode,
                requests,
                warmup,
                cancel,
                engine,
                probe,
            ):
                result.trials.append(trial)
                if on_trial is not None:
                    on_trial(trial, len(result.trials), total)
        result.cancelled = cancel.is_set()
        result.best = objective.best(result.trials)
        if result.best is not None:
            best = build(base, sets, result.best.set)
            result.best_text = cfg.to_text(best)
            if target.file is not None:
                result.diff = deploy.diff(target, result.best_text)
            else:
                result.diff = "".join(
                    difflib.unified_diff(
                        cfg.to_text(served).splitlines(keepends=True),
                        result.best_text.splitlines(keepends=True),
                        f"{name} (served)",
                        f"{name} (best)",
                    )
                )
            if write and not result.cancelled:
                deploy.write(target, result.best_text)
                result.written = str(target.file)
    finally:
        result.restored = _restore(target, served, result.written is not None)
    return result


def _restore(target: deploy.Target, served, written: bool) -> str:
    """Serve the original config again (or the files' new one after a write); raises if the server refuses."""
    if written:
        deploy.revert(target)
        return "the written config"
    deploy.apply(target, served, check=False)
    return "the original config again"


def _config_trials(
    target, workload, config, values, levels, mode, requests, warmup, cancel, engine, probe
) -> list[Trial]:
    gpu = memory.AroundLoad(target.client, is_loopback(target.client.endpoint.host), probe)
    try:
        deploy.apply(target, config)
        gpu.loaded()
    except ConsoleError as exc:
        if exc.code == MODEL_CONTROL:
            raise
        return [Trial(values, mode, None, "error", exc.message)]
    first = None
    t0 = time.perf_counter()
    try:
        workload.send(0)
        first = (time.perf_counter() - t0) * 1000.0
    except ConsoleError as exc:
        return [Trial(values, mode, None, "error", f"first request: {exc.message}")]
    out = []
    for level in levels:
        if cancel.is_set():
            break
        trial = _measure(target, workload, values, mode, level, requests, warmup, cancel, engine)
        if cancel.is_set():
            break  # a step cut short is no figure
        trial.first_request_ms = first
        trial.model_warmup = coldstart.has_warmup(config)
        trial.memory_bytes = (
            memory.stub_rss(target.repository, target.name, memory.instance_count(config))
            if target.file
            else None
        )
        out.append(trial)
    if out:  # after the measurement: what the config holds once it has served (lazy allocations included)
        footprint = gpu.footprint().to_dict()
        for trial in out:
            for k, v in footprint.items():
                setattr(trial, k, v)
    return out


def _measure(target, workload, values, mode, level, requests, warmup, cancel, engine) -> Trial:
    kw = {"concurrency": int(level)} if mode == "concurrency" else {"rate": float(level)}
    if warmup > 0 and engine != "perf_analyzer":
        loadgen.run_step(workload, requests=warmup, warmup=0, cancel=cancel, **kw)
    before = statistics(target.client, timeout_is_none=True)
    if engine == "perf_analyzer":  # its own warm-up falls inside the statistics window
        from triton_console.tui.core.load import perfanalyzer

        step = perfanalyzer.sweep(workload, [level], mode, requests, warmup).steps[0]
    else:
        step = loadgen.run_step(workload, requests=requests, warmup=0, cancel=cancel, **kw)
    after = statistics(target.client, timeout_is_none=True) if before is not None else None
    trial = Trial(values, mode, level, errors=step.errors)
    if step.count == 0:
        trial.status, trial.reason = "error", f"no request succeeded: {step.first_error}"
        return trial
    lat = step.latency
    trial.throughput, trial.p50_ms, trial.p95_ms, trial.p99_ms = step.throughput, lat.p50, lat.p95, lat.p99
    if after is not None:
        b = breakdown(before, after, target.name, [target.name])
        if b.steps:
            s = b.steps[0]
            trial.avg_batch, trial.queue_ms, trial.compute_ms = s.avg_batch, s.queue_ms, s.compute_ms
    return trial


def pareto(trials: list[Trial]) -> list[Trial]:
    """The trials no other beats on both throughput (higher) and p99 (lower): the choices worth a look."""
    ok = [t for t in trials if t.status == "ok" and t.throughput is not None and t.p99_ms is not None]

    def beaten(t: Trial) -> bool:
        return any(
            o.throughput >= t.throughput
            and o.p99_ms <= t.p99_ms
            and (o.throughput > t.throughput or o.p99_ms < t.p99_ms)
            for o in ok
        )

    return [t for t in ok if not beaten(t)]


def parse_sets(text: str) -> list[tuple[fields.Field, list]]:
    """Several ``FIELD=V1,V2`` separated by spaces or ';' (the Tune pane's one line)."""
    items = [s for s in re.split(r"[;\s]+", text.strip()) if s]
    if not items:
        raise ConsoleError(
            "set at least one FIELD=V1,V2,... (e.g. instance_group.count=1,2)", exit_code=EXIT_USAGE
        )
    sets = [fields.parse_set(s) for s in items]
    if len({f.path for f, _ in sets}) != len(sets):
        raise ConsoleError("each field once (list its values after one =)", exit_code=EXIT_USAGE)
    return sets


def runs_dir() -> Path:
    """Saved sweeps: beside the bench runs, in a folder of their own (bench reads every file of its own)."""
    return loadgen.runs_dir() / "tune"


def save(result: Result, directory: Path | None = None) -> Path:
    """The sweep as its ``result`` event (the JSON plus the best's text), named by time and model."""
    directory = directory or runs_dir()
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in result.model)
    path = directory / f"{time.strftime('%Y%m%d-%H%M%S')}-{safe}.json"
    n = 1
    while path.exists():
        n += 1
        path = path.with_name(f"{path.stem}-{n}.json")
    fsutil.write_text(path, json.dumps(result.events(), indent=1))
    return path


def saved(
    model: str | None = None, directory: Path | None = None, limit: int = 20
) -> list[tuple[Path, Result]]:
    """Saved sweeps, newest first (files that do not parse are skipped)."""
    directory = directory or runs_dir()
    out = []
    for path in sorted(directory.glob("*.json"), reverse=True) if directory.is_dir() else []:
        try:
            result = Result.from_event(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError, ConsoleError):
            continue
        if model is None or result.model == model:
            out.append((path, result))
        if len(out) >= limit:
            break
    return out
