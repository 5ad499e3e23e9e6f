"""``infer MODEL --input NAME=@FILE`` (and the IMAGE after the model) with a FILE that is not there or cannot
be read (a newcomer's trial, 2026-12): a missing file was "no such file" with a null code under --json, and a
folder was called missing too. Now one ``error:`` line, and under --json the code classify and bench give the
same file: ``no-such-file`` or ``unreadable-file``."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import run_cli, url_args

pytestmark = pytest.mark.server


def _said(res) -> tuple[dict, list[str]]:
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert "Traceback" not in res.stderr, res.stderr
    return json.loads(res.stdout), errors


@pytest.mark.parametrize(
    "model, spec",
    [
        ("nobatch", "X=@{}"),
        ("nobatch", "X=@{}.npy"),
        ("nobatch", "X=@{}.json"),
        ("uint8_hwc", "INPUT=image:{}"),
    ],
)
def test_a_missing_input_file_is_one_line_and_no_such_file(zoo, tmp_path, model, spec):
    given = spec.format(tmp_path / "nope")
    res = run_cli("infer", model, *url_args(zoo, "grpc"), "--input", given, "--json", timeout=120)
    out, errors = _said(res)
    path = given.split(":", 1)[1] if ":" in given else given.split("@", 1)[1]
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert out == {"model": model, "error": f"{path}: no such file or directory", "code": "no-such-file"}
    assert errors == [f"error: {path}: no such file or directory"], res.stderr


def test_a_folder_given_as_an_input_file_is_unreadable_not_missing(zoo, tmp_path):
    folder = tmp_path / "data.npy"
    folder.mkdir()
    res = run_cli(
        "infer", "nobatch", *url_args(zoo, "grpc"), "--input", f"X=@{folder}", "--json", timeout=120
    )
    out, errors = _said(res)
    assert res.returncode == 2 and out["code"] == "unreadable-file", (res.stdout, res.stderr)
    assert errors == [f"error: {folder}: is a directory"], res.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_a_file_without_read_access_is_unreadable(zoo, tmp_path):
    locked = tmp_path / "x.npy"
    locked.write_bytes(b"\x93NUMPY")
    locked.chmod(0)
    res = run_cli(
        "infer", "nobatch", *url_args(zoo, "grpc"), "--input", f"X=@{locked}", "--json", timeout=120
    )
    out, errors = _said(res)
    assert res.returncode == 2 and out["code"] == "unreadable-file", (res.stdout, res.stderr)
    assert errors == [f"error: {locked}: permission denied"], res.stderr


def test_without_json_it_is_the_same_one_line(zoo, tmp_path):
    missing = str(tmp_path / "nope.jpg")
    res = run_cli("infer", "bytes_image", missing, *url_args(zoo, "grpc"), timeout=120)
    assert res.returncode == 2 and res.stdout == "", (res.stdout, res.stderr)
    assert res.stderr.splitlines() == [f"error: {missing}: no such file or directory"], res.stderr


def test_a_file_the_user_may_not_read_is_unreadable(tmp_path, monkeypatch):
    """What a non-root user gets for a file without read access (the test above is skipped as root)."""
    import builtins

    from triton_console.common.errors import ConsoleError
    from triton_console.tui.core.request import infer

    locked = tmp_path / "x.bin"
    locked.write_bytes(b"data")
    opened = builtins.open

    def refuse(path, *a, **kw):
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, *a, **kw)

    monkeypatch.setattr(builtins, "open", refuse)
    with pytest.raises(ConsoleError) as caught:
        infer._read(str(locked))
    assert (caught.value.message, caught.value.code) == (f"{locked}: permission denied", "unreadable-file")
