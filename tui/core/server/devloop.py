"""The edit loop of a model on this machine: watch its files, reload it (and the ensembles that use it) when
they change, and send the same request again. UI-free: ``dev`` prints its events; a pane can post them.

Reloading is a ``load`` of the model (model control explicit): Triton re-reads the files of a loaded model
whose files changed, and keeps the previous version serving when the new one fails to load (measured with
Triton 2.51: a SyntaxError leaves the old version READY and answering).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from triton_console.common.errors import EXIT_USAGE, ConsoleError
from triton_console.tui.core.client.client import TIMEOUT, UNREACHABLE, ModelInfo, TritonClient
from triton_console.tui.core.client.modelcontrol import load_and_wait
from triton_console.tui.core.request import ensemble, infer
from triton_console.tui.core.server.explain import Failure, python_failure


@dataclass
class Event:
    """One reload (or the first request, ``event`` "watch"): its outcome and the request's result."""

    event: str  # "watch" | "reload"
    model: str
    status: str  # "ok" | "failed"
    reason: str | None = None  # why the reload failed: the user's file:line first
    failure: Failure | None = None
    reloaded: list[str] = field(default_factory=list)  # the model, then the ensembles using it
    changed: list[str] = field(default_factory=list)  # the files whose change started it
    serving: bool = True  # the model answers (the previous version, after a failed reload)
    result: infer.InferResult | None = None
    error: str | None = None  # the request's error, if it failed
    seconds: float = 0.0  # how long the reload took

    def to_dict(self) -> dict:
        return {
            "event": self.event,
            "model": self.model,
            "status": self.status,
            "reason": self.reason,
            "file": self.failure.path if self.failure else None,
            "line": self.failure.line if self.failure else None,
            "reloaded": self.reloaded,
            "changed": self.changed,
            "serving": self.serving,
            "seconds": round(self.seconds, 3),
            "result": self.result.to_dict() if self.result else None,
            "error": self.error,
        }


def summary(event: Event, previous: infer.InferResult | None = None) -> list[str]:
    """The event as lines a person reads: the outcome, then each output beside its previous values."""
    if event.event == "watch":
        head = f"{event.model} ready"
    elif event.status == "ok":
        head = f"reload ok  {' + '.join(event.reloaded)}  {event.seconds:.1f} s"
    else:
        serving = "the previous version keeps serving" if event.serving else f"{event.model} is not serving"
        head = f"reload failed  {event.model}: {event.reason}  ({serving})"
    lines = [head]
    if event.error:
        lines.append(f"  request failed: {event.error}")
    if event.result is not None:
        before = {o.name: o for o in previous.outputs} if previous is not None else {}
        for o in event.result.outputs:
            line = f"  {o.name} {o.datatype} {list(o.shape)}: {_values(o)}"
            old = before.get(o.name)
            if old is not None and old.values != o.values:
                line += f"  (was {_values(old)})"
            lines.append(line)
        lines.append(f"  {event.result.latency_ms:.1f} ms")
    return lines


def _values(o: infer.OutputSummary) -> str:
    more = "…" if o.array is not None and len(o.values) < o.array.size else ""
    return "[" + ", ".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in o.values) + more + "]"


def reclassify(client: TritonClient, model: str, image: str, scaling: str | None, k: int = 5):
    """The Classify pane's last image through ``model`` again (its route planned anew: a reload may change
    it); a :class:`~triton_console.tui.core.classify.classifier.Classification`."""
    from triton_console.tui.core.classify import classifier

    try:
        data = Path(image).read_bytes()
    except OSError as exc:
        raise ConsoleError(f"{image}: {exc.strerror or exc}") from None
    client.forget(model)
    return classifier.classify(client, model, data, k, scaling=scaling)


