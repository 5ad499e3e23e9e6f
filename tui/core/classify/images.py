"""Reading image files for classification: expand directories, enforce limits before reading.

Decoding happens on the server (the ensemble takes the file's bytes); here we only make sure that
what we send is a readable regular file of sane size, and say clearly when it is not.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from triton_console.common.errors import ConsoleError
from triton_console.tui.core.client.codes import UNREADABLE_FILE, file_code

# The decoder's own byte limit (preprocessing.MAX_BYTES; tests/unit/test_images_limits.py keeps them equal):
# not imported from there, because that module imports Pillow (~15 ms) and a one-shot classify through a
# bytes-input model never decodes on this side.
MAX_BYTES = 64 * 1024 * 1024

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
MAX_DIR_FILES = 10_000


@dataclass
class ImageFile:
    """One input: its path as given, and either its bytes or why it cannot be sent (and that as a code)."""

    path: str
    data: bytes | None = None
    error: str | None = None
    code: str | None = None


def expand(paths: list[str]) -> list[str]:
    """Files as given; directories replaced by their image files (sorted, not recursive)."""
    out: list[str] = []
    for p in paths:
        try:
            is_dir = os.path.isdir(p)
        except OSError:
            is_dir = False
        if is_dir:
            try:
                names = sorted(os.listdir(p))
            except OSError:
                out.append(p)  # read() reports the error for this entry
                continue
            images = [os.path.join(p, n) for n in names if Path(n).suffix.lower() in IMAGE_SUFFIXES]
            out.extend(images[:MAX_DIR_FILES] or [p])  # an empty folder is reported, not skipped
        else:
            out.append(p)
    return out


def read(path: str, max_bytes: int = MAX_BYTES) -> ImageFile:
    """Read ``path`` if it is a regular, readable file of at most ``max_bytes``; never raises."""
    try:
        st = os.stat(path)  # follows symlinks; a loop raises ELOOP
    except OSError as exc:
        return _refused(path, exc)
    if stat.S_ISDIR(st.st_mode):
        return ImageFile(path, error="is a directory with no images", code=UNREADABLE_FILE)
    if not stat.S_ISREG(st.st_mode):
        return ImageFile(path, error="not a regular file", code=UNREADABLE_FILE)
    if st.st_size == 0:
        return ImageFile(path, error="empty file (0 bytes)", code=UNREADABLE_FILE)
    if st.st_size > max_bytes:
        return ImageFile(
            path,
            error=f"file is {st.st_size / 2**20:.0f} MiB, over the {max_bytes // 2**20} MiB limit",
            code=UNREADABLE_FILE,
        )
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        return _refused(path, exc)
    if len(data) > max_bytes:
        return ImageFile(
            path,
            error=f"file grew over the {max_bytes // 2**20} MiB limit while reading",
            code=UNREADABLE_FILE,
        )
    return ImageFile(path, data=data)


def read_all(paths: list[str], purpose: str) -> list[ImageFile]:
    """Every image of ``paths``, for a run that needs them all (bench, compare): the first unreadable one,
    or none at all, is one ConsoleError ("no images to <purpose>")."""
    files = [read(p) for p in expand(paths)]
    bad = next((f for f in files if f.error), None)
    if bad is not None:
        raise ConsoleError(f"{bad.path}: {bad.error}", code=bad.code)
    if not files:
        raise ConsoleError(f"no images to {purpose}")
    return files


def _refused(path: str, exc: OSError) -> ImageFile:
    return ImageFile(path, error=os_message(exc), code=file_code(exc))


def os_message(exc: OSError) -> str:
    """An OSError in the words shown after a path: "no such file or directory", "permission denied"."""
    return exc.strerror.lower() if exc.strerror else str(exc)
