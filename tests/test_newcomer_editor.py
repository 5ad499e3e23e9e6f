"""What a newcomer found at 80x24 in the Models pane and the config editor, on the session's real server: a
lower max_batch_size on an ensemble's backbone took the ensemble down with a ✓ (now refused first, forced with
a second ^s and reported with Triton's reason), a failed l left "unloaded; l loads it", Classify stayed on a
stand-in model, the first request after a load sent 1 byte to an encoded-image model, the detail kept its
scroll offset, the editor's messages were cut, wrong or stale, and a (Add) said "added" when nothing was."""

from __future__ import annotations

import asyncio
import contextlib
import re

from tests.helpers import lines_of, notifications, rows, wait_for, wait_until
from tests.test_app import plain_screen

BACKBONE = "efficientnet_lite0_ort"
ENSEMBLE = "ensemble_python_efficientnet_lite0"
OTHER = "ensemble_python_resnet50"  # the Classify pane's stand-in while ENSEMBLE is down
REFUSED = (
    f"ensemble {ENSEMBLE} allows maximum batch size 256, but it contains model {BACKBONE} which only allows "
    "maximum batch size to be 8"
)


def _app(server, **kw):
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    return ConsoleApp(
        ConsoleOptions(url=server.grpc_url, protocol="grpc", repository=server.cfg.repository, **kw)
    )


def _words(widget) -> str:
    """What a widget shows, its wrapped lines joined (a message cut at the edge would lose words)."""
    return " ".join(" ".join(line.strip() for line in lines_of(widget)).split())


async def _select(pilot, app, model: str):
    await pilot.press("3")
    index = app.query_one("#index")
    await wait_for(pilot, lambda: model in rows(index), 30, "the model list")
    index.move_cursor(row=index.get_row_index(model))
    await pilot.pause(0.2)
    return index


async def _editor(pilot, app, model: str):
    from textual.widgets import TextArea

    await _select(pilot, app, model)
    await pilot.press("e")
    screen = app.screen
    area = screen.query_one("#config-text", TextArea)
    await wait_for(pilot, lambda: "max_batch_size" in area.text, 20, "the config in the editor")
    return screen, area


@contextlib.contextmanager
def _backbone_restored(server):
    """The backbone's files' config serves again afterwards, and the ensemble is READY again."""
    from tests.helpers import deploy_target

    with deploy_target(server, BACKBONE) as t:
        try:
            yield t
        finally:
            with contextlib.suppress(Exception):
                from triton_console.tui.core.tune import deploy

                deploy.revert(t)
            if not t.client.is_model_ready(ENSEMBLE):
                t.client.load_model(ENSEMBLE)
            wait_until(lambda: t.client.is_model_ready(ENSEMBLE), 60, "the ensemble back")


