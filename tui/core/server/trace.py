"""Where one request's time goes, from Triton's own trace records: turn tracing on for a model (TIMESTAMPS,
rate 1, count N), send N requests, read the records the server wrote to its trace file, restore the previous
settings, and cut each request into spans (receive, queue, compute input / infer / output per model and
ensemble step, send).

Triton 2.51 refuses to move the trace file over the network, so this works on a server started with one
(``--trace-config triton,file=PATH``: the console's managed server and ``serve`` do) whose file is readable
here. With ``log_frequency`` N the server writes the N records to ``PATH.<index>``, a new index per batch.
Elsewhere :func:`run` falls back to the statistics' per-step means.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from triton_console.common.errors import EXIT_FAILED, ConsoleError
from triton_console.tui.core.client import stats as st
from triton_console.tui.core.client.client import TIMEOUT, UNREACHABLE, TritonClient
from triton_console.tui.core.request import infer

KEYS = ("trace_level", "trace_rate", "trace_count", "log_frequency")
# (stage, from, to) of a model's record; a record without them (an ensemble's own) adds none
MODEL_STAGES = (
    ("queue", "QUEUE_START", "COMPUTE_START"),
    ("compute input", "COMPUTE_START", "COMPUTE_INPUT_END"),
    ("infer", "COMPUTE_INPUT_END", "COMPUTE_OUTPUT_START"),
    ("compute output", "COMPUTE_OUTPUT_START", "COMPUTE_END"),
)
FRONT_STAGES = (
    ("receive", "HTTP_RECV_START", "HTTP_RECV_END"),
    ("send", "HTTP_SEND_START", "HTTP_SEND_END"),
    ("send", "GRPC_SEND_START", "GRPC_SEND_END"),
)
IDLE = ("GRPC_WAITREAD_START", "GRPC_WAITREAD_END")  # the server waiting for the next request: not its time


@dataclass
class Span:
    model: str
    stage: str
    start_ms: float  # from the request's first timestamp
    ms: float

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "stage": self.stage,
            "start_ms": round(self.start_ms, 3),
            "ms": round(self.ms, 3),
        }


@dataclass
class Request:
    total_ms: float  # the server's first timestamp to its last
    spans: list[Span]
    client_ms: float | None = None  # the same request's latency seen here
    # the server's first timestamp to the start of sending the answer: the client has it soon after, while
    # the last timestamps (the send's completion, the request's release) can come milliseconds later
    answered_ms: float | None = None

    def to_dict(self) -> dict:
        out = {"total_ms": round(self.total_ms, 3), "spans": [s.to_dict() for s in self.spans]}
        if self.client_ms is not None:
            out["client_ms"] = round(self.client_ms, 3)
        if self.answered_ms is not None:
            out["answered_ms"] = round(self.answered_ms, 3)
        return out


@dataclass
class Trace:
    model: str
    source: str  # "trace" (records from the trace file) or "statistics" (the fallback)
    requests: list[Request] = field(default_factory=list)
    stages: list[dict] = field(default_factory=list)  # {"model", "stage", "p50_ms", "p99_ms"} (or mean_ms)
    note: str | None = None  # why the trace file was out of reach
    file: str | None = None

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "source": self.source,
            "file": self.file,
            "note": self.note,
            "requests": [r.to_dict() for r in self.requests],
            "stages": self.stages,
        }


# ------------------------------------------------------------------------------------------ records


def records(text: str) -> dict[int, dict]:
    """Triton's trace JSON (a list of partial records, the same id repeated) merged by id:
    {id: {"model": name, "parent": id | None, "ts": {name: ns}}}."""
    try:
        rows = json.loads(text)
    except ValueError:  # a file the server is still writing: its complete records
        try:
            rows = json.loads(text[: text.rfind("}") + 1] + "]") if text.lstrip().startswith("[") else []
        except ValueError:
            rows = []
    out: dict[int, dict] = {}
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or not isinstance(row.get("id"), int):
            continue
        rec = out.setdefault(row["id"], {"model": "", "parent": None, "ts": {}})
        if isinstance(row.get("model_name"), str):
            rec["model"] = row["model_name"]
        if isinstance(row.get("parent_id"), int):
            rec["parent"] = row["parent_id"]
        for t in row.get("timestamps") or []:
            if isinstance(t, dict) and isinstance(t.get("ns"), int) and isinstance(t.get("name"), str):
                rec["ts"].setdefault(t["name"], t["ns"])
    return out


def requests_of(model: str, recs: dict[int, dict]) -> list[Request]:
    """One :class:`Request` per top-level record of ``model``, its steps' records (at any depth) inside."""
    children: dict[int, list[int]] = {}
    for i, r in recs.items():
        if r["parent"] is not None:
            children.setdefault(r["parent"], []).append(i)
    out = []
    for i in sorted(recs):
        root = recs[i]
        if root["model"] != model or root["parent"] in recs:
            continue
        own = {k: v for k, v in root["ts"].items() if k not in IDLE}
        if not own:
            continue
        t0, t1 = min(own.values()), max(own.values())
        spans: list[Span] = []
        todo = [i]
        while todo:
            j = todo.pop()
            rec = recs[j]
            stages = MODEL_STAGES + (FRONT_STAGES if j == i else ())
            for stage, a, b in stages:
                if a in rec["ts"] and b in rec["ts"]:
                    spans.append(
                        Span(
                            rec["model"],
                            stage,
                            (rec["ts"][a] - t0) / 1e6,
                            (rec["ts"][b] - rec["ts"][a]) / 1e6,
                        )
                    )
            todo += children.get(j, [])
        spans.sort(key=lambda s: s.start_ms)
        sent = [own[k] for k in ("GRPC_SEND_START", "HTTP_SEND_START") if k in own]
        out.append(Request((t1 - t0) / 1e6, spans, answered_ms=(min(sent) - t0) / 1e6 if sent else None))
    return out