def classified_lines(
    model: str, image: str, now, was, error: str | None = None, columns: int = 60
) -> list[str]:
    """The new top-k beside the previous one (``now``/``was``: Classifications or None), two columns in
    ``columns`` cells: labels are cut, scores kept."""
    head = f"{Path(image).name} → {model} (the Classify pane's image)"
    if error:
        return [head, f"  failed: {error}"]
    width = max(12, (columns - 3) // 2)

    def rows(c) -> list[str]:
        out = []
        for t in c.top:
            name = f"{t.index} {t.label}" if t.label and t.label != str(t.index) else str(t.index)
            score = f" {t.score:.4f}"
            room = width - len(score)
            out.append((name if len(name) <= room else name[: room - 1] + "…") + score)
        return out

    new, old = rows(now), rows(was) if was is not None else []
    lines = [head, f"  {'now':<{width}} {'was' if old else ''}".rstrip()]
    for i in range(max(len(new), len(old))):
        a = new[i] if i < len(new) else ""
        b = old[i] if i < len(old) else ""
        lines.append(f"  {a:<{width}} {b}".rstrip())
    return lines


def model_folder(repository: Path, model: str) -> Path:
    folder = Path(repository) / model
    if not (folder / "config.pbtxt").is_file() and not folder.is_dir():
        raise ConsoleError(
            f"{folder}: no such model folder",
            hint="pass --repository DIR: the repository the server reads",
            exit_code=EXIT_USAGE,
        )
    return folder


def users_of(client: TritonClient, model: str, repository: Path) -> list[str]:
    """The ensembles of the repository whose steps use ``model`` (directly or through another ensemble)."""
    try:
        states = {e.name: e.state for e in client.repository_index().items}
    except ConsoleError:
        states = {}
    steps: dict[str, list[str]] = {}
    for name in sorted(states) or sorted(p.name for p in Path(repository).iterdir() if p.is_dir()):
        config = ensemble.read_config(repository, name)
        if ensemble.is_ensemble(config):
            steps[name] = [s.model_name for s in config.ensemble_scheduling.step]
    out: list[str] = []
    wanted = {model}
    while True:
        more = [n for n, used in steps.items() if n not in out and wanted & set(used)]
        if not more:
            return out
        out += more
        wanted |= set(more)


class DevLoop:
    """Reload-and-request for one model; :meth:`watch` yields an :class:`Event` per change until stopped."""

    def __init__(
        self,
        client: TritonClient,
        model: str,
        repository: Path,
        plan: Callable[[ModelInfo], list[infer.InputPlan]],
    ) -> None:
        self.client, self.model, self.repository = client, model, Path(repository)
        self.folder = model_folder(self.repository, model)
        self.plan = plan
        self.users = users_of(client, model, self.repository)
        self.stop = threading.Event()

    def request(self, event: Event) -> Event:
        """Send the request again (re-planned: a reload may change the model's inputs)."""
        try:
            self.client.forget(self.model)
            info = self.client.model_info(self.model)
            event.result = infer.run(self.client, self.model, self.plan(info))
        except ConsoleError as exc:
            if exc.code in (UNREACHABLE, TIMEOUT):
                raise
            event.error = exc.message
        return event

    def first(self) -> Event:
        return self.request(Event("watch", self.model, "ok", reloaded=[self.model, *self.users]))

    def reload(self, changed: list[str] = ()) -> Event:
        start = time.perf_counter()
        event = Event("reload", self.model, "ok", changed=list(changed))
        try:
            # past the call's timeout the server goes on loading: wait for READY or its reason, as reload does
            load_and_wait(self.client, self.model)
            event.reloaded.append(self.model)
            for name in self.users:
                load_and_wait(self.client, name)
                event.reloaded.append(name)
        except ConsoleError as exc:
            if exc.code in (UNREACHABLE, TIMEOUT):
                raise
            event.status = "failed"
            event.failure = python_failure(exc.message, self.folder)
            event.reason = str(event.failure)
        event.seconds = time.perf_counter() - start
        try:
            event.serving = self.client.is_model_ready(self.model)
        except ConsoleError:
            event.serving = False
        if event.serving:
            self.request(event)
        return event

    def watch(self, debounce_ms: int = 300) -> Iterator[Event]:
        """Block on the model's folder; one event per batch of changes, until :attr:`stop` is set."""
        import logging

        import watchfiles

        logging.getLogger("watchfiles.main").setLevel(logging.ERROR)  # its Ctrl-C warning: dev ends quietly
        for changes in watchfiles.watch(
            self.folder, stop_event=self.stop, debounce=debounce_ms, raise_interrupt=False, rust_timeout=500
        ):
            files = sorted({str(Path(p).relative_to(self.repository)) for _, p in changes})
            yield self.reload(files)
