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


def test_compare_on_random_tensors_refuses_models_whose_inputs_differ_in_one_line(zoo):
    """`compare chw_fp32 hwc_fp16` (no images) sent chw_fp32's FP32 [3, 8, 8] tensors to hwc_fp16 and printed
    the server's refusal ("expects 'FP16'"): it is a usage problem, said once with both inputs."""
    r = run_cli("compare", "chw_fp32", "hwc_fp16", *url_args(zoo, "grpc"))
    assert r.returncode == 2, r.stderr
    line = r.stderr.strip()
    assert "\n" not in line and "FP32 [3, 8, 8]" in line and "FP16 [8, 8, 3]" in line, line
    assert "give images" in line, line


def test_compare_on_random_tensors_casts_where_only_the_datatype_differs():
    """The same tensors to a model whose input differs only in datatype (an FP16 copy of an FP32 model)."""
    from types import SimpleNamespace as NS

    from triton_console.common.errors import ConsoleError
    from triton_console.tui.core.load.compare import _same_inputs

    def info(name, dtype, shape):
        tensor = NS(name="X", datatype=dtype, shape=shape)
        return NS(name=name, batched=True, metadata=NS(inputs=[tensor]))

    import numpy as np

    plans = [NS(name="X", datatype="FP32", array=np.zeros((1, 4), np.float32))]
    assert _same_inputs(info("a", "FP32", [-1, 4]), info("b", "FP16", [-1, 4]), plans) == {"X": "FP16"}
    with pytest.raises(ConsoleError, match="random tensors cannot compare"):
        _same_inputs(info("a", "FP32", [-1, 4]), info("c", "FP32", [-1, 5]), plans)
    with pytest.raises(ConsoleError, match="different inputs"):
        other = info("d", "FP32", [-1, 4])
        other.metadata.inputs[0].name = "Y"
        _same_inputs(info("a", "FP32", [-1, 4]), other, plans)