def percentiles(requests: list[Request]) -> list[dict]:
    """p50/p99 of each (model, stage) across the requests, in the order the stages first ran."""
    seen: dict[tuple[str, str], list[float]] = {}
    for r in requests:
        per: dict[tuple[str, str], float] = {}
        for s in r.spans:
            per[(s.model, s.stage)] = per.get((s.model, s.stage), 0.0) + s.ms
        for key, ms in per.items():
            seen.setdefault(key, []).append(ms)
    return [
        {
            "model": m,
            "stage": s,
            "p50_ms": round(st.percentile(v, 50), 3),
            "p99_ms": round(st.percentile(v, 99), 3),
        }
        for (m, s), v in seen.items()
    ]


def _cut(name: str, most: int) -> str:
    return name if len(name) <= most else name[: most - 1] + "…"


def waterfall(request: Request, width: int = 24, name_max: int = 40) -> list[str]:
    """The spans of one request as text bars on a common time axis (one line each)."""
    total = max(request.total_ms, 1e-9)
    name_w = max([len(_cut(s.model, name_max)) for s in request.spans] + [5])
    stage_w = max([len(s.stage) for s in request.spans] + [5])
    lines = []
    for s in request.spans:
        a = min(width - 1, int(s.start_ms / total * width))
        n = max(1, round(s.ms / total * width))
        bar = " " * a + "█" * min(n, width - a)
        lines.append(
            f"{_cut(s.model, name_max):<{name_w}} {s.stage:<{stage_w}} │{bar:<{width}}│ {s.ms:8.3f} ms"
        )
    return lines


def report(result: Trace, columns: int | None = None, bar_min: int = 12) -> list[str]:
    """The trace as a person reads it: a waterfall per request, then p50/p99 (or the mean) per stage, in ms.
    With ``columns`` every line fits: the names get their room first (a step's name is what tells the lines
    apart), the bars take what is left (``bar_min`` cells at least, 8 where the screen is very narrow) and
    only names that leave less are cut with an ellipsis; without, 24-cell bars and names up to 40."""
    spans = [s for r in result.requests for s in r.spans]
    stage_w = max([len(s.stage) for s in spans] + [5])
    name_max, bar, row_max = 40, 24, 40
    if columns is not None:
        longest = max([len(s.model) for s in spans] + [5])
        # "  NAME STAGE │BAR│ 00000.000 ms": 18 cells besides the name, the stage and the bar
        name_max = max(8, min(40, longest, columns - 18 - stage_w - bar_min))
        name_w = max(len(_cut(s.model, name_max)) for s in spans) if spans else 5
        bar = max(8, columns - 18 - max(name_w, 5) - stage_w)
        row_max = max(8, min(40, columns - 45))  # "  NAME  STAGE          p50 0000.000  p99 0000.000"
    lines = []
    for i, r in enumerate(result.requests, 1):
        seen = f"  (client {r.client_ms:.2f} ms)" if r.client_ms is not None else ""
        # the records' span alone read as slower than the client saw (15.47 vs 11.79 ms): say when it answered
        # (where the gap is worth a word: half a millisecond and 5% of the total)
        late = r.answered_ms is not None and r.total_ms - r.answered_ms >= max(0.5, 0.05 * r.total_ms)
        told = (
            f"answered at {r.answered_ms:.2f} ms (last record {r.total_ms:.2f})"
            if late
            else f"{r.total_ms:.2f} ms"
        )
        head = f"request {i}: {told}{seen}"
        lines += [f"request {i}: {told}", f"  {seen.strip()}"] if columns and len(head) > columns else [head]
        lines += [f"  {line}" for line in waterfall(r, bar, name_max)]
    if result.stages:
        width = max(len(_cut(s["model"], row_max)) for s in result.stages)
        n = len(result.requests)
        lines.append(f"per stage over {n} request{'s' if n != 1 else ''}, ms")
        for s in result.stages:
            figures = (
                f"p50 {s['p50_ms']:8.3f}  p99 {s['p99_ms']:8.3f}"
                if "p50_ms" in s
                else f"mean {s['mean_ms']:8.3f}"
            )
            lines.append(f"  {_cut(s['model'], row_max):<{width}}  {s['stage']:<14} {figures}")
    return lines


