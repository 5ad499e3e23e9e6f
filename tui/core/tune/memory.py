"""A CPU model's memory: the resident memory of its Python-backend stub processes, for a server on this
machine (each instance is one ``triton_python_backend_stub`` whose argv names the model's file). Linux /proc
only; None where nothing is found (a remote server, another backend)."""

from __future__ import annotations

from pathlib import Path


def stub_rss(repository: Path | None, name: str, proc: Path = Path("/proc")) -> int | None:
    """Bytes resident in the stubs running ``<repository>/<name>/…/model.py`` (None: none found)."""
    if repository is None or not proc.is_dir():
        return None
    prefix = str(Path(repository).resolve() / name) + "/"
    total, found = 0, False
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if len(argv) < 2 or not argv[0].endswith(b"triton_python_backend_stub"):
                continue
            if not argv[1].decode(errors="replace").startswith(prefix):
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    found = True
        except (OSError, ValueError):
            continue
    return total if found else None
