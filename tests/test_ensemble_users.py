"""Which READY ensembles use a model (asked before each config editor Apply and each Models pane unload or
reload): it asked every READY model's metadata and config of the server each time, 20,000 calls on a
20,000-model index. Now the repository on this machine says which models are ensembles and only those are
asked; without it each model's config is asked once per client and remembered."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_newcomer_editor import BACKBONE, ENSEMBLE

ASKS = ("model_metadata", "model_config", "model_statistics")


def _counted(url: str):
    """A client on the real server whose per-model questions are written down, in order."""
    from triton_console.tui.core.client.client import TritonClient

    client = TritonClient(url, "grpc", timeout=60)
    calls: list[tuple[str, str]] = []
    for method in ASKS:
        real = getattr(client, method)
        setattr(client, method, lambda name="", real=real, m=method: calls.append((m, name)) or real(name))
    return client, calls


def _ensembles(repository: Path, names: list[str]) -> list[str]:
    return [n for n in names if 'platform: "ensemble"' in (repository / n / "config.pbtxt").read_text()]


def test_with_the_repository_only_the_ensembles_are_asked(server):
    from triton_console.tui.core.tune.deploy import Target, dependents

    repository = Path(server.cfg.repository)
    client, calls = _counted(server.grpc_url)
    try:
        ready = [e.name for e in client.repository_index().items if e.state == "READY"]
        ensembles = _ensembles(repository, ready)
        assert ENSEMBLE in ensembles and len(ready) >= 2 * len(ensembles), (ready, ensembles)
        target = Target(client, BACKBONE, repository)
        assert dependents(target) == [ENSEMBLE]
        assert sorted(calls) == sorted(("model_config", e) for e in ensembles), calls  # not one per model
        calls.clear()
        assert dependents(target) == [ENSEMBLE]  # the next Apply: nothing but the index
        assert calls == []
    finally:
        client.close()


def test_without_it_each_model_is_asked_once_and_the_answer_is_the_same(server):
    from triton_console.tui.core.tune.deploy import Target, dependents

    client, calls = _counted(server.grpc_url)
    try:
        ready = [e.name for e in client.repository_index().items if e.state == "READY"]
        assert dependents(Target(client, BACKBONE)) == [ENSEMBLE]
        assert sorted(calls) == sorted(("model_config", n) for n in ready if n != BACKBONE), calls
        calls.clear()
        assert dependents(Target(client, BACKBONE)) == [ENSEMBLE]
        assert calls == []
    finally:
        client.close()


def test_a_model_folder_without_an_ensemble_config_is_not_asked_about(tmp_path, server):
    """The files rule a model out only when they are there: a model the folder lacks is asked of the server."""
    from triton_console.tui.core.client.modelcontrol import ready_ensembles_using

    client, calls = _counted(server.grpc_url)
    try:
        ready = [e.name for e in client.repository_index().items if e.state == "READY"]
        for n in ready:
            if n != ENSEMBLE:
                (tmp_path / n).mkdir()  # no config.pbtxt: Triton completes none into an ensemble
        assert ready_ensembles_using(client, BACKBONE, tmp_path) == [ENSEMBLE]
        assert calls == [("model_config", ENSEMBLE)], calls
    finally:
        client.close()


def test_the_unload_and_reload_commands_read_the_served_repository(server, monkeypatch, tmp_path, capsys):
    """``triton-console unload|reload MODEL`` passed no repository: each run asked every READY model's config
    (20,000 calls on a 20,000-model server). Now the default repository, when this machine's server serves it,
    or --repository says which models are ensembles; a folder the server does not serve is not trusted (its
    files would hide ensembles) and the server is asked as before."""
    from tests.helpers import wait_until
    from triton_console.tui.cli import main
    from triton_console.tui.core.client.client import TritonClient

    repository = Path(server.cfg.repository)
    asked: list[str] = []
    real = TritonClient.model_config
    monkeypatch.setattr(
        TritonClient, "model_config", lambda self, name: asked.append(name) or real(self, name)
    )
    client = TritonClient(server.grpc_url, "grpc", timeout=60)

    def unload(*flags: str) -> tuple[dict, set[str]]:
        """The unload's JSON and the configs it asked for; the backbone and its ensemble loaded again after."""
        asked.clear()
        try:
            assert main(["unload", BACKBONE, "-u", server.grpc_url, "--json", *flags]) == 0
            return json.loads(capsys.readouterr().out), set(asked)
        finally:
            client.load_model(BACKBONE)
            client.load_model(ENSEMBLE)
            wait_until(lambda: client.is_model_ready(ENSEMBLE), 60, "the ensemble back")

    try:
        ready = [e.name for e in client.repository_index().items if e.state == "READY"]
        others = set(ready) - set(_ensembles(repository, ready)) - {BACKBONE}
        assert others, ready

        monkeypatch.setenv("TRITON_CONSOLE_REPOSITORY", str(repository))  # the default is the served one
        out, seen = unload()
        assert out["ensembles"] == [ENSEMBLE] and not seen & others, (
            out,
            seen,
        )  # the ensembles' configs only

        monkeypatch.setenv("TRITON_CONSOLE_REPOSITORY", str(tmp_path / "none"))
        out, seen = unload("--repository", str(repository))
        assert out["ensembles"] == [ENSEMBLE] and not seen & others, (out, seen)

        # a default repository the server does not serve: two of its names, the ensemble's config no ensemble's
        elsewhere = tmp_path / "elsewhere"
        (elsewhere / BACKBONE).mkdir(parents=True)
        (elsewhere / ENSEMBLE).mkdir()
        (elsewhere / ENSEMBLE / "config.pbtxt").write_text('name: "x"\nbackend: "python"\n')
        monkeypatch.setenv("TRITON_CONSOLE_REPOSITORY", str(elsewhere))
        out, seen = unload()
        assert out["ensembles"] == [ENSEMBLE] and others <= seen, (out, seen)  # asked, not ruled out

        asked.clear()
        assert main(["reload", BACKBONE, "-u", server.grpc_url, "--repository", str(elsewhere)]) == 0
        said = capsys.readouterr()
        assert "names models not in it; asking the server" in said.err and "reloaded" in said.out, said
        assert f"{BACKBONE}: reloaded (and {ENSEMBLE}) in" in said.out, said  # it went down and came back too
        assert others <= set(asked), asked
    finally:
        client.close()


