"""A CPU model's memory: the resident memory of its Python-backend stub processes, for a server on this
machine (each instance is one ``triton_python_backend_stub`` whose argv names the model's file). Linux /proc
only; None where nothing is found (a remote server, another backend).

After a reload the previous version's stubs take a while to exit, and Triton keeps an unchanged instance when
only the count changes; so the newest ``instances`` stubs are counted (the config's instance count).
"""

from __future__ import annotations

from pathlib import Path


def _start_ticks(entry: Path) -> int:
    """When the process started, in clock ticks after boot (field 22 of /proc/PID/stat)."""
    return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[19])


def _rss(entry: Path) -> int:
    for line in (entry / "status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def stub_rss(
    repository: Path | None, name: str, instances: int | None = None, proc: Path = Path("/proc")
) -> int | None:
    """Bytes resident in the newest ``instances`` stubs running ``<repository>/<name>/…/model.py`` (all of
    them without ``instances``); None when none is found."""
    if repository is None or not proc.is_dir():
        return None
    prefix = str(Path(repository).resolve() / name) + "/"
    found: list[tuple[int, int]] = []  # (start, rss)
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if len(argv) < 2 or not argv[0].endswith(b"triton_python_backend_stub"):
                continue
            if not argv[1].decode(errors="replace").startswith(prefix):
                continue
            found.append((_start_ticks(entry), _rss(entry)))
        except (OSError, ValueError, IndexError):
            continue
    if not found:
        return None
    found.sort(reverse=True)
    return sum(rss for _, rss in found[: instances or len(found)])


def instance_count(config) -> int:
    """How many instances a config asks for (a count of 0 is taken as 1, as Triton does)."""
    return sum(max(1, g.count) for g in config.instance_group) or 1
