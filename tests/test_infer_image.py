"""``infer`` on an encoded-image model (a newcomer's trial, 2026-12): the hint said `(infer: --input INPUT=@FILE)`,
and the image given after the model's name was "unrecognized arguments". The hint now names a whole command
with a file, and that form, ``image:FILE`` and the image after the model's name all send the file's bytes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import image, run_cli

pytestmark = pytest.mark.server
EFF = "ensemble_python_efficientnet_lite0"


def _top(res, saved) -> int:
    assert res.returncode == 0, res.stderr
    assert [o["shape"] for o in json.loads(res.stdout)["outputs"] if o["name"] == "OUTPUT"] == [[1, 1000]]
    return int(np.load(saved / "OUTPUT.npy").argmax())


def test_the_hint_names_a_form_that_works_and_so_does_a_positional_image(server, tmp_path):
    url = ["-u", server.grpc_url]
    car = str(image("car.jpg"))
    res = run_cli("infer", EFF, *url, timeout=120)
    assert res.returncode == 2
    assert f"`triton-console infer {EFF} --input INPUT=@car.jpg`" in res.stderr, res.stderr
    for i, argv in enumerate((["--input", f"INPUT=@{car}"], ["--input", f"INPUT=image:{car}"], [car])):
        saved = tmp_path / str(i)
        res = run_cli("infer", EFF, *argv, *url, "--json", "--save", str(saved), timeout=120)
        assert _top(res, saved) == 817, argv  # sports car