def test_a_lower_max_batch_size_under_an_ensemble_is_refused_then_forced_reported_and_reverted(server):
    """The apply said ✓ while the ensemble went UNAVAILABLE, Classify moved to another model and stayed."""
    with _backbone_restored(server) as target:

        async def scenario():
            app = _app(server)
            async with app.run_test(size=(80, 24), notifications=True) as pilot:
                classify = app.query_one("ClassifyPane")
                await wait_for(pilot, lambda: classify.model == ENSEMBLE, 60, "Classify on the ensemble")
                screen, area = await _editor(pilot, app, BACKBONE)
                area.replace(
                    area.text.replace("max_batch_size: 256", "max_batch_size: 8"), (0, 0), area.document.end
                )
                state = screen.query_one("#config-state")
                await pilot.press("ctrl+s")
                # waited for whole: the message's first line shows before the widget grows to hold the rest
                await wait_for(
                    pilot,
                    lambda: "not sent" in _words(state) and "anyway" in _words(state),
                    30,
                    "the refusal",
                    show=lambda: _words(state),
                )
                said = _words(state)
                assert f"{ENSEMBLE} allows max_batch_size 256, above the 8 of {BACKBONE}" in said, said
                assert "^s again applies it anyway" in said, said
                assert target.client.model_config(BACKBONE).max_batch_size == 256  # nothing sent
                assert target.client.is_model_ready(ENSEMBLE)

                await pilot.press("ctrl+s")  # forced
                await wait_for(
                    pilot,
                    lambda: "applied" in _words(state) and "UNAVAILABLE now" in _words(state),
                    90,
                    "applied, and the ensemble down",
                    show=lambda: _words(state),
                )
                said = _words(state)
                assert said.startswith("⚠ applied, not written"), said
                assert f"{ENSEMBLE} is UNAVAILABLE now: {REFUSED}" in said, said
                assert not target.client.is_model_ready(ENSEMBLE)
                await wait_for(
                    pilot, lambda: classify.model == OTHER, 60, "the stand-in", show=lambda: classify.model
                )

                await pilot.press("ctrl+r")
                await wait_for(
                    pilot, lambda: "reverted" in _words(state), 90, "reverted", show=lambda: _words(state)
                )
                assert "UNAVAILABLE" not in _words(state)
                assert target.client.is_model_ready(ENSEMBLE)
                assert target.client.model_config(BACKBONE).max_batch_size == 256
                # the ensemble is back: Classify goes back to it (it stayed on the stand-in)
                await wait_for(
                    pilot,
                    lambda: classify.model == ENSEMBLE,
                    60,
                    "Classify back",
                    show=lambda: classify.model,
                )
                await pilot.press("escape")
                await pilot.press("q")

        asyncio.run(scenario())


def test_the_editors_message_loses_no_letter_where_it_wraps(tmp_path):
    """The forced apply's message once read "...but i contains model..." for the screen's "but it": where a
    line filled the message's width, the test's reading of the widget (helpers.lines_of) dropped the last
    letter, depending on the width of the timing figures. Every length of the figures, at 80x24: the wrapped
    lines read back equal the message, and each is what the terminal shows on that row."""
    from textual.app import App

    from tests.helpers import free_ports, screen_lines
    from triton_console.tui.core.client.connection import Connection
    from triton_console.tui.core.server.controller import ServerController
    from triton_console.tui.panes.configedit import ConfigDone, ConfigEditScreen

    (port,) = free_ports(1)  # nothing listens: the editor says it cannot read the config, and stays open
    controller = ServerController(Connection(url=f"127.0.0.1:{port}"), tmp_path, server="remote")

    async def scenario():
        app = App()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = ConfigEditScreen(controller, BACKBONE)
            await app.push_screen(screen)
            state = screen.query_one("#config-state")

            def shown() -> list[str]:
                return [line.strip() for line in lines_of(state) if line.strip()]

            for first in range(1, 12):
                for warm in ("1.0", "10.25", "100.125"):
                    message = (
                        f"applied, not written; first request {'9' * first}.5 ms (warm {warm} ms); "
                        f"⚠ {ENSEMBLE} is UNAVAILABLE now: {REFUSED}"
                    )
                    screen.post_message(ConfigDone("apply", message, None, warning=True))
                    # the whole message, once laid out (its first line shows before the widget grows)
                    await wait_for(
                        pilot,
                        lambda m=message: " ".join(shown()) == f"⚠ {m}",
                        5,
                        "the whole message",
                        show=shown,
                    )
                    lines, top = shown(), state.content_region.y
                    on_screen = screen_lines(app)[top : top + len(lines)]
                    assert [line.strip(" │") for line in on_screen] == lines, on_screen

            await pilot.press("escape")

    asyncio.run(scenario())


