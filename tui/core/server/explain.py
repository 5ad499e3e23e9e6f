"""Why a model did not load: the server's reason, the log lines of a managed server that belong to the model,
what its config.pbtxt says when parsed here, and a hint for the common causes.

The causes, each recognised from the reason, the log or the repository (tests/test_explain.py makes a real
broken model for each, on the real server):

- ``backend-missing``: the server has no such backend (the embedded one has only Python);
- ``config-parse``: config.pbtxt does not parse (Triton then lists the model with no state and no reason);
- ``python-error``: the model's Python code failed to import or initialize (its traceback);
- ``stub-died``: the Python stub process exited;
- ``missing-version`` / ``missing-file``: no version directory, or no model file in it;
- ``io-mismatch``: input/output names or dims in the config do not match the model (or an ensemble step);
- ``gpu-on-cpu``: KIND_GPU instances on a machine without GPUs;
- ``dependency``: an ensemble step's model did not load;
- ``server-reason``: none of these, but the server gave a reason of its own (shown with the model): it says why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from triton_console.tui.core.client.responses import IndexEntry

HINTS = {
    "backend-missing": "this server has no {backend} backend (the embedded server has only the Python backend): "
    "serve it with a full Triton (--server docker, or your own tritonserver) or rebuild with --backbone python-onnxruntime",
    "config-parse": "config.pbtxt does not parse, so the server skipped the model: fix the line it names",
    "python-error": "the model's Python code failed to import or initialize (its traceback is below); a missing module "
    "must be installed where the stub runs (for the embedded server: this console's environment)",
    "stub-died": "the Python stub process exited (a crash or a kill): reload the model; its stderr is in the log below",
    "missing-version": "no version directory: put the model in <model>/1/ (a numeric directory per version)",
    "missing-file": "the model file is missing from its version directory (model.py, model.onnx, model.plan, ...)",
    "io-mismatch": "input/output names or dims in config.pbtxt do not match the model: fix config.pbtxt (or leave "
    "them out and let the backend's auto-complete fill them)",
    "gpu-on-cpu": "the config asks for KIND_GPU instances but this server sees no GPU: use KIND_CPU or KIND_AUTO",
    "dependency": "an ensemble step's model did not load: fix {dependency} first",
    "unloaded": "unloaded; l loads it",
    "unknown": "the server gave no reason: its log says why (for a server you run yourself: --log-verbose=1)",
    "server-reason": "the server's own reason says why (a cause the console does not recognise): its log may say "
    "more (for a server you run yourself: --log-verbose=1)",
    "not-loaded": "not loaded: with model control explicit, load it (l in the Models pane); with model control none "
    "the server refused it when it read the repository: its log says why (for an ensemble, status --repository DIR "
    "checks its steps)",
}

_PATTERNS = [  # in order: the first match names the cause (a dependency's own failure is quoted in its line)
    ("dependency", re.compile(r"depends on '([^']+)' which has no loaded version", re.I)),
    (
        "backend-missing",
        re.compile(
            r"unable to find backend library for backend '([^']+)'|backend '([^']+)' (?:is )?not found", re.I
        ),
    ),
    ("gpu-on-cpu", re.compile(r"KIND_GPU but no GPUs are available|no CUDA-capable device", re.I)),
    (
        "io-mismatch",
        re.compile(
            r"the model expects dims|mapping to non-existing (input|output)|unexpected inference (input|output)|"
            r"model configuration specifies|unable to find .* in model configuration|does not match",
            re.I,
        ),
    ),
    ("stub-died", re.compile(r"Stub process .* (is not healthy|exited)|stub process died", re.I)),
    (
        "missing-version",
        re.compile(r"at least one version must be available|no version directory|version policy", re.I),
    ),
    (
        "missing-file",
        re.compile(
            r"model file not found|unable to find '?[^ ]*model\.(py|onnx|plan|pt)|No such file|"
            r"\bmodel\.(?:py|onnx|plan|pt)'? (?:is )?missing",
            re.I,
        ),
    ),
    ("python-error", re.compile(r"(Error|Exception): |Traceback|Failed to initialize Python stub", re.I)),
]


@dataclass
class Explanation:
    cause: str
    hint: str
    log: list[str] = field(default_factory=list)  # the managed server's lines about this model, in order
    config_error: str | None = None  # what parsing config.pbtxt here said

    def to_dict(self) -> dict:
        return {"cause": self.cause, "hint": self.hint, "log": self.log, "config_error": self.config_error}


def _marks(name: str) -> tuple[str, ...]:
    """How a log line names a model: 'name', "name", its instances 'name_0' or Initialize: name_0, /name/, "loading: name:1", …"""
    return (
        f"'{name}'",
        f'"{name}"',
        f"'{name}_",
        f"Initialize: {name}_",
        f"/{name}/",
        f" {name}:",
        f"ensemble {name},",
        f"model {name} ",
    )


_RECORD = re.compile(r"^[IWEV]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\] ")


def _orphans(lines: Sequence[str]) -> set[int]:
    """Lines no server record owns: a child's raw stderr. A Python stub writes to the server's stderr untagged,
    so a dying stub's last words are found only by when they were printed. A record whose quoted message closes
    on its line owns nothing after it; one that does not (a stub's traceback) owns the raw lines that follow."""
    out: set[int] = set()
    owned = False
    for i, line in enumerate(lines):
        m = _RECORD.match(line)
        if m:
            msg = line[m.end() :].rstrip()
            owned = not (len(msg) > 1 and msg.startswith('"') and msg.endswith('"'))
        elif not owned and line.strip():
            out.add(i)
    return out


def model_log(name: str, lines: Sequence[str], before: int = 2, after: int = 1, limit: int = 40) -> list[str]:
    """Lines that name the model, each with a few lines around, and the untagged stderr printed between its
    first and last mention (a dying stub's own words; with models loading in parallel they can sit many lines
    away from the model's name)."""
    marks = _marks(name)
    named = [i for i, line in enumerate(lines) if any(m in line for m in marks)]
    if not named:
        return []
    keep = {j for i in named for j in range(max(0, i - before), min(len(lines), i + after + 1))}
    keep |= {i for i in _orphans(lines) if named[0] <= i <= named[-1]}
    return [lines[i] for i in sorted(keep)][-limit:]


def parse_config(repository: Path, name: str) -> str | None:
    """Parse <repository>/<name>/config.pbtxt here (Triton's own protobuf): the error text, or None when fine."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    path = Path(repository) / name / "config.pbtxt"
    try:
        text_format.Parse(path.read_text(encoding="utf-8", errors="replace"), model_config_pb2.ModelConfig())
    except FileNotFoundError:
        return None
    except (OSError, text_format.ParseError) as exc:
        return f"{path}: {exc}"
    return None


def has_version_dir(repository: Path, name: str) -> bool:
    folder = Path(repository) / name
    return any(p.is_dir() and p.name.isdigit() for p in folder.iterdir()) if folder.is_dir() else True


def explain(entry: IndexEntry, log: Sequence[str] = (), repository: Path | None = None) -> Explanation | None:
    """An explanation for a model that is not READY (None for a ready one, or one loading normally)."""
    if entry.state == "READY":
        return None
    lines = model_log(entry.name, log) if log else []
    marks = _marks(entry.name)
    naming = [ln for ln in log if any(m in ln for m in marks)]  # causes are read from these, not the context
    # Triton 2.51 never ends loading a Python model whose file is missing
    if entry.state in ("LOADING", "UNLOADING"):
        text = "\n".join(naming)
        for cause, pattern in _PATTERNS:
            if cause in ("missing-file", "python-error") and pattern.search(text):
                return Explanation(
                    cause, HINTS[cause] + "; the server stays LOADING: unload it or restart", lines
                )
        return None
    config_error = parse_config(repository, entry.name) if repository is not None else None
    if config_error:
        return Explanation("config-parse", HINTS["config-parse"], lines, config_error)
    if repository is not None and not has_version_dir(repository, entry.name):
        return Explanation("missing-version", HINTS["missing-version"], lines)
    if entry.state == "UNAVAILABLE" and entry.reason.strip().lower() == "unloaded":  # on request: no fault
        return Explanation("unloaded", HINTS["unloaded"])
    for text in (entry.reason, "\n".join(naming)):  # the server's own reason first, then its log
        for cause, pattern in _PATTERNS:
            m = pattern.search(text)
            if m:
                named = next((f"'{g}'" for g in m.groups() if g), None) if m.groups() else None
                hint = HINTS[cause].format(backend=named or "such a", dependency=named or "it")
                return Explanation(cause, hint, lines)
    if not entry.state and not entry.reason and not lines:
        return Explanation("not-loaded", HINTS["not-loaded"], lines)
    if entry.reason.strip():  # a reason the patterns do not know is still the server's word, not "no reason"
        return Explanation("server-reason", HINTS["server-reason"], lines)
    return Explanation("unknown", HINTS["unknown"], lines)


def unlisted(repository: Path, listed: set[str]) -> list[IndexEntry]:
    """Model folders of a managed server's repository that the server does not list at all."""
    out = []
    try:
        folders = sorted(p for p in Path(repository).iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return out
    for p in folders:
        if p.name not in listed and (p / "config.pbtxt").exists():
            out.append(
                IndexEntry(p.name, "", "UNLISTED", "in the repository, but the server does not list it")
            )
    return out


_AT_FRAME = re.compile(r"^\s*(.+?)\((\d+)\): \S", re.M)  # the stub's "At:" frames, innermost first
_PY_FRAME = re.compile(r'File "([^"]+)", line (\d+)')  # a Python traceback's frames, innermost last
_SYNTAX = re.compile(r"(\w*Error): (.*?) \(([^(),]+\.py), line (\d+)\)")


@dataclass(frozen=True)
class Failure:
    """A Python model's failure as a developer reads it: the user's file and line first, then the error."""

    error: str  # "NameError: name 'x' is not defined"
    path: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.error}" if self.path else self.error


def python_failure(text: str, folder: Path) -> Failure:
    """The error line of a Python-backend failure (a load's error text or the stub's stderr) and the innermost
    frame inside the model's folder ``folder``: a SyntaxError names only the file's base name, which is looked
    up in the folder's version directories."""
    folder = Path(folder)
    body = text.split("Internal: ", 1)[-1]
    m = _SYNTAX.search(body)
    if m:
        found = sorted(folder.glob(f"*/{m.group(3)}")) or [folder / m.group(3)]
        return Failure(f"{m.group(1)}: {m.group(2)}", str(found[-1]), int(m.group(4)))
    error = next(
        (ln.strip() for ln in body.splitlines() if re.match(r"\s*\w+(Error|Exception|Exit)\b", ln)),
        body.strip().splitlines()[0].rstrip(";") if body.strip() else text,
    )
    inside = str(folder.resolve()) + "/"
    at = [(p, n) for p, n in _AT_FRAME.findall(body) if str(Path(p).resolve()).startswith(inside)]
    if at:
        return Failure(error, at[0][0], int(at[0][1]))
    py = [(p, n) for p, n in _PY_FRAME.findall(body) if str(Path(p).resolve()).startswith(inside)]
    if py:
        return Failure(error, py[-1][0], int(py[-1][1]))
    return Failure(error)
