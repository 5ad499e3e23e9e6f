"""Where triton-console keeps what it generates (outside the source tree unless told otherwise), and the
name prefix of its shared-memory regions. Directories follow the platform's rules (``platformdirs``: the
XDG variables on Linux)."""

from __future__ import annotations

import os
from pathlib import Path

APP = "triton-console"
# /dev/shm regions of ours (Python-backend regions of servers we start, and request regions): the pid after
# the prefix lets a later console sweep the regions of dead ones.
SHM_PREFIX = "triton_console_"


def data_dir() -> Path:
    """Repositories, saved runs, generated files."""
    from platformdirs import user_data_path

    return user_data_path(APP, appauthor=False)


def config_dir() -> Path:
    """The servers file and settings."""
    from platformdirs import user_config_path

    return user_config_path(APP, appauthor=False)


def cache_dir() -> Path:
    """What can be made again: the bundled server's backend directory, built site folders."""
    from platformdirs import user_cache_path

    return user_cache_path(APP, appauthor=False)


def state_dir() -> Path:
    """What a running server leaves for the console to read: its trace files."""
    from platformdirs import user_state_path

    return user_state_path(APP, appauthor=False)


def default_repository() -> Path:
    """``$TRITON_CONSOLE_REPOSITORY``, else the data directory's ``repository``."""
    env = os.environ.get("TRITON_CONSOLE_REPOSITORY")
    return Path(env).expanduser() if env else data_dir() / "repository"
