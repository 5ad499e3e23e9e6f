"""Change what a model serves: apply a config as an override, revert to the files, write it back to them.

Triton 2.51 in explicit model-control mode (measured, DESIGN.md): ``load`` with ``parameters.config`` replaces
the whole config without touching the repository; a refused override leaves the previous version serving and
answers only "failed to poll from model repository" (the reason is in the server log); a plain ``load`` after
an override does *not* go back to the files (the model is loaded and its files did not change), so a revert
loads the file's config as the override.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from triton_console.common import fsutil
from triton_console.common.errors import EXIT_FAILED, EXIT_USAGE, ConsoleError
from triton_console.tui.core.client.client import MODEL_CONTROL, TritonClient, check_model_name
from triton_console.tui.core.client.codes import server_gone
from triton_console.tui.core.client.modelcontrol import load_reason
from triton_console.tui.core.client.responses import clip
from triton_console.tui.core.server import explain
from triton_console.tui.core.tune import config as cfg

REFUSED = "refused"  # ConsoleError.code of an override the server did not take
NO_CONTROL_HINT = (
    "start the server with model control explicit: triton-console serve --model-control explicit "
    "(tritonserver --model-control-mode=explicit); the console's own server (s in the Server pane) already is"
)
_RECORD = re.compile(r"^[IWEV]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\] ")


@dataclass
class Target:
    """One model and what is known of where it lives."""

    client: TritonClient
    name: str
    repository: Path | None = None  # a repository on this machine holding <name>/config.pbtxt
    log: Callable[[], Sequence[str]] | None = None  # the managed server's log, when the console runs it

    def __post_init__(self) -> None:
        check_model_name(self.name)

    @property
    def file(self) -> Path | None:
        """The model's config.pbtxt on this machine, where there is one."""
        if self.repository is None:
            return None
        path = Path(self.repository) / self.name / "config.pbtxt"
        return path if path.is_file() else None


@dataclass
class Source:
    """The text the editor starts from: the file's own text (comments kept) where it is local, else the
    config the server serves."""

    text: str
    from_file: bool
    served: object  # the ModelConfig the server serves now


def read(target: Target) -> Source:
    served = target.client.model_config(target.name)
    path = target.file
    if path is not None:
        try:
            return Source(path.read_text(encoding="utf-8"), True, served)
        except (OSError, UnicodeDecodeError) as exc:
            raise ConsoleError(f"cannot read {path}: {exc}", exit_code=EXIT_FAILED) from None
    return Source(cfg.to_text(served), False, served)


def file_config(target: Target):
    """The config in the model's files, parsed (None without a local file)."""
    path = target.file
    if path is None:
        return None
    return cfg.parse(path.read_text(encoding="utf-8"), target.name)


def _new_lines(before: Sequence[str], after: Sequence[str]) -> list[str]:
    """The lines of ``after`` past the end of ``before`` (the log is a bounded deque of the same objects)."""
    if before:
        last = before[-1]
        for i in range(len(after) - 1, -1, -1):
            if after[i] is last:
                return list(after[i + 1 :])
    return list(after)


def _message(line: str) -> str:
    m = _RECORD.match(line)
    text = line[m.end() :] if m else line
    return text.strip().strip('"')


def reason_from_log(name: str, lines: Sequence[str]) -> str | None:
    """The server's error line about ``name`` (its message only), the last one if several."""
    marks = explain.model_log(name, lines, before=0, after=0)
    errors = [ln for ln in marks if ln.startswith("E") and _RECORD.match(ln)]
    if not errors:
        return None
    return clip(_message(errors[-1]), 400)


def apply(target: Target, config, settle: float = 2.0, check: bool = True) -> None:
    """Load ``config`` as ``target``'s config (files untouched). A refusal raises ConsoleError (code
    ``refused``) whose message is the real reason in one line and says the previous config still serves.
    ``check=False`` skips the local check (a config the server served before: restoring it must not depend
    on what this side thinks of it)."""
    local = cfg.problems(config, target.name) if check else []
    if local:
        raise ConsoleError(f"{target.name}: not applied: {local[0]}", exit_code=EXIT_USAGE, code=REFUSED)
    before = list(target.log()) if target.log else []
    try:
        target.client.load_model(target.name, cfg.to_json(config))
    except ConsoleError as exc:
        if exc.code == MODEL_CONTROL:
            raise no_control(target.name) from None
        reason = _refusal(target, before, exc.message, settle)
        serving = _still_serving(target)
        raise ConsoleError(
            f"{target.name}: the server refused the config: {reason}; {serving}",
            exit_code=EXIT_FAILED,
            code=REFUSED,
        ) from None


def no_control(name: str) -> ConsoleError:
    return ConsoleError(
        f"{name}: this server does not take loads (model control none), so a config cannot be applied",
        hint=NO_CONTROL_HINT,
        exit_code=EXIT_USAGE,
        code=MODEL_CONTROL,
    )


def _refusal(target: Target, before: Sequence[str], answer: str, settle: float) -> str:
    """The real reason: the server's own words where they say more than "failed to poll", else its log
    (a managed server), else what a local check finds."""
    text = answer.split(" failed: ", 1)[-1]
    if "failed to poll" not in text:
        return clip(text.replace("\n", " ").strip(), 400)
    if target.log is not None:
        deadline = time.monotonic() + settle  # the log reader may be a moment behind the answer
        while True:
            found = reason_from_log(target.name, _new_lines(before, list(target.log())))
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if found:
            return found
    return clip(text, 300) + " (the server's log has the reason)"


def _still_serving(target: Target) -> str:
    try:
        ready = target.client.is_model_ready(target.name)
    except ConsoleError:
        ready = False
    return "the previous config keeps serving" if ready else "the model is not ready"


