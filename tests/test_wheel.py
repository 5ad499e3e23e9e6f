"""The console installed from its wheel (not from the checkout) builds, serves and classifies.

Offline and lean: the wheel is built without isolation, installed with --no-deps --no-index into a fresh
venv whose dependencies come from the test environment's site-packages (a .pth line, which does not run
that directory's editable-install hooks, so ``triton_console`` can only come from the wheel).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers import free_ports, read_until

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", work, ROOT],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = work.glob("triton_console-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # --ignore-installed: deps.pth also shows the checkout's editable install, which pip would take as
    # already satisfying the wheel (and which it must not uninstall)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q"]
        + ["--no-deps", "--no-index", "--ignore-installed", wheel],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return venv


def test_wheel_builds_serves_and_classifies(installed, tmp_path):
    bin_dir = installed / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run(
        [
            bin_dir / "python",
            "-c",
            "import triton_console.tui as t, triton_console.model_repository as m; print(t.__file__, m.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=env,
    ).stdout
    assert str(ROOT) not in where and str(installed) in where, where

    repo = tmp_path / "repo"
    build = subprocess.run(
        [bin_dir / "triton-console", "build", "--weights", "random", "--backbone", "python-onnxruntime"]
        + ["--repository", repo, "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    assert (repo / "preprocess" / "1" / "imagenet_preprocessing.py").is_file()
    assert (repo / "preprocess" / "1" / "model.py").read_text().startswith('"""Triton Python-backend model')

    from PIL import Image

    picture = tmp_path / "red.jpg"
    Image.new("RGB", (320, 240), (200, 30, 30)).save(picture)
    http, grpc, metrics = free_ports(3)
    serve = subprocess.Popen(
        [bin_dir / "triton-console", "serve", "--repository", repo, "--quiet"]
        + [f"--http-port={http}", f"--grpc-port={grpc}", f"--metrics-port={metrics}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        read_until(serve.stdout, "tritonserver ready", timeout=180)
        res = subprocess.run(
            [bin_dir / "triton-console", "classify", picture, "-u", f"127.0.0.1:{grpc}", "--json"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=120,
        )
        assert res.returncode == 0, res.stderr
        record = json.loads(res.stdout)
        assert record["untrained"] is True and len(record["top"]) == 5
        assert all(0 <= t["index"] < 1000 for t in record["top"])
    finally:
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=60) == 0
