"""``triton-console --help`` must stay instant: it may import none of the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

HEAVY = ("torch", "onnx", "onnxruntime", "tritonclient", "grpc", "numpy", "textual", "PIL")


def _imported(argv: list[str]) -> set[str]:
    res = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "triton_console", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    names = set()
    for line in res.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_help_imports_nothing_heavy():
    names = _imported(["--help"])
    assert "triton_console" in names
    assert not names & set(HEAVY), sorted(names & set(HEAVY))


def test_subcommand_help_imports_nothing_heavy():
    for cmd in ("classify", "build", "serve", "bench"):
        names = _imported([cmd, "--help"])
        assert not names & set(HEAVY), (cmd, sorted(names & set(HEAVY)))
