"""Triton from NVIDIA's NGC container, run as the seed runs it (``docker run --gpus=all … tritonserver
--model-repository=/models``), as one more kind of managed server.

- ports are published on 127.0.0.1 only (the server inside binds 0.0.0.0 so that publishing works);
- the repository is mounted read-only at /models; the container has a unique name and our labels;
- its log is the attached ``docker run`` client's output; stop is ``docker stop -t`` then ``docker rm -f``;
- a reaper process (its own session) removes the container if the console dies without stopping it
  (SIGKILL included), so no container is left on any exit path;
- Python models: the NGC image's Python has numpy but not Pillow. The console mounts a small site directory
  built for the container's Python (``prepare_site``) and a ``.pth`` file that adds it to ``sys.path``
  (the stub's isolated mode ignores PYTHONPATH but still reads .pth files).

Never pulls an image: a missing image is an error that says how to pull it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.server import process as srv

# The NGC release whose Triton is the bundled one (2.51.0): the same server, with every backend.
DEFAULT_IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3"
CONTAINER_PYTHON = "3.10"  # the Python of the 24.xx images (Ubuntu 22.04)
LABEL = "triton-console"
SITE_IN_CONTAINER = "/opt/triton-console/site"
PTH_IN_CONTAINER = f"/usr/local/lib/python{CONTAINER_PYTHON}/dist-packages/triton_console.pth"
SITE_PACKAGES = ("pillow",)  # what the generated Python models need beyond the image's numpy


def docker_binary() -> str:
    """``$TRITON_CONSOLE_DOCKER`` or ``docker`` on PATH."""
    path = os.environ.get("TRITON_CONSOLE_DOCKER") or shutil.which("docker")
    if not path:
        raise ConsoleError(
            "docker is not installed (not on PATH)",
            hint="install Docker Engine (and the NVIDIA Container Toolkit for GPUs), or use --server bundled",
        )
    return path


def _run(argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ConsoleError(
            f"{' '.join(argv[:3])} did not answer within {timeout:g} s (is the Docker daemon up?)"
        ) from None
    except OSError as exc:
        raise ConsoleError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None


def preflight(docker: str, image: str) -> bool:
    """Check the daemon, the permission on its socket and the image; returns whether NVIDIA's runtime exists."""
    info = _run([docker, "info", "--format", "{{json .Runtimes}}"])
    if info.returncode != 0:
        err = (info.stderr or info.stdout).strip()
        if "permission denied" in err.lower():
            raise ConsoleError(
                "no permission to use the Docker socket",
                hint="add your user to the docker group (sudo usermod -aG docker $USER, then log in again)",
            )
        raise ConsoleError(f"docker is not usable: {err.splitlines()[0] if err else 'docker info failed'}")
    try:
        runtimes = json.loads(info.stdout or "{}")
    except ValueError:
        runtimes = {}
    found = _run([docker, "image", "inspect", "--format", "{{.Id}}", image])
    if found.returncode != 0:
        raise ConsoleError(
            f"the image {image} is not present on this machine (the console never pulls without asking)",
            hint=f"docker pull {image}",
        )
    return isinstance(runtimes, dict) and "nvidia" in runtimes


def prepare_site(python: str = CONTAINER_PYTHON, target: Path | None = None) -> Path:
    """A site directory for the container's Python (wheels for its version and manylinux), built once."""
    target = target or srv.bundled.state_dir() / f"docker-site-py{python}"
    if (target / ".complete").is_file():
        return target
    staging = target.with_name(f".{target.name}.{os.getpid()}")
    argv = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--target",
        str(staging),
        "--python-version",
        python,
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--platform",
        "manylinux2014_x86_64",
        "--platform",
        "manylinux_2_28_x86_64",
        *SITE_PACKAGES,
    ]
    res = _run(argv, timeout=600)
    if res.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise ConsoleError(
            f"cannot build the container's Python site ({(res.stderr or '').strip().splitlines()[-1:] or ['pip failed']}[0])",
            hint="run once with network access, or pass --docker-site DIR with Pillow for Python " + python,
        )
    (staging / ".complete").write_text("ok\n")
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    os.rename(staging, target)
    return target


