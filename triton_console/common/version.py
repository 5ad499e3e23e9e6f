"""The installed distribution's version, for ``--version`` and ``triton_console.__version__``."""

from __future__ import annotations


def version() -> str:
    try:
        from importlib.metadata import version as dist_version

        return dist_version("triton-console")
    except Exception:  # noqa: BLE001 (a checkout that was never installed)
        return "0+unknown"