def test_the_models_pane_trusts_only_a_repository_the_server_serves(server, tmp_path):
    """The Models pane (l, u, and the config editor behind e) took the console's repository as the server's
    whenever the server was on this machine and the folder held the model: a folder the server does not
    read was shown and written as the model's config, and its files ruled out ensembles (as the CLI's
    unload and reload did before :func:`deploy.served_here`). Now the pane checks it as the CLI does: the
    editor shows the config as served, Write off, and u names the ensemble that went with the model."""
    import asyncio

    from textual.widgets import TextArea

    from tests.helpers import notifications, rendered, rows, select_model, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    elsewhere = tmp_path / "elsewhere"  # the console's repository: the same names, not the server's folder
    for name in (BACKBONE, ENSEMBLE):
        (elsewhere / name).mkdir(parents=True)
        (elsewhere / name / "config.pbtxt").write_text(f'name: "{name}"\nbackend: "python"\n# not served\n')
    opts = ConsoleOptions(url=server.grpc_url, protocol="grpc", repository=elsewhere)

    async def scenario():
        app = ConsoleApp(opts)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            table = await select_model(pilot, app, BACKBONE, 30)
            await pilot.pause(0.3)
            await pilot.press("e")
            area = app.screen.query_one("#config-text", TextArea)
            title = app.screen.query_one("#config-title")
            await wait_for(pilot, lambda: area.text.strip(), 20, "the config in the editor")
            assert "not served" not in area.text, area.text
            assert "as served (no local file: Write is off)" in rendered(title), rendered(title)
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen.query("#index"), 5, "the editor closed")
            try:
                await pilot.press("u", "u")  # u asks first; u again unloads
                said = f"{BACKBONE}: unloaded (and {ENSEMBLE})"
                await wait_for(
                    pilot,
                    lambda: any(said in n for n in notifications(app)),
                    60,
                    "the unload",
                    show=lambda: notifications(app),
                )
                assert rows(table)[ENSEMBLE].startswith("UNAVAILABLE"), rows(table)
            finally:
                await pilot.press("l")
                await wait_for(pilot, lambda: rows(table)[BACKBONE].startswith("READY"), 60, "loaded again")
            await wait_for(pilot, lambda: rows(table)[ENSEMBLE].startswith("READY"), 60, "the ensemble back")

    asyncio.run(scenario())
