"""Shared fixtures: test images from ../shared, one generated repository and one real tritonserver."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual import constants as textual_constants

# Textual's animations off: every Pilot key press waits for the scroll or tab-underline animation it started
# (about 0.2-1 s each) and the tests assert the state after it. Measured: tests/test_app.py and
# tests/test_polish.py 63 s -> 41 s; the snapshots are the same SVGs. TEXTUAL_ANIMATIONS=full in the environment
# puts them back. Textual read the variable when the snapshot plugin imported it, before this file: the App
# takes its level from textual.constants when made, so that is set too (the variable is for child consoles).
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
# a worker's unforeseen exception fails the test that caused it (the console itself turns it into a notice)
os.environ.setdefault("TRITON_CONSOLE_STRICT_WORKERS", "1")
textual_constants.TEXTUAL_ANIMATIONS = os.environ["TEXTUAL_ANIMATIONS"]

ROOT = Path(__file__).resolve().parents[1]
IMAGES = Path(os.environ.get("TRITON_CONSOLE_TEST_IMAGES", ROOT.parent / "shared" / "images"))
EXPECTED = {"mug.jpg": (504, "coffee mug"), "car.jpg": (817, "sports car"), "vulture.jpeg": (23, "vulture")}
CLI = [sys.executable, "-m", "triton_console"]


def image(name: str) -> Path:
    path = IMAGES / name
    if not path.is_file():
        pytest.skip(f"test image {path} is absent")
    return path


@pytest.fixture(scope="session")
def images_dir() -> Path:
    if not all((IMAGES / n).is_file() for n in EXPECTED):
        pytest.skip(f"test images are absent from {IMAGES}")
    return IMAGES


def run_cli(*args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """The real ``triton-console`` command in a subprocess."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kw)


def _build_repo(path: Path) -> None:
    from triton_console.build_tools import pipeline

    pipeline.build("efficientnet-lite0", "imagenet", "python-onnxruntime", path)
    pipeline.build("efficientnet-lite0", "imagenet", "python-onnxruntime", path, layout="fused")
    pipeline.build("efficientnet-lite0", "imagenet", "python-onnxruntime", path, layout="fused-bytes")
    pipeline.build("resnet50", "random", "python-onnxruntime", path)


@pytest.fixture(scope="session")
def repo(tmp_path_factory, worker_id) -> Path:
    """EfficientNet-Lite0 (ImageNet weights) as the ensemble, fused and fused-bytes, and ResNet50 (random
    weights), in one generated repository.

    Under xdist the first worker that needs it builds it (~15-20 s of CPU: four exports) in the run's shared
    temporary folder, under a lock, and every worker takes its own copy (its tests and servers change files)."""
    path = tmp_path_factory.mktemp("repo") / "models"
    if worker_id == "master":
        _build_repo(path)
        return path
    import fcntl
    import shutil

    shared = tmp_path_factory.getbasetemp().parent / "shared-repo"  # the run's folder, above each worker's
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also when the build fails
        if not (shared / "built").exists():
            _build_repo(shared / "models")
            (shared / "built").touch()
    shutil.copytree(shared / "models", path)
    return path


@pytest.fixture(scope="session")
def stopping():
    """The session servers' stops, joined at the very end (before no_orphans looks): they run side by side."""
    import threading

    threads: list[threading.Thread] = []
    yield threads
    for t in threads:
        t.join(60)


@pytest.fixture(scope="session")
def server(repo, stopping):
    """A real bundled tritonserver on free loopback ports (explicit model control, all models loaded)."""
    from tests.helpers import explicit_server

    with explicit_server(repo, stop_in=stopping) as s:
        yield s


@pytest.fixture(scope="session")
def zoo(tmp_path_factory, stopping):
    """The bundled server on tests/modelzoo.py's models (numpy-first Triton example style), explicit mode."""
    from tests import modelzoo
    from tests.helpers import explicit_server

    with explicit_server(modelzoo.write(tmp_path_factory.mktemp("zoo") / "models"), stop_in=stopping) as s:
        yield s


@pytest.fixture(params=["grpc", "http"])
def client(request, server):
    from triton_console.tui.core.client.client import TritonClient

    url = server.grpc_url if request.param == "grpc" else server.http_url
    c = TritonClient(url, request.param, metrics_url=server.metrics_url, timeout=60)
    yield c
    c.close()


def url_args(server, protocol: str) -> list[str]:
    return ["-u", server.grpc_url if protocol == "grpc" else server.http_url, "-i", protocol]


@pytest.fixture(scope="session", autouse=True)
def no_orphans():
    """After the whole session, nothing this test run started may survive: no tritonserver or stub of ours
    anywhere on the machine (found by the console's shared-memory prefix in their argv), no region in /dev/shm."""
    from tests.helpers import describe, our_processes, our_shm_regions, wait_until

    before = {p.pid for p in our_processes()}
    yield
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # under xdist: tests/orphans.py checks after all workers
        wait_until(
            lambda: not [p for p in our_processes() if p.pid not in before],
            30,
            "no orphans",
            show=lambda: describe(our_processes()),
        )
    mine = [r for r in our_shm_regions() if f"_{os.getpid()}_" in r.name]
    assert not mine, f"shared-memory regions left: {mine}"
