"""Explicit model control as the Models pane and the ``load``/``unload``/``reload`` commands do it.

``reload`` is what brings back a model whose Python-backend stub died: Triton keeps such a model READY and
treats a plain load of it as done already, so the model is unloaded, waited for until it is gone, and loaded
again, and then the ensembles that were serving through it and are no longer READY are loaded too.

``load`` and ``reload`` return when the model serves again, or fail with the server's reason
(:func:`load_and_wait`): Triton answers a load when it is over, but a load longer than the call timeout
(many instances, a large engine) was reported as timed out while the server went on loading.

The client is passed in (this module sits below client.py, which calls it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from triton_console.common.errors import EXIT_FAILED, ConsoleError
from triton_console.tui.core.client.codes import MODEL_NOT_FOUND, TIMEOUT, no_answer, server_gone

GONE_TIMEOUT_S = 60.0
LOAD_TIMEOUT_S = 600.0  # a load the call timeout cut short: how long the server is given to finish it
_LOADING = ("LOADING", "UNLOADING", "")  # a load under way (the old version may still be leaving)
_LOAD_FAILED = re.compile(r"^(?:load \S+ failed: )?load failed for model '[^']*': ")


def load_reason(message: str) -> str:
    """The server's own reason in a failed load's message, without the model's name said twice over."""
    return _LOAD_FAILED.sub("", message.replace("\n", " ").strip())


@dataclass
class Outcome:
    """One model's load, unload or reload: done, or the error as the server gave it."""

    model: str
    action: str  # load | unload | reload
    ok: bool
    seconds: float
    error: str | None = None
    code: str | None = None
    also: list[str] | None = None  # ensembles loaded again with it (reload), or unloaded with it (unload)

    def to_dict(self) -> dict:
        out = {"model": self.model, "action": self.action, "ok": self.ok, "seconds": round(self.seconds, 3)}
        if self.error is not None:
            out["error"], out["code"] = self.error, self.code
        if self.also:
            out["ensembles"] = self.also
        return out

    def line(self) -> str:
        """The one line the CLI prints and the pane shows."""
        verb = {"load": "loaded", "unload": "unloaded", "reload": "reloaded"}[self.action]
        if not self.ok:
            return f"{self.model}: {self.action} failed: {self.error}"
        also = f" (and {', '.join(self.also)})" if self.also else ""
        return f"{self.model}: {verb}{also} in {self.seconds:.1f} s"


def ready_ensembles_using(client, name: str, repository: Path | None = None) -> list[str]:
    """READY ensembles with ``name`` among their steps, from the repository index and the ensembles' configs.

    Which READY models are ensembles is read once per client (:meth:`TritonClient.ensemble_steps`, one config
    call per model, remembered): a later change asks nothing again but the index. ``repository``, the server's
    repository on this machine, settles it without the server: a model whose ``config.pbtxt`` there is no
    ensemble's (or that has none: Triton cannot make up an ensemble's config) is none, and only the ensembles
    are asked for the config they serve (an index can hold 20,000 models: 20,000 calls at each change)."""
    try:
        entries = client.repository_index().items
    except ConsoleError as exc:
        if server_gone(exc):
            raise
        return []
    out = []
    for e in entries:
        if e.state != "READY" or e.name == name:
            continue
        try:
            steps = client.ensemble_steps(e.name, ask=False)
            if steps is None and repository is not None and not _maybe_ensemble(repository, e.name):
                continue
            if steps is None:
                steps = client.ensemble_steps(e.name)
        except ConsoleError as exc:
            if server_gone(exc):
                raise
            continue
        if name in steps:
            out.append(e.name)
    return out