def plans_of(inputs, source: str) -> list[infer.InputPlan]:
    """A request built elsewhere (the Classify pane's image as it sends it) as the plans :func:`run` sends."""
    return [infer.InputPlan(t.name, t.datatype, tuple(t.array.shape), source, t.array) for t in inputs]


# ------------------------------------------------------------------------------------------ running


def trace_file(settings: dict[str, list[str]]) -> Path | None:
    """The server's trace file when it is readable here (its folder at least: the file appears on first write)."""
    values = settings.get("trace_file") or []
    if not values or not values[0]:
        return None
    path = Path(values[0])
    return path if path.parent.is_dir() else None


def _indexed(path: Path) -> set[Path]:
    return {p for p in path.parent.glob(f"{path.name}.*") if p.suffix[1:].isdigit()}


def restore_values(model_settings: dict[str, list[str]], server: dict[str, list[str]]) -> dict:
    """What puts the model's settings back: a value the model had of its own, else None (the server's)."""
    return {
        k: (model_settings[k] if model_settings.get(k) != server.get(k) else None)
        for k in KEYS
        if k in model_settings
    }


def run(
    client: TritonClient,
    model: str,
    plans: list[infer.InputPlan],
    count: int,
    wait_s: float = 10.0,
) -> Trace:
    """Trace ``count`` requests of ``model``; the statistics' per-step means where the trace file is out of
    reach. The model's trace settings are restored on every path."""
    try:
        server = client.trace_settings()
        mine = client.trace_settings(model)
    except ConsoleError as exc:
        if exc.code in (UNREACHABLE, TIMEOUT):
            raise
        note = f"the server has no trace settings ({exc.message}): statistics instead"
        return from_statistics(client, model, plans, count, note)
    path = trace_file(mine)
    if path is None:
        return from_statistics(
            client,
            model,
            plans,
            count,
            "the server's trace file is not readable here "
            f"({(mine.get('trace_file') or ['none set'])[0]}): statistics instead",
        )
    before = _indexed(path)
    latencies: list[float] = []
    client.update_trace_settings(
        model,
        {
            "trace_level": ["TIMESTAMPS"],
            "trace_rate": ["1"],
            "trace_count": [str(count)],
            "log_frequency": [str(count)],
        },
    )
    try:
        for _ in range(count):
            latencies.append(infer.run(client, model, plans).latency_ms)
        recs: dict[int, dict] = {}
        deadline = time.monotonic() + wait_s
        found: list[Request] = []
        while time.monotonic() < deadline:
            recs = {}
            for p in sorted(_indexed(path) - before, key=lambda p: int(p.suffix[1:])):
                try:
                    recs.update(records(p.read_text(encoding="utf-8", errors="replace")))
                except OSError:
                    continue
            found = requests_of(model, recs)
            if len(found) >= count:
                break
            time.sleep(0.1)
    finally:
        client.update_trace_settings(model, restore_values(mine, server))
    if not found:
        raise ConsoleError(
            f"no trace records of {model} appeared in {path}.* within {wait_s:.0f} s", exit_code=EXIT_FAILED
        )
    for r, ms in zip(found, latencies, strict=False):
        r.client_ms = ms
    return Trace(model, "trace", found, percentiles(found), file=str(path))


def from_statistics(client, model, plans, count, note: str) -> Trace:
    """N requests timed here, and each step's mean queue and compute time from the statistics around them."""
    info = client.model_info(model)
    names = list(info.steps) or [model]
    before = st.statistics(client)
    latencies = [infer.run(client, model, plans).latency_ms for _ in range(count)]
    after = st.statistics(client)
    out = Trace(model, "statistics", [Request(ms, [], ms) for ms in latencies], note=note)
    if before is None or after is None:
        out.note = note.replace("statistics instead", "and no statistics: client latency only")
        return out
    b = st.breakdown(before, after, model, names)
    for s in b.steps:
        out.stages += [
            {"model": s.model, "stage": "queue", "mean_ms": round(s.queue_ms, 3)},
            {"model": s.model, "stage": "compute", "mean_ms": round(s.compute_ms, 3)},
        ]
    return out
