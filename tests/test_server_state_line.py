"""The Server pane's state line says what is true of the URL it shows: connecting before any answer, not
reachable for a dead URL (without the managed server's pid and uptime, which had been mixed in under
`● starting…`), stopping while x runs, and stopped (not `external`) once the console's own server is down."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.helpers import rendered, start_from_server_pane, wait_for
from triton_console.tui.app import ConsoleApp, ConsoleOptions
from triton_console.tui.core.server import process as srv

pytestmark = pytest.mark.server


def test_before_any_answer_the_state_line_says_connecting():
    async def scenario():
        app = ConsoleApp(ConsoleOptions(url="127.0.0.1:9", poll=False, repository=Path("/nonexistent")))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("2")
            shown = rendered(app.query_one("#state"))
            assert shown.startswith("● connecting…  grpc://127.0.0.1:9"), shown
            assert "not reachable" not in shown and "starting" not in shown

    asyncio.run(scenario())


def test_the_state_line_of_a_dead_url_a_stop_and_a_stopped_server(tmp_path):
    repo = tmp_path / "models"
    repo.mkdir()  # nothing to load: the server is up in seconds
    dead = f"127.0.0.1:{srv.free_port()}"
    opts = ConsoleOptions(url=f"127.0.0.1:{srv.free_port()}", protocol="grpc", repository=repo)

    async def connect(pilot, app, url: str) -> None:
        app.query_one("#url").value = url
        app.query_one("#url").focus()
        await pilot.press("enter")

    async def scenario():
        app = ConsoleApp(opts)
        async with app.run_test(size=(100, 30)) as pilot:
            state = await start_from_server_pane(pilot, app, timeout=120)
            managed = app.controller.client.url
            # another URL, dead: said so, with that URL and nothing of the managed server's pid or uptime
            await connect(pilot, app, dead)
            await wait_for(
                pilot, lambda: "not reachable" in rendered(state), 30, "dead", show=lambda: rendered(state)
            )
            line = rendered(state).splitlines()[0]
            assert line.startswith(f"● not reachable  grpc://{dead}") and line.endswith("external"), line
            assert "pid" not in rendered(state) and "starting" not in rendered(state), rendered(state)
            # back to the managed server, then x: stopping, then stopped (its exit code, not "external")
            await connect(pilot, app, managed)
            await wait_for(pilot, lambda: "bundled pid " in rendered(state), 30, "back")
            seen: list[str] = []  # every state line shown from here on (a stop can take well under a second)
            update = state.update
            state.update = lambda content="": (seen.append(str(content)), update(content))[1]
            await pilot.press("x")
            await wait_for(
                pilot, lambda: "● stopped" in rendered(state), 60, "stopped", show=lambda: rendered(state)
            )
            stopping = [i for i, text in enumerate(seen) if text.startswith(f"● stopping…  {managed}")]
            assert stopping and stopping[0] == 0, seen  # at once, before anything else
            line = rendered(state).splitlines()[0]
            assert line.startswith(f"● stopped  {managed}") and "bundled, exit code " in line, line
            assert "external" not in rendered(state) and "press s to start it again" in rendered(state)
            await pilot.press("q")

    asyncio.run(scenario())


def test_a_cancelled_build_says_cancelled_on_the_step_it_stopped(tmp_path):
    """b then x: the toast read `Build failed  check cancelled` while the check row said `done 0.3s`."""
    from tests.helpers import notifications
    from triton_console.tui.panes.build import BuildPane, StepRow

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url="127.0.0.1:9", poll=False, repository=tmp_path / "models"))
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await pilot.press("1")
            rows = list(app.query(StepRow))

            def states() -> dict[str, str]:
                return {r.step: rendered(r.query_one(".state")) for r in rows}

            # b then x, back to back as the bindings run them: a build of a small model can finish within
            # the few milliseconds two separate key presses take on a loaded machine
            pane = app.query_one(BuildPane)
            pane.action_build()
            pane.action_cancel()
            summary = app.query_one("#summary")
            await wait_for(
                pilot,
                lambda: "build cancelled" in rendered(summary),
                180,
                "the cancel",
                show=lambda: (states(), rendered(summary), notifications(app)),
            )
            states = states()
            cancelled = [s for s, text in states.items() if text.startswith("cancelled")]
            assert len(cancelled) == 1, states  # the step it stopped, and only that one
            later = list(states)[list(states).index(cancelled[0]) + 1 :]
            assert all(not states[s] for s in later), states  # nothing after it ran
            assert not any("done" in states[s] for s in cancelled), states
            await wait_for(pilot, lambda: "Build cancelled" in " ".join(notifications(app)), 10, "the toast")
            shown = " ".join(notifications(app))
            assert "failed" not in shown.lower(), shown
            assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())

    asyncio.run(scenario())