def revert(target: Target, original=None) -> None:
    """Serve the files' config again: the file's config as the override where the file is local (a plain load
    would keep the override), else ``original`` (the config served before) as the override, else unload and
    load (the server re-reads its files; the model is briefly away)."""
    if target.file is not None:
        apply(target, file_config(target))
        return
    if original is not None:
        apply(target, original, check=False)
        return
    try:
        target.client.reload_model(target.name)
    except ConsoleError as exc:
        if exc.code == MODEL_CONTROL:
            raise no_control(target.name) from None
        raise


def diff(target: Target, text: str) -> str:
    """A unified diff of the file against ``text`` (empty when they are the same)."""
    path = target.file
    if path is None:
        raise ConsoleError(
            f"{target.name}: no config.pbtxt on this machine to write to",
            hint="for a remote server, copy the text into the model's config.pbtxt there",
            exit_code=EXIT_USAGE,
        )
    old = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            text.splitlines(keepends=True),
            f"{path} (file)",
            f"{path} (new)",
        )
    )


def write(target: Target, text: str) -> Path:
    """Write ``text`` as the model's config.pbtxt, atomically, the previous file kept as config.pbtxt.bak;
    refuses text that does not parse. Returns the backup's path."""
    cfg.parse(text, target.name)
    path = target.file
    if path is None:
        diff(target, text)  # raises the one message
        raise AssertionError("unreachable")
    if not text.endswith("\n"):
        text += "\n"
    backup = path.with_name(path.name + ".bak")
    fsutil.write_bytes(backup, path.read_bytes())
    fsutil.write_text(path, text)
    return backup


def served_here(client: TritonClient, repository: Path | None) -> Path | None:
    """``repository`` where it is the folder the server reads, on this machine: the server on loopback and
    every model its index names a folder there (:func:`modelcontrol.serves`); else None. Another folder's
    files would rule out ensembles the server has (unload, reload) and be shown, written and reverted to as
    a config the server never reads (the config editor, tune). Asks the server's index: call it off the UI
    thread. Raises only when the server is gone."""
    from triton_console.tui.core.client.modelcontrol import serves
    from triton_console.tui.core.server.process import is_loopback

    if repository is None:
        return None
    folder = Path(repository).expanduser()
    if is_loopback(client.endpoint.host) and folder.is_dir() and serves(client, folder):
        return folder
    return None


def for_console(controller, name: str) -> Target:
    """``name`` on the console's server (a ServerController, typed loosely to stay below its room): the
    repository and log of the server the console runs, where it is connected to it; for another server on this
    machine, the console's repository where it holds the model and the server serves it (the usual
    ``--repository ./models -u localhost:8001``: :func:`served_here`); else nothing local (no Write, a revert
    reloads). Asks the server's index in the second case: call it off the UI thread."""
    m = controller.managed
    client = controller.client
    if m is not None and m.is_running():
        url = m.grpc_url if client.protocol == "grpc" else m.http_url
        if client.url.endswith(url):
            return Target(client, name, Path(m.cfg.repository), lambda: list(m.log))
    local = Target(client, name, Path(controller.repository)) if controller.repository else None
    if local is not None and local.file is not None and served_here(client, local.repository):
        return local
    return Target(client, name)


# ------------------------------------------------------------------------------------------ the ensembles using it


def dependents(target: Target) -> list[str]:
    """The READY ensembles that use the target's model: asked before a change, to check them after it. Its
    repository on this machine, where there is one, says which models are ensembles (no call per model)."""
    from triton_console.tui.core.client.modelcontrol import ready_ensembles_using

    return ready_ensembles_using(target.client, target.name, target.repository)


def batch_conflicts(client: TritonClient, ensembles: Sequence[str], name: str, config) -> list[str]:
    """Those of ``ensembles`` (using ``name``) whose max_batch_size is above ``config``'s: Triton takes the
    config and then cannot load them again (they turn UNAVAILABLE); one line each saying why."""
    out = []
    for ensemble in ensembles:
        try:
            mbs = client.model_info(ensemble).max_batch_size
        except ConsoleError:
            continue
        if mbs > config.max_batch_size:
            out.append(
                f"{ensemble} allows max_batch_size {mbs}, above the {config.max_batch_size} of {name}: "
                "Triton would make it UNAVAILABLE"
            )
    return out


def down_users(target: Target, candidates: Sequence[str]) -> list[str]:
    """Those of ``candidates`` (models whose last load failed) that are ensembles using ``target``'s model,
    by the repository's files (the server has no config of a model that is down)."""
    if target.repository is None:
        return []
    from triton_console.tui.core.request import ensemble

    out = []
    for name in candidates:
        config = ensemble.read_config(target.repository, name)
        if ensemble.is_ensemble(config) and target.name in [
            s.model_name for s in config.ensemble_scheduling.step
        ]:
            out.append(name)
    return out


def settle(client: TritonClient, ensembles: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """After a change to a model they use: load those of ``ensembles`` that are no longer READY. Returns the
    ones loaded again and the ones still down, each with Triton's reason (its index says only "unloaded"; the
    load's refusal says why, e.g. a max_batch_size above the model's)."""
    again: list[str] = []
    down: dict[str, str] = {}
    for ensemble in ensembles:
        client.forget(ensemble)
        try:
            if client.is_model_ready(ensemble):
                continue
            client.load_model(ensemble)
            again.append(ensemble)
        except ConsoleError as exc:
            if server_gone(exc):
                raise
            if exc.code == MODEL_CONTROL:
                down[ensemble] = "not ready, and this server does not take loads"
            else:
                down[ensemble] = clip(load_reason(exc.message), 400)
    return again, down
