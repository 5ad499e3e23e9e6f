"""Headless defects a newcomer's trial found: a closed stdout (`| head`) answered with a BrokenPipeError
traceback, `infer --show-call` without a form refused, and `classify --batch K` on a model that takes one
image per request saying so once per image."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import CLI, ROOT, image, run_cli, url_args

pytestmark = pytest.mark.server


def _closed_stdout(*argv: str) -> tuple[int, str]:
    """The command run with its stdout a pipe whose reader is gone before it writes (`| head` done)."""
    r, w = os.pipe()
    os.close(r)  # no reader: every write fails with EPIPE
    try:
        res = subprocess.run(
            [*CLI, *argv], stdout=w, stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT
        )
    finally:
        os.close(w)
    return res.returncode, res.stderr


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_closed_stdout_ends_quietly_with_141(zoo, json_flag):
    """`classify DIR | head -2` printed a BrokenPipeError traceback and exited 1."""
    code, stderr = _closed_stdout(
        "classify", str(image("car.jpg")), str(image("mug.jpg")), *url_args(zoo, "grpc"), "-m", "chw_fp32",
        *json_flag,
    )  # fmt: skip
    assert code == 141, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr and "Exception ignored" not in stderr, (
        stderr
    )


def test_a_closed_stdout_without_a_server_too(tmp_path):
    code, stderr = _closed_stdout("servers", "list")
    assert code == 141 and "Traceback" not in stderr and "Exception ignored" not in stderr, stderr


def test_show_call_alone_means_curl(zoo):
    """`infer M --show-call` was a usage error: it required curl, python or perf_analyzer."""
    base = ["infer", "nobatch", *url_args(zoo, "grpc"), "--input", "X=ones"]
    bare = run_cli(*base, "--show-call", timeout=120)
    assert bare.returncode == 0, bare.stderr
    curl = run_cli(*base, "--show-call", "curl", timeout=120)
    call = bare.stdout[bare.stdout.index("curl -s") :]
    assert call.startswith("curl -s -X POST") and call == curl.stdout[curl.stdout.index("curl -s") :]
    python = run_cli(*base, "--show-call", "python", timeout=120)  # the explicit forms still work
    assert python.returncode == 0 and "import json" in python.stdout and "curl -s" not in python.stdout


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_classify_batch_on_a_model_without_a_batch_dimension_is_one_usage_error(zoo, images_dir, json_flag):
    """It printed the same error once per image and exited 1: one usage problem, said once, exit 2."""
    res = run_cli(
        "classify", str(images_dir), *url_args(zoo, "grpc"), "-m", "uint8_hwc", "--batch", "3", *json_flag,
        timeout=120,
    )  # fmt: skip
    assert res.returncode == 2, (res.stdout, res.stderr)
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [
        "error: --batch 3: uint8_hwc: INPUT has no batch dimension: one image per request (leave out --batch)"
    ], res.stderr
    if json_flag:
        said = [json.loads(line) for line in res.stdout.splitlines()]
        assert [(s["model"], s["error"]) for s in said] == [("uint8_hwc", errors[0].removeprefix("error: "))]
    else:
        assert res.stdout == "", res.stdout  # no line per image