def serves(client, repository: Path) -> bool:
    """Whether ``repository``, a folder on this machine, is the one the server serves as far as its repository
    index can tell: every model the index names is a folder there. A server reading another folder (or several)
    names models this one lacks; a wrong folder would rule out, by its files, ensembles the server has. False
    when the index is empty or cannot be read (a KServe server has none). Checking the host is the caller's:
    a folder of the same name on a remote server's machine is another folder."""
    try:
        names = {e.name for e in client.repository_index().items}
    except ConsoleError as exc:
        if server_gone(exc):
            raise
        return False
    if not names or any(not n or n in (".", "..") or "/" in n or "\\" in n for n in names):
        return False  # only a folder's own names: "../x" would be a folder elsewhere
    try:
        folder = Path(repository)
        return all((folder / n).is_dir() for n in names)
    except (OSError, ValueError):  # a name no path takes ("a\0b") or an unreadable folder
        return False


_ENSEMBLE_PLATFORM = re.compile(r"""\bplatform\s*:\s*["']ensemble["']""")


def _maybe_ensemble(repository: Path, name: str) -> bool:
    """False where ``<repository>/<name>`` is a model folder whose files make no ensemble (no config.pbtxt, or
    one without ``platform: "ensemble"``); True where the server must say (not there, unreadable, or maybe
    one: a comment may say it, the served config is the one that counts)."""
    folder = Path(repository) / name
    try:
        text = (folder / "config.pbtxt").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return not folder.is_dir()
    except OSError:
        return True
    return bool(_ENSEMBLE_PLATFORM.search(text))


def wait_gone(client, name: str, timeout: float = GONE_TIMEOUT_S) -> None:
    """Until the server no longer says ``name`` is ready (an unload returns before the model is gone)."""
    deadline = time.monotonic() + timeout
    while client.is_model_ready(name):
        if time.monotonic() > deadline:
            raise ConsoleError(
                f"{name} is still ready {timeout:.0f} s after its unload", exit_code=EXIT_FAILED
            )
        time.sleep(0.1)


def wait_unloaded(client, name: str, timeout: float = GONE_TIMEOUT_S) -> None:
    """Until the repository index shows no version of ``name`` READY or UNLOADING: Triton answers an unload
    before the model's instances are finalized (a Python model's stub took about a second), and a request in
    that gap fails "not ready (UNLOADING)". A server without an index: until it says the model is not ready."""
    deadline = time.monotonic() + timeout
    pause = 0.02
    while True:
        try:
            entries = client.repository_index().items
        except ConsoleError as exc:
            if no_answer(exc):
                raise
            wait_gone(client, name, max(0.0, deadline - time.monotonic()))
            return
        if not any(e.name == name and e.state in ("READY", "UNLOADING") for e in entries):
            return
        if time.monotonic() > deadline:
            raise ConsoleError(
                f"{name} is still unloading {timeout:.0f} s after its unload", exit_code=EXIT_FAILED
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.25)  # an index can hold 20,000 models: not that every 20 ms for long


def load_and_wait(client, name: str, timeout: float = LOAD_TIMEOUT_S) -> None:
    """Load ``name``; return when it is READY, raise with the server's reason when the load failed.

    Triton answers a load when the load is over (READY, or failed with its reason). Where the call timeout
    ended the call first, the server goes on loading: its index is then watched until the model is READY or
    has failed (UNAVAILABLE and its reason, worded as :meth:`TritonClient.unavailable`), within ``timeout``
    from the start. A server without an index: until it says the model is ready."""
    deadline = time.monotonic() + timeout
    try:
        client.load_model(name)
        return
    except ConsoleError as exc:
        if exc.code != TIMEOUT:
            _not_in_repository(client, name, exc)
            raise
    pause = 0.05
    while True:
        try:
            entries = [e for e in client.repository_index().items if e.name == name]
        except ConsoleError as exc:
            if no_answer(exc):
                raise
            entries = None  # no index: readiness alone says it
        if entries is None:
            if client.is_model_ready(name):
                return
        elif any(e.state == "READY" for e in entries):
            return
        elif entries and not any(e.state in _LOADING for e in entries):
            raise client.unavailable(name)  # the load failed: UNAVAILABLE and the server's reason
        if time.monotonic() > deadline:
            raise ConsoleError(
                f"{name} is still not ready {timeout:.0f} s after its load",
                exit_code=EXIT_FAILED,
                code=TIMEOUT,
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.5)  # an index can hold 20,000 models: not that every 50 ms for long


