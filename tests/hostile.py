"""A generated corpus of hostile and odd inputs (Triton's L0_input_validation in spirit).

``make_corpus(dir)`` writes the files and returns ``{name: expectation}`` where the expectation is
"ok" (must classify), "error" (must give a clear per-image error) or "either" (a clear answer of either kind).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _photo(w: int = 320, h: int = 240, mode: str = "RGB") -> Image.Image:
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)), ((x + y) % 256)], -1).astype(
        np.uint8
    )
    img = Image.fromarray(rgb, "RGB")
    return img if mode == "RGB" else img.convert(mode)


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def bomb_png(width: int = 40_000, height: int = 40_000) -> bytes:
    """A valid-looking PNG header claiming 1.6 Gpx with almost no data: a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def make_corpus(root: Path) -> dict[str, str]:
    root.mkdir(parents=True, exist_ok=True)
    jpeg = _save(_photo(), "JPEG", quality=90)
    png = _save(_photo(), "PNG")
    files: dict[str, tuple[bytes | None, str]] = {
        "ok_rgb.jpg": (jpeg, "ok"),
        "ok_rgb.png": (png, "ok"),
        "truncated.jpg": (jpeg[: len(jpeg) // 3], "error"),
        "truncated.png": (png[: len(png) // 3], "error"),
        "zero.jpg": (b"", "error"),
        "zero.png": (b"", "error"),
        "bomb.png": (bomb_png(), "error"),
        "gray16.png": (
            _save(
                Image.fromarray(
                    (np.arange(240 * 320, dtype=np.uint32).reshape(240, 320) % 65536).astype(np.uint16)
                ),
                "PNG",
            ),
            "ok",
        ),
        "onebit.png": (_save(_photo(mode="1"), "PNG"), "ok"),
        "cmyk.jpg": (_save(_photo(mode="CMYK"), "JPEG"), "ok"),
        "palette_transparent.png": (_save(_photo().convert("P"), "PNG", transparency=0), "ok"),
        "la.png": (_save(_photo(mode="LA"), "PNG"), "ok"),
        "rgba.png": (_save(_photo(mode="RGBA"), "PNG"), "ok"),
        "animated.gif": (None, "ok"),
        "image.webp": (_save(_photo(), "WEBP"), "ok"),
        "exif_rotated.jpg": (None, "ok"),
        "text.jpg": (b"this is a text file, not a JPEG\n" * 20, "error"),
        "random.jpg": (np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(), "error"),
        "random_with_jpeg_magic.jpg": (
            b"\xff\xd8\xff\xe0" + np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
            "error",
        ),
        "corrupt_middle.jpg": (jpeg[:600] + bytes(200) + jpeg[800:], "either"),
        "bad_crc.png": (png[:40] + b"\x00\x00\x00\x00" + png[44:], "either"),
        "gray.jpg": (_save(_photo(mode="L"), "JPEG"), "ok"),
        "progressive.jpg": (_save(_photo(), "JPEG", progressive=True), "ok"),
        "tiny_1x1.png": (_save(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG"), "ok"),
        "wide_4000x3.png": (_save(_photo(4000, 3), "PNG"), "ok"),
        "image.tiff": (_save(_photo(), "TIFF"), "ok"),
        "float.tiff": (
            _save(
                Image.fromarray(np.linspace(0, 1, 240 * 320, dtype=np.float32).reshape(240, 320), "F"), "TIFF"
            ),
            "ok",
        ),
        "image.bmp": (_save(_photo(), "BMP"), "ok"),
        "image.ppm": (_save(_photo(), "PPM"), "ok"),
        "icon.ico": (_save(_photo(64, 64), "ICO"), "ok"),
        "jpeg_named.png": (jpeg, "ok"),
        "big_50mpx.jpg": (None, "ok"),
    }
    frames = [_photo().rotate(a) for a in (0, 90, 180)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    files["animated.gif"] = (buf.getvalue(), "ok")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW
    files["exif_rotated.jpg"] = (_save(_photo(), "JPEG", exif=exif.tobytes()), "ok")
    big = Image.new("L", (8660, 5774), 128)  # 50.0 Mpx, compresses to almost nothing
    files["big_50mpx.jpg"] = (_save(big, "JPEG", quality=50), "ok")

    expect: dict[str, str] = {}
    for name, (data, what) in files.items():
        (root / name).write_bytes(data)
        expect[name] = what
    # Things that are not plain files.
    (root / "directory.jpg").mkdir()
    expect["directory.jpg"] = "error"
    os.symlink("loop_b.jpg", root / "loop_a.jpg")
    os.symlink("loop_a.jpg", root / "loop_b.jpg")
    expect["loop_a.jpg"] = expect["loop_b.jpg"] = "error"
    os.symlink("does_not_exist.jpg", root / "dangling.jpg")
    expect["dangling.jpg"] = "error"
    os.mkfifo(root / "fifo.jpg")
    expect["fifo.jpg"] = "error"
    (root / "unreadable.jpg").write_bytes(jpeg)
    os.chmod(root / "unreadable.jpg", 0)
    expect["unreadable.jpg"] = "error" if os.geteuid() != 0 else "either"  # root reads anything
    with open(root / "huge_sparse.jpg", "wb") as fh:  # 100 MiB without using disk: over the size limit
        fh.truncate(100 * 1024 * 1024)
    expect["huge_sparse.jpg"] = "error"
    return expect