def test_esc_does_not_throw_away_edits_on_one_key(server):
    """esc closed the editor and lost edits that were neither applied nor written: now the first esc says
    so and a second discards them; without edits one esc closes."""
    from triton_console.tui.panes.configedit import ConfigEditScreen

    async def scenario():
        app = _app(server)
        async with app.run_test(size=(80, 24)) as pilot:
            screen, area = await _editor(pilot, app, BACKBONE)
            await pilot.press("escape")  # nothing edited: closes at once
            await wait_for(pilot, lambda: not isinstance(app.screen, ConfigEditScreen), 5, "closed")
            screen, area = await _editor(pilot, app, BACKBONE)
            area.insert("# a note of mine\n", (0, 0))
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is screen, "one esc threw the edit away"
            said = _words(screen.query_one("#config-state"))
            assert "esc again discards" in said, said
            assert area.text.startswith("# a note of mine"), area.text[:40]
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, ConfigEditScreen), 5, "discarded")
            await pilot.press("q")

    asyncio.run(scenario())


def test_a_failed_load_leaves_its_reason_in_the_models_detail(server):
    """After the ensemble's backbone changed under it, l on the ensemble toasted Triton's reason once and the
    detail went on saying "unloaded; l loads it" (the index says only "unloaded")."""
    from triton_console.tui.core.tune import config as cfg
    from triton_console.tui.core.tune import deploy

    with _backbone_restored(server) as target:
        text = target.file.read_text().replace("max_batch_size: 256", "max_batch_size: 8")
        deploy.apply(target, cfg.parse(text, BACKBONE))
        wait_until(lambda: not target.client.is_model_ready(ENSEMBLE), 30, "the ensemble down")

        async def scenario():
            app = _app(server)
            async with app.run_test(size=(80, 24), notifications=True) as pilot:
                await _select(pilot, app, ENSEMBLE)
                detail = app.query_one("#detail-text")
                await wait_for(pilot, lambda: "UNAVAILABLE" in _words(detail), 30, "the detail")
                await pilot.press("l")
                await wait_for(
                    pilot,
                    lambda: "the last load failed" in _words(detail),
                    60,
                    "the reason in the detail",
                    show=lambda: _words(detail),
                )
                shown = _words(detail)
                assert REFUSED.replace(" ", "") in shown.replace(" ", ""), shown  # long names wrap
                assert "l loads it" not in shown, shown
                await pilot.press("q")

        asyncio.run(scenario())


def test_the_first_request_after_a_load_sends_an_encoded_image_model_a_real_image(server):
    """It sent 1 random byte ("not a decodable image ... (1 bytes: 0d ...)") when no image was at hand."""
    from triton_console.tui.core.client.client import TritonClient
    from triton_console.tui.core.tune import coldstart

    client = TritonClient(server.grpc_url, "grpc", timeout=60)
    try:
        for model in ("fused_python_efficientnet_lite0", "fused_bytes_python_efficientnet_lite0", ENSEMBLE):
            cold = coldstart.measure(client, model, warm=1)
            assert cold.first_ms is not None, (model, cold.describe())
    finally:
        client.close()


def test_models_detail_starts_at_the_top_of_each_model(server):
    """Scrolled down in one model's detail, moving to another showed it from the middle, its name out of view."""

    async def scenario():
        app = _app(server, poll=True)
        async with app.run_test(size=(80, 24)) as pilot:
            index = await _select(pilot, app, ENSEMBLE)
            detail = app.query_one("#detail")
            text = app.query_one("#detail-text")
            await wait_for(pilot, lambda: "config.pbtxt" in _words(text), 30, "the detail")
            await wait_for(pilot, lambda: detail.max_scroll_y > 5, 10, "a long detail")
            detail.scroll_end(animate=False)
            await wait_for(pilot, lambda: detail.scroll_y > 5, 5, "scrolled down")
            index.move_cursor(row=index.get_row_index(BACKBONE))
            await wait_for(pilot, lambda: BACKBONE in _words(text).split()[0], 30, "the other model's detail")
            await pilot.pause(0.2)
            assert detail.scroll_y == 0
            assert BACKBONE in plain_screen(app).splitlines()[3], plain_screen(app)
            await pilot.press("q")

    asyncio.run(scenario())


