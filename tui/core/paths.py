"""Where triton-console keeps what it generates (outside the source tree unless told otherwise)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "triton-console"


def default_repository() -> Path:
    """``$TRITON_CONSOLE_REPOSITORY``, else ``~/.local/share/triton-console/repository``."""
    env = os.environ.get("TRITON_CONSOLE_REPOSITORY")
    return Path(env).expanduser() if env else data_dir() / "repository"
