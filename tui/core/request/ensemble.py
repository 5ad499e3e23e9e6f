"""An ensemble as a graph of steps: checks before loading, a text drawing, and which step a failed request
died in.

Triton refuses a broken ensemble at its repository poll and then lists it with no state and no reason (the
reason is only in its log), so the checks here read the configs themselves: the model config API for what
loaded, the repository's ``config.pbtxt`` for what did not (:func:`repository_configs`). Each problem is one
line that names the step and the tensor. Lives beside the request code because a failed request to an
ensemble is explained here too (:func:`failed_step`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from triton_console.common.errors import ConsoleError

# (config or None, state or None) of a step's model: None config = unknown to both the server and the files
Lookup = Callable[[str], "tuple[object | None, str | None]"]


@dataclass(frozen=True)
class Tensor:
    datatype: str  # "TYPE_FP32" as configs spell it; "" when unknown
    dims: tuple[int, ...]  # without the batch dimension
    batched: bool

    def show(self) -> str:
        if not self.datatype:
            return "?"
        return f"{self.datatype.removeprefix('TYPE_')} [{', '.join(map(str, self.dims))}]"


@dataclass
class Step:
    index: int  # 1-based, as people count
    model: str
    version: int
    inputs: list[tuple[str, str]]  # (the step model's input, the ensemble tensor it reads)
    outputs: list[tuple[str, str]]  # (the step model's output, the ensemble tensor it writes)
    config: object | None = None
    state: str | None = None
    ins: dict[str, Tensor] = field(default_factory=dict)  # the step model's own inputs, by name
    outs: dict[str, Tensor] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"step {self.index} ({self.model})"


def is_ensemble(config) -> bool:
    return config is not None and config.platform == "ensemble"


def _tensors(rows, batched: bool) -> dict[str, Tensor]:
    from tritonclient.grpc import model_config_pb2 as mc

    return {t.name: Tensor(mc.DataType.Name(t.data_type), tuple(t.dims), batched) for t in rows}


def steps(config, lookup: Lookup) -> list[Step]:
    out = []
    for i, s in enumerate(config.ensemble_scheduling.step, 1):
        step = Step(i, s.model_name, s.model_version, list(s.input_map.items()), list(s.output_map.items()))
        step.config, step.state = lookup(s.model_name)
        if step.config is not None:
            batched = step.config.max_batch_size > 0
            step.ins, step.outs = _tensors(step.config.input, batched), _tensors(step.config.output, batched)
        out.append(step)
    return out


def check(config, lookup: Lookup) -> list[str]:
    """Every problem of the ensemble ``config``, one line each naming the step and the tensor."""
    batched = config.max_batch_size > 0
    ens_in, ens_out = _tensors(config.input, batched), _tensors(config.output, batched)
    found = steps(config, lookup)
    problems: list[str] = []
    writers: dict[str, list[tuple[str, Tensor | None, Step | None]]] = {
        name: [("ensemble input", t, None)] for name, t in ens_in.items()
    }
    readers: dict[str, list[tuple[str, Tensor | None, Step | None]]] = {
        name: [("ensemble output", t, None)] for name, t in ens_out.items()
    }
    for step in found:
        if step.config is None:
            problems.append(
                f"{step.label}: model {step.model} is missing (the server and the repository lack it)"
            )
        elif step.state is not None and step.state != "READY":
            problems.append(f"{step.label}: model {step.model} is not ready ({step.state or 'not loaded'})")
        for key, tensor in step.inputs:
            if step.config is not None and step.ins and key not in step.ins:
                problems.append(
                    f"{step.label}: maps {tensor} to input {key}, which {step.model} does not have"
                )
            readers.setdefault(tensor, []).append((step.label, step.ins.get(key), step))
        for key, tensor in step.outputs:
            if step.config is not None and step.outs and key not in step.outs:
                problems.append(
                    f"{step.label}: maps output {key} to {tensor}, which {step.model} does not have"
                )
            writers.setdefault(tensor, []).append((step.label, step.outs.get(key), step))
    for tensor, rs in readers.items():
        ws = writers.get(tensor, [])
        if not ws:
            for who, _, _ in rs:
                problems.append(f"{who}: reads {tensor}, which nothing writes")
            continue
        if len(ws) > 1:
            problems.append(f"{tensor} is written by {' and '.join(w for w, _, _ in ws)}")
        wname, wt, _ = ws[0]
        for who, rt, _ in rs:
            if wt is None or rt is None or not wt.datatype or not rt.datatype:
                continue
            if wt.datatype != rt.datatype:
                problems.append(
                    f"{who}: reads {tensor} as {rt.datatype.removeprefix('TYPE_')}, "
                    f"but {wname} writes {wt.datatype.removeprefix('TYPE_')}"
                )
            elif wt.batched == rt.batched and not _fits(wt.dims, rt.dims):
                problems.append(
                    f"{who}: reads {tensor} as {list(rt.dims)}, but {wname} writes {list(wt.dims)}"
                )
    for tensor, ws in writers.items():
        if tensor not in readers:
            for who, _, _ in ws:
                problems.append(f"{who}: writes {tensor}, which nothing reads")
    problems += _cycles(found)
    return problems


def _fits(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return len(a) == len(b) and all(x == y or -1 in (x, y) for x, y in zip(a, b, strict=True))


def _cycles(found: list[Step]) -> list[str]:
    """A step that (through others) reads what it writes: one line per cycle, naming its steps and a tensor."""
    by_tensor: dict[str, list[Step]] = {}
    for s in found:
        for _, t in s.outputs:
            by_tensor.setdefault(t, []).append(s)
    edges = {s.index: [(w, t) for _, t in s.inputs for w in by_tensor.get(t, [])] for s in found}
    state: dict[int, int] = {}
    out: list[str] = []

    def visit(i: int, path: list[tuple[int, str]]) -> None:
        state[i] = 1
        for w, t in edges[i]:
            if state.get(w.index) == 1:
                start = next(k for k, (j, _) in enumerate(path) if j == w.index) if path else 0
                loop = [j for j, _ in path[start:]] + [i]
                names = " → ".join(f"step {found[j - 1].index} ({found[j - 1].model})" for j in loop)
                out.append(f"{names}: a cycle through {t}")
            elif not state.get(w.index):
                visit(w.index, [*path, (i, t)])
        state[i] = 2

    for s in found:
        if not state.get(s.index):
            visit(s.index, [])
    return out


@dataclass(frozen=True)
class Edge:
    """One tensor of a step: ``source → target`` (the ensemble's tensor into the step's input, or the step's
    output into the ensemble's tensor) and its type as the step declares it."""

    source: str
    target: str
    tensor: str  # "FP32 [3, 224, 224]", "?" when unknown


@dataclass(frozen=True)
class Node:
    index: int
    model: str
    version: str  # " v2", "" for the latest
    state: str
    edges: tuple[Edge, ...]


@dataclass(frozen=True)
class Drawing:
    """An ensemble's steps as data, laid out for a width by :meth:`lines` (names made visible already)."""

    inputs: tuple[tuple[str, str], ...]  # (name, type) of the ensemble's own inputs
    outputs: tuple[tuple[str, str], ...]
    nodes: tuple[Node, ...]

    def wide(self) -> list[str]:
        """One line per step and per tensor, its type beside it: what ``status --json`` gives."""
        lines = [
            "in:  " + ", ".join(f"{n} {t}" for n, t in self.inputs),
            "out: " + ", ".join(f"{n} {t}" for n, t in self.outputs),
        ]
        for s in self.nodes:
            lines.append(f"{s.index}. {s.model}{s.version}  {s.state}")
            lines += [f"   {e.source} → {e.target}  {e.tensor}" for e in s.edges]
        return lines

    def lines(self, width: int | None = None) -> list[str]:
        """The wide lines when they fit in ``width`` columns; else one step per line with each tensor under
        it and its type under that, and a name too long for its line cut in the middle with an ellipsis."""
        wide = self.wide()
        if width is None or max(map(len, wide)) <= width:
            return wide
        lines = [line for n, t in self.inputs for line in _fit("in  ", n, f" {t}", width)]
        lines += [line for n, t in self.outputs for line in _fit("out ", n, f" {t}", width)]
        for s in self.nodes:
            lines += _fit(f"{s.index}. ", s.model, f"{s.version}  {s.state}", width)
            for e in s.edges:
                arrow = f"   {e.source} → {e.target}"
                if len(arrow) <= width:
                    lines.append(arrow)
                else:  # the two names on lines of their own
                    lines += _fit("   ", e.source, " →", width) + _fit("     ", e.target, "", width)
                lines += _fit("     ", e.tensor, "", width)
        return lines


def _fit(head: str, name: str, tail: str, width: int) -> list[str]:
    """``head + name + tail`` in ``width`` columns. A name kept whole where it can be: the tail goes on a
    line of its own first; else the name is cut in the middle (its start, …, its longer end)."""
    room = width - len(head) - len(tail)
    if len(name) <= room:
        return [head + name + tail]
    if tail.strip() and (len(head) + len(name) <= width or room < 6):
        return _fit(head, name, "", width) + _fit(" " * len(head), tail.strip(), "", width)
    keep = max(1, room - 1)
    front = keep * 2 // 5
    return [head + name[:front] + "…" + name[len(name) - (keep - front) :] + tail]


def drawing(config, lookup: Lookup) -> Drawing:
    """The steps of ensemble ``config``: each step's model and readiness, its tensor mapping with dtype and shape."""
    from triton_console.common.untrusted import one_line

    batched = config.max_batch_size > 0
    ens_in, ens_out = _tensors(config.input, batched), _tensors(config.output, batched)
    nodes = []
    for s in steps(config, lookup):
        state = "missing" if s.config is None else (s.state or "not loaded")
        edges = [(tensor, key, s.ins.get(key)) for key, tensor in s.inputs]
        edges += [(key, tensor, s.outs.get(key)) for key, tensor in s.outputs]
        nodes.append(
            Node(
                s.index,
                one_line(s.model),
                "" if s.version < 0 else f" v{s.version}",
                one_line(state),
                tuple(Edge(one_line(a), one_line(b), t.show() if t else "?") for a, b, t in edges),
            )
        )
    return Drawing(
        tuple((one_line(n), t.show()) for n, t in ens_in.items()),
        tuple((one_line(n), t.show()) for n, t in ens_out.items()),
        tuple(nodes),
    )


def graph(config, lookup: Lookup) -> list[str]:
    """The steps as text (:meth:`Drawing.wide`)."""
    return drawing(config, lookup).wide()


# ------------------------------------------------------------------------------------------ configs


def read_config(repository: Path, name: str):
    """``<repository>/<name>/config.pbtxt`` parsed with Triton's protobuf; None when absent or unparsable."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    path = Path(repository) / name / "config.pbtxt"
    try:
        return text_format.Parse(
            path.read_text(encoding="utf-8", errors="replace"), model_config_pb2.ModelConfig()
        )
    except (OSError, text_format.ParseError):
        return None


def lookup_for(client, states: dict[str, str], repository: Path | None = None) -> Lookup:
    """A step model's config from the server (auto-completed) when it is loaded, else from the repository's
    files; its state from the index (``states``: name → state, "" listed without one)."""

    def lookup(name: str):
        config = None
        if states.get(name) == "READY":
            try:
                config = client.model_config(name)
            except ConsoleError:
                config = None
        if config is None and repository is not None:
            config = read_config(repository, name)
        if config is None and name not in states:
            return None, None
        if config is None:  # listed, config unknown: an empty config still tells "present"
            from tritonclient.grpc import model_config_pb2

            config = model_config_pb2.ModelConfig(name=name)
        return config, states.get(name)

    return lookup


# ------------------------------------------------------------------------------------------ failures

_INSTANCE = re.compile(r"for model '([^']+?)(?:_\d+)?'")


def failed_step(config, message: str, ran: dict[str, tuple[int, int]] | None = None) -> str | None:
    """Which step of the ensemble ``config`` a failed request died in: the model the error text names (Triton
    quotes a raising step's instance, 'model_0'), else from the statistics of the request (``ran``: model →
    (requests, failures) it added): a step whose failures rose, else the last step that ran (steps run in
    order and a failed one stops those after it; a Python model's error response counts as a success).
    None when neither says."""
    names = [s.model_name for s in config.ensemble_scheduling.step]
    m = _INSTANCE.search(message)
    hit = None
    if m:
        quoted = m.group(1)
        hit = quoted if quoted in names else next((n for n in names if quoted.startswith(n)), None)
    how = ""
    if hit is None and ran:
        failed = [n for n in names if ran.get(n, (0, 0))[1] > 0]
        went = [n for n in names if ran.get(n, (0, 0))[0] > 0]
        hit = failed[0] if failed else went[-1] if went else None
        how = "" if failed else " (the last step that ran)"
    if hit is None:
        return None
    index = names.index(hit) + 1
    if "message: " in message:
        detail = message.split("message: ", 1)[1]
    else:
        detail = re.sub(r"^.*?in ensemble '[^']*', ", "", message, count=1, flags=re.S)
    return (
        f"step {index} ({hit}) failed{how}: {detail.strip().splitlines()[0] if detail.strip() else message}"
    )


def request_counts(client, names: list[str]) -> dict[str, tuple[int, int]]:
    """(requests, failures) of each step model so far (summed over versions), one statistics call per step
    (not the whole server's); {} where statistics do not answer."""
    out: dict[str, tuple[int, int]] = {}
    for name in dict.fromkeys(names):
        try:
            rows = [r for r in client.model_statistics(name).items if r.name == name]
        except ConsoleError:
            return {}
        out[name] = (
            sum(r.duration("success")[0] + r.duration("fail")[0] for r in rows),
            sum(r.duration("fail")[0] for r in rows),
        )
    return out


@dataclass
class Diagnosis:
    """An ensemble's checks and drawing, for status and the Models pane."""

    problems: list[str]
    drawing: Drawing
    source: str  # "server" (the model config API) or the config.pbtxt path it was read from

    @property
    def graph(self) -> list[str]:
        return self.drawing.wide()

    def to_dict(self) -> dict:
        return {"problems": self.problems, "graph": self.graph, "source": self.source}


REFUSED_HINT = (
    "the server refused the ensemble when it read the repository (its checks say why): fix its config.pbtxt, "
    "then load it (model control explicit) or restart the server (model control none)"
)
# the explainer's causes that a failed check explains better (the server said nothing of its own, or nothing
# the explainer recognises)
REFUSED_CAUSES = ("not-loaded", "unknown", "server-reason")


def diagnose(client, name: str, states: dict[str, str], repository: Path | None = None) -> Diagnosis | None:
    """The checks and graph of ``name`` when it is an ensemble whose config is at hand; None otherwise."""
    config, source = None, "server"
    if states.get(name) == "READY":
        try:
            config = client.model_config(name)
        except ConsoleError:
            config = None
    if config is None and repository is not None:
        config, source = read_config(repository, name), str(Path(repository) / name / "config.pbtxt")
    if not is_ensemble(config):
        return None
    lookup = lookup_for(client, states, repository)
    return Diagnosis(check(config, lookup), drawing(config, lookup), source)