def test_editor_messages_are_whole_right_and_one_at_a_time(server):
    """The parse error was cut before the field name; -5 (it parses) was called "does not parse"; a stale
    "✓ reverted" stayed under a new ✗; an edit typed just after "reverted" was overwritten."""
    from triton_console.tui.panes.configedit import ConfigDone

    app = _app(server)
    shown_when_done: dict[
        int, str
    ] = {}  # the editor's text when "reverted" is said (bubbled: once a message)

    def hook(message) -> None:
        if isinstance(message, ConfigDone) and message.action == "revert":
            shown_when_done.setdefault(id(message), app.screen.query_one("#config-text").text)

    async def scenario():
        async with app.run_test(size=(80, 24), notifications=True, message_hook=hook) as pilot:
            screen, area = await _editor(pilot, app, "fused_python_efficientnet_lite0")  # no ensemble uses it
            original = area.text
            check, state = screen.query_one("#config-check"), screen.query_one("#config-state")
            await wait_for(pilot, lambda: "✓ parses" in _words(check), 10, "the check")

            area.insert("# an edit that Revert takes back\n", (0, 0))
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: "reverted" in _words(state), 60, "reverted")
            # the files' config was read again after "reverted" was said: an edit typed in between was
            # overwritten by it (this test's next edit was, once: ✓ where ✗ was due)
            assert list(shown_when_done.values()) == [original], shown_when_done
            assert area.text == original

            lines = original.split("\n")
            lines.insert(1, "a_field_nobody_has_ever_named: 1")
            area.replace("\n".join(lines), (0, 0), area.document.end)
            await wait_for(pilot, lambda: "✗" in _words(check), 5, "the error")
            said = _words(check)
            assert 'line 2: Message type "inference.ModelConfig" has no field named' in said, said
            assert "a_field_nobody_has_ever_named" in said, said  # the whole message, wrapped
            assert _words(state) == "", _words(state)  # the reverted line was about the text before

            bad = re.sub(r"max_batch_size: \d+", "max_batch_size: -5", original)
            area.replace(bad, (0, 0), area.document.end)
            await wait_for(pilot, lambda: "parses, but Triton refuses it" in _words(check), 5, "the rule")
            await pilot.press("ctrl+s")
            await wait_for(
                pilot, lambda: "not sent" in _words(state), 5, "not sent", show=lambda: _words(state)
            )
            said = _words(state)
            assert "max_batch_size" in said and "^s again sends it anyway" in said, said
            assert not any("does not parse" in n for n in notifications(app)), notifications(app)
            await pilot.press("ctrl+s")  # sent: the server's answer
            await wait_for(
                pilot, lambda: "apply failed" in _words(state), 60, "the refusal", show=lambda: _words(state)
            )
            assert "the server refused the config" in _words(state), _words(state)
            await pilot.press("escape")
            await pilot.press("q")

    asyncio.run(scenario())


def test_models_add_of_an_unknown_name_says_nothing_was_added_and_the_box_shows_its_keys(server):
    """It said "added nosuchmodel: the server does not know it"; the footer read "/ Find" in the box."""

    async def scenario():
        app = _app(server)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await _select(pilot, app, ENSEMBLE)
            await pilot.press("a")
            await pilot.pause(0.2)
            footer = plain_screen(app).splitlines()[-1]
            assert "⏎ Add" in footer and "esc Cancel" in footer and "Find" not in footer, footer
            await pilot.press(*"nosuchmodel", "enter")
            said = "nosuchmodel: the server does not know it; nothing added"
            await wait_for(
                pilot,
                lambda: any(said in n for n in notifications(app)),
                30,
                said,
                show=lambda: notifications(app),
            )
            assert not any("added nosuchmodel" in n for n in notifications(app))
            assert "nosuchmodel" not in app.controller.given_models
            await pilot.press("q")

    asyncio.run(scenario())