REAPER = """
import os, subprocess, sys, time
parent, docker, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
while True:
    time.sleep(0.5)
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        break
subprocess.run([docker, "rm", "-f", name], capture_output=True, timeout=60)
"""


class DockerServer(srv.ManagedServer):
    """tritonserver in NVIDIA's container, managed like a local one (same readiness, log and stop API)."""

    binds_ports = False

    def __init__(
        self,
        cfg: srv.ServerConfig,
        image: str = DEFAULT_IMAGE,
        site: Path | None = None,
        docker: str | None = None,
    ):
        self.image = image or DEFAULT_IMAGE
        self.docker = docker or docker_binary()
        self.site = site
        self.container = f"{LABEL}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.gpus = False
        self._reaper: subprocess.Popen | None = None
        super().__init__(cfg, srv.ServerBinary(self.docker, "docker"))
        self.argv = self.docker_argv()

    @property
    def kind(self) -> str:
        return "docker"

    def docker_argv(self) -> list[str]:
        cfg = self.cfg
        inner = srv.ServerConfig(
            Path("/models"),
            8000,
            8001,
            8002,
            address="0.0.0.0",
            model_control=cfg.model_control,
            load_models=cfg.load_models,
            exit_timeout_s=cfg.exit_timeout_s,
            log_verbose=cfg.log_verbose,
            cuda_pool_mb=cfg.cuda_pool_mb if self.gpus else 0,
            extra_args=cfg.extra_args,
        )
        server = srv.build_argv(srv.ServerBinary("tritonserver", "docker"), inner, self.shm_prefix)
        server[1] = "--model-repository=/models"  # not resolved against this machine's filesystem
        publish = "127.0.0.1" if srv.is_loopback(cfg.address) else cfg.address
        argv = [
            self.docker,
            "run",
            "--rm",
            "--init",
            "--name",
            self.container,
            "--label",
            LABEL,
            "--label",
            f"{LABEL}.owner={os.getpid()}",
            "-p",
            f"{publish}:{cfg.http_port}:8000",
            "-p",
            f"{publish}:{cfg.grpc_port}:8001",
            "-p",
            f"{publish}:{cfg.metrics_port}:8002",
            "-v",
            f"{Path(cfg.repository).resolve()}:/models:ro",
            "--shm-size=1g",
        ]
        if self.gpus:
            argv.append("--gpus=all")
        if self.site is not None:
            pth = Path(self.site) / "triton_console.pth"
            argv += [
                "-v",
                f"{Path(self.site).resolve()}:{SITE_IN_CONTAINER}:ro",
                "-v",
                f"{pth.resolve()}:{PTH_IN_CONTAINER}:ro",
            ]
        return [*argv, self.image, *server]

    def start(self) -> None:
        self.gpus = preflight(self.docker, self.image)
        if self.site is not None:
            (Path(self.site) / "triton_console.pth").write_text(SITE_IN_CONTAINER + "\n")
        self.argv = self.docker_argv()
        super().start()
        # removes the container if this process dies without stopping it (even by SIGKILL)
        self._reaper = subprocess.Popen(
            [sys.executable, "-c", REAPER, str(os.getpid()), self.docker, self.container],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self, grace: float = 15.0) -> int | None:
        if self._proc is not None:
            with contextlib.suppress(ConsoleError):
                _run([self.docker, "stop", "-t", str(int(grace)), self.container], timeout=grace + 30)
            with contextlib.suppress(ConsoleError):
                _run([self.docker, "rm", "-f", self.container], timeout=60)
        if self._reaper is not None:
            with contextlib.suppress(ProcessLookupError):
                self._reaper.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._reaper.wait(5)
            self._reaper = None
        return super().stop(grace=5)
