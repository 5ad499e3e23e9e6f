"""A model that cannot serve is named the same way by every command and pane (TritonClient.unavailable):
"model 'X' not found on URL" when the server does not list it, "model 'X' is not ready on URL (STATE: reason)"
when it does. `infer nosuchmodel` said "not ready" while `classify` said "metadata of ... failed: Request for
unknown model", and over HTTP "not offered by this server"."""

from __future__ import annotations

import json

import pytest

from tests.conftest import image, run_cli
from tests.test_any_model import args
from tests.test_any_server import kserve  # noqa: F401 (a fixture)

COMMANDS = {
    "infer": ("infer", "{m}"),
    "generate": ("generate", "{m}", "--text", "hi"),
    "classify": ("classify", "-m", "{m}", "{car}"),
    "bench": ("bench", "-m", "{m}", "--requests", "2"),
    "trace": ("trace", "{m}"),
    "tune": ("tune", "{m}", "--set", "max_batch_size=4"),
}


def _argv(command: str, model: str) -> list[str]:
    return [a.format(m=model, car=image("car.jpg")) for a in COMMANDS[command]]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_says_a_missing_model_is_not_found(zoo, command):
    res = run_cli(*_argv(command, "nosuchmodel"), *args(zoo, "grpc"), "--json", timeout=120)
    assert res.returncode == 1, res.stderr
    said = f"model 'nosuchmodel' not found on grpc://{zoo.grpc_url}"
    assert res.stderr.strip() == f"error: {said}", res.stderr
    assert json.loads(res.stdout) == {"model": "nosuchmodel", "error": said, "code": "model-not-found"}


@pytest.mark.parametrize("command", ["infer", "classify", "tune"])
def test_over_http_too(zoo, command):
    """HTTP's metadata refusal had read as "not offered by this server"."""
    res = run_cli(*_argv(command, "nosuchmodel"), *args(zoo, "http"), timeout=120)
    assert res.returncode == 1, res.stderr
    assert res.stderr.strip() == f"error: model 'nosuchmodel' not found on http://{zoo.http_url}", res.stderr


@pytest.mark.parametrize("command", ["infer", "classify", "bench", "trace"])
def test_a_model_that_failed_to_load_is_not_ready_with_its_state_and_reason(zoo, command):
    res = run_cli(*_argv(command, "boom"), *args(zoo, "grpc"), "--json", timeout=120)
    assert res.returncode == 1, res.stderr
    error = json.loads(res.stdout)
    assert error["code"] == "model-not-ready"
    assert error["error"].startswith(f"model 'boom' is not ready on grpc://{zoo.grpc_url} (UNAVAILABLE: ")
    assert "boom [/]" in error["error"]  # the server's reason (initialize's message)


def test_the_try_form_and_the_warm_up_say_it_as_the_commands_do(zoo):
    """The Try form shows what model_info raises; the warm-up measures through coldstart.small_request."""
    from triton_console.common.errors import ConsoleError
    from triton_console.tui.core.client.client import TritonClient
    from triton_console.tui.core.tune import coldstart

    client = TritonClient(zoo.grpc_url, "grpc", timeout=30)
    try:
        for call in (client.model_info, lambda m: coldstart.small_request(client, m)):
            with pytest.raises(ConsoleError) as info:
                call("nosuchmodel")
            assert info.value.message == f"model 'nosuchmodel' not found on grpc://{zoo.grpc_url}"
            assert info.value.exit_code == 1 and info.value.code == "model-not-found"
    finally:
        client.close()


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_a_kserve_server_without_a_repository_index_gets_the_same_words(kserve, protocol):  # noqa: F811
    """KServe lists its models over HTTP only; over gRPC its own refusal ("does not exist") decides."""
    res = run_cli("infer", "nosuchmodel", *kserve.args(protocol), "--json", timeout=120)
    assert res.returncode == 1, res.stderr
    said = json.loads(res.stdout)
    assert (
        said["error"]
        == f"model 'nosuchmodel' not found on {protocol}://{kserve.url(protocol).split('://')[-1]}"
    )
    assert said["code"] == "model-not-found"


def test_status_names_a_model_it_was_asked_about_and_does_not_list(zoo):
    """`status -m nosuchmodel --probe` exited 1 and said nothing: the model was left out of the listing."""
    res = run_cli("status", "-m", "nosuchmodel", "--probe", *args(zoo, "grpc"), "--json", timeout=120)
    assert res.returncode == 1, res.stderr
    said = f"model 'nosuchmodel' not found on grpc://{zoo.grpc_url}"
    assert said in json.loads(res.stdout)["problems"]
    assert res.stderr.splitlines() == [f"error: {said}"]
    # the failure that exits 1 is an error line on stderr (it was only a "note:" among the notes)
    res = run_cli("status", "-m", "nosuchmodel", *args(zoo, "grpc"), timeout=120)
    assert res.returncode == 1 and res.stderr.splitlines() == [f"error: {said}"], res.stderr
    assert said not in res.stdout, res.stdout


def test_status_on_kserve_over_grpc_says_why_a_named_model_is_unavailable(kserve):  # noqa: F811
    res = run_cli("status", *kserve.args("grpc"), "-m", "doubler", "-m", "nope", "--json", timeout=60)
    models = {m["name"]: m for m in json.loads(res.stdout)["models"]}
    assert models["doubler"]["state"] == "READY" and models["nope"]["state"] == "UNAVAILABLE"
    assert models["nope"]["reason"] == f"model 'nope' not found on grpc://{kserve.url('grpc')}"


def test_many_failures_in_a_row_read_the_index_once_a_second_not_once_each(zoo):
    """A bench whose model went away fails every request: each is worded from one index read a second, not
    one read per failure (a server's index can hold 20,000 models)."""
    from triton_console.common.errors import ConsoleError
    from triton_console.tui.core.client.client import TritonClient

    client = TritonClient(zoo.grpc_url, "grpc", timeout=30)
    reads = []
    real = client.repository_index
    client.repository_index = lambda *a, **kw: reads.append(1) or real(*a, **kw)
    try:
        for _ in range(20):
            with pytest.raises(ConsoleError) as info:
                client.model_metadata("nosuchmodel")
            assert info.value.code == "model-not-found"
        assert 1 <= len(reads) <= 2, len(reads)  # 20 failures well within two seconds
    finally:
        client.close()