def _not_in_repository(client, name: str, exc: ConsoleError) -> None:
    """A refused load of a model the server does not know (Triton says only "failed to poll from model
    repository", code none): raised as the repository having no such model, code ``model-not-found``, as
    unload says it. A model the index lists (its config was refused) keeps the server's words."""
    if exc.code is not None:
        return
    try:
        problem = client.unavailable(name)
    except ConsoleError as again:
        if no_answer(again):
            raise
        return
    if problem.code == MODEL_NOT_FOUND:
        raise ConsoleError(
            f"model '{name}' not found: the repository of {client.url} has no model of that name",
            exit_code=problem.exit_code,
            code=MODEL_NOT_FOUND,
        ) from None


def _listed(client, name: str) -> None:
    """Nothing when the server knows ``name``; else the one "not found" wording (TritonClient.unavailable).
    Asked first: a server in polling or none mode answered an unload of a model it has never heard of with
    "explicit model load / unload is not allowed if polling is enabled", which hid the typo."""
    problem = client.unavailable(name)
    if problem.code == MODEL_NOT_FOUND:
        raise problem


def _one(action: str, name: str, fn: Callable[[], list[str] | None]) -> Outcome:
    start = time.monotonic()
    try:
        also = fn()
    except ConsoleError as exc:
        if server_gone(exc):
            raise
        return Outcome(name, action, False, time.monotonic() - start, exc.message, exc.code)
    return Outcome(name, action, True, time.monotonic() - start, also=also or None)


def load(client, names: list[str]) -> list[Outcome]:
    """Load each; done when it serves, or failed with the server's reason (:func:`load_and_wait`)."""
    return [_one("load", n, lambda n=n: load_and_wait(client, n)) for n in names]


def unload(client, names: list[str], repository: Path | None = None) -> list[Outcome]:
    """Unload each and wait until it has left UNLOADING (:func:`wait_unloaded`, within ``GONE_TIMEOUT_S``), so
    the time said is the unload's; ``also``: the ready ensembles that used it and went UNAVAILABLE with it
    (``repository``: as :func:`ready_ensembles_using` takes it)."""

    def once(name: str) -> list[str]:
        _listed(client, name)
        ensembles = ready_ensembles_using(client, name, repository)
        client.unload_model(name)
        wait_unloaded(client, name)  # done when it is: "unloaded in 0.1 s" came a second before that
        return [e for e in ensembles if not client.is_model_ready(e)]

    return [_one("unload", n, lambda n=n: once(n)) for n in names]


def reload(
    client,
    names: list[str],
    unloaded: Callable[[str], None] | None = None,
    repository: Path | None = None,
) -> list[Outcome]:
    """Unload, wait until gone, load and wait until it serves again or has failed (:func:`load_and_wait`);
    then the ensembles that used it and are not READY any more, the same way. ``unloaded(name)`` runs
    between the unload and the load (the Models pane samples GPU memory there); ``repository``: as
    :func:`ready_ensembles_using` takes it."""

    def once(name: str) -> list[str]:
        _listed(client, name)
        ensembles = ready_ensembles_using(client, name, repository)
        client.unload_model(name)
        wait_gone(client, name)
        if unloaded is not None:
            unloaded(name)
        load_and_wait(client, name)
        for e in ensembles:
            if not client.is_model_ready(e):
                load_and_wait(client, e)
            client.health.reset(e)
        # each went down with the model and serves again, whether Triton loaded it back with the model (2.51
        # does) or this did: the line names them as unload's does (it had said "reloaded" alone)
        return ensembles

    return [_one("reload", n, lambda n=n: once(n)) for n in names]
