"""Usage errors (a newcomer's trial, 2026-12): with --json a command line argparse refused printed only its
text on stderr, so a script reading stdout got nothing; bench checked --sweep/--rate only after asking the
server; ``triton-console --bogus`` printed the whole usage block (11 lines). Now: one ``error:`` line naming
where the help is, exit 2, and under --json ``{"model", "error", "code": "usage"}`` on stdout."""

from __future__ import annotations

import json
import socket

import pytest

from tests.conftest import run_cli


def _dead() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def _one_line(res, command: str) -> str:
    lines = res.stderr.splitlines()
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert lines[0].endswith(f"(see '{command} --help')"), lines
    assert "usage:" not in res.stderr and "Traceback" not in res.stderr
    return lines[0]


@pytest.mark.parametrize(
    "argv, command, says",
    [
        (
            ["bench", "--sweep", "1,2", "--rate", "3"],
            "triton-console bench",
            "not allowed with argument --sweep",
        ),
        (["bench", "-m", "m", "--concurrency", "0"], "triton-console bench", "--concurrency: must be >= 1"),
        (["bench", "-m", "m", "--warmup", "-1"], "triton-console bench", "--warmup: must be >= 0"),
        (["status", "--bogus"], "triton-console status", "unrecognized arguments: --bogus"),
        (["classify"], "triton-console classify", "required: IMAGE"),
        (["servers", "add"], "triton-console servers add", "the following arguments are required"),
    ],
)
def test_an_argparse_error_under_json_is_a_json_usage_error(argv, command, says):
    res = run_cli(*argv, "--json", "-u", _dead(), timeout=60)
    line = _one_line(res, command)
    assert says in line, line
    out = json.loads(res.stdout)
    assert (
        out["code"] == "usage"
        and out["model"] is None
        and line == f"error: {out['error']} (see '{command} --help')"
    )


@pytest.mark.parametrize(
    "flags, says",
    [
        (["-m", "m", "--sweep", "abc"], "--sweep 'abc': a comma-separated list of numbers"),
        (["-m", "m", "--sweep", "1.5"], "--sweep '1.5': requests in flight are whole numbers"),
        (["-m", "m", "--rate", "0,5"], "--rate '0,5': every value must be above 0"),
        (["-m", "m", "--input", "X=ones", "car.jpg"], "--input is for a model without images"),
        (["-m", "m", "--progress"], "--progress and --json: choose one"),
        ([], "images are needed, or -m MODEL"),
    ],
)
def test_bench_options_that_cannot_run_are_usage_errors_before_any_request(flags, says):
    """On a dead URL: the options are refused for what they are, not as "cannot reach" (code unreachable)."""
    res = run_cli("bench", *flags, "-u", _dead(), "--json", timeout=60)
    line = _one_line(res, "triton-console bench")
    out = json.loads(res.stdout)
    assert out["code"] == "usage" and says in out["error"] and says in line, (res.stdout, res.stderr)


def test_a_bad_top_level_flag_is_one_line_not_the_usage_block():
    res = run_cli("--bogus")
    line = _one_line(res, "triton-console")
    assert line == "error: triton-console: unrecognized arguments: --bogus (see 'triton-console --help')"
    assert res.stdout == ""
    res = run_cli("--bogus", "--json")
    _one_line(res, "triton-console")
    assert json.loads(res.stdout)["code"] == "usage"


def test_an_unknown_command_under_json_names_the_word_not_the_json_flag():
    res = run_cli("stauts", "--json")
    line = _one_line(res, "triton-console")
    assert "'stauts' is not a command; did you mean `triton-console status ...`?" in line, line
    assert json.loads(res.stdout) == {
        "model": None,
        "error": "triton-console: 'stauts' is not a command; did you mean `triton-console status ...`?",
        "code": "usage",
    }


def test_help_still_prints_the_usage():
    res = run_cli("bench", "--help")
    assert res.returncode == 0 and res.stdout.startswith("usage: triton-console bench"), res.stdout[:200]
