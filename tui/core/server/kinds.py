"""The kind of managed server ``--server`` names: a local tritonserver process or NVIDIA's container.

Apart from :mod:`process` and :mod:`docker` so that neither needs the other (docker builds on process).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.server import docker
from triton_console.tui.core.server.process import ManagedServer, ServerConfig, locate


def make_server(choice: str, cfg: ServerConfig, docker_site: str | None = "auto") -> ManagedServer:
    """The server kind for ``--server``: auto, bundled or a PATH run a local process; ``docker[:IMAGE]`` runs
    NVIDIA's container (``docker_site``: a site dir for its Python, ``auto`` to build one, ``none``)."""
    if choice == "docker" or choice.startswith("docker:"):
        site = None
        if docker_site == "auto":
            site = docker.prepare_site() if has_python_models(Path(cfg.repository)) else None
        elif docker_site and docker_site != "none":
            site = Path(docker_site).expanduser()
            if not site.is_dir():
                raise ConsoleError(f"--docker-site {docker_site}: no such directory")
        return docker.DockerServer(cfg, choice.partition(":")[2] or docker.DEFAULT_IMAGE, site)
    return ManagedServer(cfg, locate(choice))


def has_python_models(repo: Path) -> bool:
    """Whether a repository holds Python-backend models that import Pillow (the generated preprocess does)."""
    with contextlib.suppress(OSError):
        for model_py in repo.glob("*/[0-9]*/model.py"):
            if "PIL" in model_py.read_text(
                errors="replace"
            ) or "imagenet_preprocessing" in model_py.read_text(errors="replace"):
                return True
    return False
