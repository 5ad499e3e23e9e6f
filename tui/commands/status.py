"""``triton-console status``: server health, what it offers and its models (or every named server)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from triton_console.common.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ConsoleError
from triton_console.common.paths import default_repository
from triton_console.tui.commands.common import err
from triton_console.tui.core.client.flags import add_connection, connection, context_models, paths

NAME = "status"


def add_parser(sub) -> None:
    st = sub.add_parser(NAME, help="server health, what it offers and its models")
    add_connection(st, defaults=False)
    st.add_argument("--all", action="store_true", help="every server in the servers file, in parallel")
    st.add_argument(
        "-m",
        "--model",
        action="append",
        default=[],
        metavar="MODEL",
        help="models to ask about where the server lists none (KServe over gRPC); with --probe, the ones to probe",
    )
    st.add_argument(
        "--probe",
        action="store_true",
        help="send each model (-m, else every READY one) one small request: ok with its latency, or the error "
        "(a model whose stub died is READY to the server, unhealthy here)",
    )
    paths(
        st.add_argument(
            "--repository",
            type=Path,
            metavar="DIR",
            help="the server's model repository, when local: checks ensembles the server refused from their files",
        )
    )
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=run)


def _with_hint(
    entry, checks: list[str] | None = None, probed: bool = False, probe=None, verdict=None
) -> dict:
    """A model of status --json: the explainer's cause and hint when it is not ready (null when ready or when
    nothing is known: every model has the same keys), an ensemble's failed checks, and with --probe its
    ``probe`` and its ``health`` (set when this command's own requests found it broken, while ``state`` stays
    as the server said)."""
    from triton_console.tui.core.client.client import STUB_UNHEALTHY
    from triton_console.tui.core.request.ensemble import REFUSED_CAUSES, REFUSED_HINT
    from triton_console.tui.core.server.explain import explain
    from triton_console.tui.hints import CLI, CLI_CAUSES

    out = entry.to_dict()
    why = explain(entry)
    out["cause"], out["hint"] = (why.cause, why.hint) if why is not None else (None, None)
    if why is not None and why.cause in CLI_CAUSES:  # the pane's key ("l loads it") is no use here
        out["hint"] = CLI_CAUSES[why.cause].replace("MODEL", entry.name)
    if checks and why is not None and why.cause in REFUSED_CAUSES:
        out["cause"], out["hint"] = "ensemble", REFUSED_HINT
    out["checks"] = checks or []
    if probed:  # --probe: every model gets both keys
        out["probe"] = probe.to_dict() if probe is not None else None
        out["health"] = verdict.to_dict() if verdict is not None else None
    if verdict is not None and probe is not None and probe.code == STUB_UNHEALTHY:
        out["cause"], out["hint"] = STUB_UNHEALTHY, CLI[STUB_UNHEALTHY].replace("MODEL", entry.name)
    return out


def _probe(client, snap, named: list[str]) -> dict:
    """One small request to each named model, else to every READY one, one after another."""
    from triton_console.tui.core.request.probe import probe

    names = named or [m.name for m in snap.models if m.state == "READY"]
    return {name: probe(client, name) for name in names}


def _checks(client, models, repository: Path | None) -> dict[str, list[str]]:
    """The failed checks of each ensemble that is not ready (its config from the server or the repository)."""
    from triton_console.tui.core.request import ensemble

    states = {m.name: m.state for m in models}
    out = {}
    for m in models[:200]:
        if m.state != "READY":
            found = ensemble.diagnose(client, m.name, states, repository)
            if found is not None and found.problems:
                out[m.name] = found.problems
    return out


def run(args: argparse.Namespace) -> int:
    from triton_console.common.terminal import columns
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.client.client import check_model_name
    from triton_console.tui.core.server.controller import ServerController

    if args.all:
        return _status_all(args)
    controller = ServerController(connection(args), default_repository())
    controller.given_models = [check_model_name(m) for m in args.model + context_models(args)]
    snap = controller.poll()
    checks = _checks(controller.client, snap.models, args.repository) if snap.live else {}
    probes = _probe(controller.client, snap, args.model) if args.probe and snap.live else {}
    health = controller.client.health.verdicts()
    server = snap.server.to_dict() if snap.server else None
    out = {
        "url": snap.url,
        "live": snap.live,
        "ready": snap.ready,
        "server_version": server["version"] if server else None,
        "server": server,
        "models": [
            _with_hint(m, checks.get(m.name), args.probe, probes.get(m.name), health.get(m.name))
            for m in snap.models
        ],
        "models_from": snap.models_from or None,
        "capabilities": snap.capabilities.to_dict() if snap.capabilities else None,
        "notes": snap.capabilities.notes() if snap.capabilities else [],
        "problems": snap.problems,
    }
    if not snap.live:
        out["error"] = snap.error or f"{snap.url} answers, but says it is not live"
        # as infer, classify, bench and metrics: a "code" in the JSON and the error line on stderr as well
        out["code"] = snap.error_code if snap.error else "not-live"
        if args.json:
            print(json.dumps(out), flush=True)
        err(visible(f"error: {out['error']}", 600))
        return EXIT_USAGE
    # a model named with -m that the server does not list: said as every command says it (it was left out)
    listed = {m.name for m in snap.models}
    named = list(dict.fromkeys(args.model))
    absent = [controller.client.unavailable(n).message for n in named if n not in listed]
    out["problems"] = snap.problems + absent
    failed = any(not p.ok for p in probes.values()) or bool(absent)
    if args.json:
        print(json.dumps(out))
    else:
        for line in _text(snap, {**out, "problems": snap.problems}, probes, health, columns()):
            print(line)
    # the failure that sets exit 1, said as one: an error line on stderr (it was a "note:" among the notes)
    for message in absent:
        err(visible(f"error: {message}", 600))
    return EXIT_FAILED if failed else EXIT_OK


def _text(snap, out: dict, probes: dict, health: dict, width: int) -> list[str]:
    """The plain-text status in ``width`` columns: a line per model (its name cut with an ellipsis only
    where even a name alone would not fit), then its checks, health, probe, hint and reason wrapped beneath."""
    from triton_console.common.terminal import cut, wrapped
    from triton_console.common.untrusted import visible

    title = snap.server.title if snap.server else "unknown server"
    lines = wrapped(
        visible(f"{snap.url}  live={snap.live} ready={snap.ready}  {title}", 400), width, "    ", ""
    )
    for p in out["notes"] + out["problems"]:
        lines += wrapped(visible(f"note: {p}", 400), width, "    ", "  ")
    # "  NAME  v1   UNAVAILABLE": 21 cells besides the name
    names = [visible(m.name, 200) for m in snap.models]  # every string from the server is shown as data
    name_w = min(max([len(n) for n in names] + [5]), max(8, width - 21))
    for m, name, rec in zip(snap.models, names, out["models"], strict=True):
        version, state = visible(m.version or "-", 40), visible(m.state or "-", 60)
        head = f"  {cut(name, name_w):<{name_w}}  v{version:<3} {state}"
        lines.append(head)
        details = [f"check: {c}" for c in rec["checks"]]
        if m.name in health:
            details.append(f"UNHEALTHY: {health[m.name].describe()}")
        if m.name in probes:
            details.append(f"probe: {probes[m.name].outcome()}")
        if rec["hint"]:
            details.append(f"why: {rec['hint']}")
        if m.reason:  # last: the explainer's hint may point at the traceback below
            details.append(f"reason: {m.reason}")
        for d in details:  # a multi-line reason (a traceback) keeps its lines
            parts = [part.strip() for part in d.splitlines() if part.strip()]
            for i, part in enumerate(parts):
                lines += wrapped(visible(part, 600), width, "      ", "      " if i else "    ")
    return lines


def _status_all(args: argparse.Namespace) -> int:
    from triton_console.common.terminal import columns, cut, wrapped
    from triton_console.common.untrusted import visible
    from triton_console.tui.core.client import contexts
    from triton_console.tui.core.server.fleet import Fleet

    entries, problems = contexts.load()
    for p in problems:
        err(visible(f"problem: {p}", 400))
    # an empty (or missing) servers file still has the current server's row, as the Servers pane shows it
    entries, current = _with_current(entries, connection(args))
    fleet = Fleet(entries, budget=min(args.timeout or 10.0, 10.0))
    try:
        rows = fleet.refresh()
    finally:
        fleet.close()
    width = columns()
    for r in rows:
        if args.json:
            print(json.dumps({**r.to_dict(), "current": r.name == current}), flush=True)
        else:
            state = "ready" if r.ready else "live" if r.live else "down"
            ping = f"{r.ping_ms:.1f} ms" if r.ping_ms is not None else "-"
            detail = r.error or f"{r.server}  models {r.models_ready}/{r.models_total}"
            name = f"{r.name} {CURRENT}" if r.name == current != CURRENT else r.name
            head = visible(f"{name:<16} {state:<6} {ping:>9}  {r.url}", 600)
            whole = f"{head}  {visible(detail, 600)}"
            # the detail (an error, most often) beneath its server where the line would run off the edge
            lines = (
                [whole]
                if len(whole) <= width
                else [cut(head, width), *wrapped(visible(detail, 600), width, "    ")]
            )
            print("\n".join(lines))
    return EXIT_OK if all(r.live for r in rows) else EXIT_FAILED


CURRENT = "(current)"  # the row of the server this command is connected to, when the file does not name it


def _with_current(entries: list, conn) -> tuple[list, str]:
    """The servers file's entries with the server of the connection flags (-u, -c, else the default) first
    when no entry is that server (same host, port and protocol); and the name of its row. ``status --all``
    had left out the very server the user was connected to."""
    from dataclasses import dataclass

    from triton_console.tui.core.client import contexts
    from triton_console.tui.core.client.connection import parse_url

    here = conn.endpoint()
    for e in entries:
        try:
            there = parse_url(e.url, e.protocol)
        except ConsoleError:
            continue  # a bad entry is reported on its own row
        if (there.host, there.port, there.protocol) == (here.host, here.port, here.protocol):
            return entries, e.name

    @dataclass(frozen=True)
    class Current(contexts.ServerEntry):
        """The connection as given (its header values stay in memory, never in an entry)."""

        given: object = None

        def connection(self, environ=None):
            return self.given

    return [Current(CURRENT, str(here), here.protocol, given=conn), *entries], CURRENT
