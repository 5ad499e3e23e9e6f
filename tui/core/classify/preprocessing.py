"""ImageNet preprocessing: the one image decoder of triton-console.

Encoded bytes -> RGB -> resize shorter side to 256 -> centre crop 224 -> (x/255 - mean) / std, CHW
float32. The generated repository's ``preprocess`` model imports a copy of this very file, and the
in-process references (tests, benchmarks) call it too, so every path preprocesses identically.

Why it is fast: JPEGs are decoded with libjpeg's DCT scaling (``draft``) to the smallest size that is
still >= the target, and only the pixels of the final crop are resampled (``resize(box=...)``): for a
3361x2521 photo that is several times cheaper than decoding everything and resizing twice.

This module needs only numpy and Pillow (it runs inside Triton's Python backend stub).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

RESIZE = 256
CROP = 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# (x / 255 - mean) / std == x * SCALE + BIAS
SCALE = (1.0 / (255.0 * STD)).astype(np.float32).reshape(3, 1, 1)
BIAS = (-MEAN / STD).astype(np.float32).reshape(3, 1, 1)

MAX_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 89_478_485  # Pillow's own bomb threshold, checked from the header before any pixel is decoded

# We enforce MAX_PIXELS ourselves, per image and thread-safely (warnings.catch_warnings is neither).
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class ImageError(ValueError):
    """The bytes are not an image this pipeline can classify; the message is for the user."""


def _open(data: bytes) -> Image.Image:
    if not data:
        raise ImageError("empty input (0 bytes)")
    if len(data) > MAX_BYTES:
        raise ImageError(f"input is {len(data) / 2**20:.0f} MiB, over the {MAX_BYTES // 2**20} MiB limit")
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageError(f"image too large to decode safely: {exc}") from None
    except UnidentifiedImageError:
        head = data[:4].hex(" ")
        raise ImageError(
            f"not a decodable image: not a recognised image format ({len(data)} bytes: {head} …)"
        ) from None
    except Exception as exc:  # PIL raises UnidentifiedImageError, OSError, SyntaxError, ...
        raise ImageError(f"not a decodable image: {exc}") from None
    w, h = img.size
    if w <= 0 or h <= 0:
        raise ImageError(f"image has invalid size {w}x{h}")
    if w * h > MAX_PIXELS:
        raise ImageError(
            f"image is {w}x{h} ({w * h / 1e6:.0f} Mpx), over the {MAX_PIXELS / 1e6:.0f} Mpx limit"
        )
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to RGB; transparency is composited on white, 16-bit scaled, not clipped."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        arr = np.asarray(img)
        top = 65535 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255
        arr = (arr.astype(np.float32) * (255.0 / top)).clip(0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if mode == "F":
        arr = np.nan_to_num(np.asarray(img, dtype=np.float32))
        lo, hi = float(arr.min(initial=0)), float(arr.max(initial=1))
        arr = ((arr - lo) * (255.0 / max(hi - lo, 1e-6))).clip(0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def _load_rgb(data: bytes, draft_size: Callable[[int, int], tuple[int, int]]) -> Image.Image:
    """Open (limits checked first), decode (JPEGs at the smallest DCT scale >= ``draft_size(w, h)``: libjpeg
    decodes at 1/2, 1/4, 1/8 for free), apply the EXIF orientation and convert to RGB."""
    img = _open(data)
    try:
        if img.format == "JPEG":
            img.draft("RGB", draft_size(*img.size))
        img.load()
        return _to_rgb(ImageOps.exif_transpose(img))
    except ImageError:
        raise
    except Exception as exc:  # truncated data, bad Huffman tables, unsupported modes, ...
        raise ImageError(f"cannot decode image: {exc}") from None


def _resize_target(w: int, h: int, resize: int = RESIZE) -> tuple[int, int]:
    s = resize / min(w, h)
    return int(w * s + 0.999), int(h * s + 0.999)


def resize_shape(w: int, h: int, resize: int = RESIZE) -> tuple[int, int]:
    """(width, height) after scaling the shorter side to ``resize``, truncated like torchvision.Resize(256)."""
    return (resize, int(resize * h / w)) if w <= h else (int(resize * w / h), resize)


def crop_origin(rw: int, rh: int, cw: int = CROP, ch: int = CROP) -> tuple[int, int]:
    """(left, top) of the centre cw x ch window in an image of size (rw, rh), as CenterCrop(224)."""
    return int(round((rw - cw) / 2.0)), int(round((rh - ch) / 2.0))


def resize_for(width: int, height: int) -> int:
    """The shorter-side size for a ``width`` x ``height`` crop, in ImageNet's 256 : 224 proportion."""
    return max(1, int(round(max(width, height) * RESIZE / CROP)))


def decode(data: bytes, width: int = CROP, height: int = CROP) -> Image.Image:
    """Decode ``data`` to the ``width`` x ``height`` RGB centre crop of the image resized to the matching
    shorter side (224 → 256, the ImageNet recipe; other sizes in the same proportion)."""
    resize = resize_for(width, height)
    img = _load_rgb(data, lambda w, h: _resize_target(w, h, resize))
    w, h = img.size
    # Resize the shorter side, then crop from the centre: computed as one resampling of just the source
    # box that ends up in the crop.
    rw, rh = resize_shape(w, h, resize)
    left, top = crop_origin(rw, rh, width, height)
    sx, sy = w / rw, h / rh
    box = (left * sx, top * sy, (left + width) * sx, (top + height) * sy)
    try:
        return img.resize((width, height), Image.BILINEAR, box=box, reducing_gap=None)
    except Exception as exc:
        raise ImageError(f"cannot resize image: {exc}") from None


def to_chw(img: Image.Image, out: np.ndarray | None = None) -> np.ndarray:
    """Normalised float32 [3, 224, 224] from a 224x224 RGB image (written into ``out`` if given)."""
    hwc = np.asarray(img, dtype=np.uint8)
    if out is None:
        out = np.empty((3, CROP, CROP), dtype=np.float32)
    np.multiply(hwc.transpose(2, 0, 1), SCALE, out=out, casting="unsafe")
    out += BIAS
    return out


def preprocess(data: bytes) -> np.ndarray:
    """Bytes of an encoded image -> float32 [3, 224, 224] ready for the backbone."""
    return to_chw(decode(data))


def preprocess_seed_style(data: bytes) -> np.ndarray:
    """The original example's preprocessing (full decode, Resize(256) then CenterCrop(224)).

    Kept only as the reference for benchmarks and accuracy tests; the pipeline uses :func:`preprocess`.
    """
    img = Image.open(io.BytesIO(data)).convert("RGB")
    rw, rh = resize_shape(*img.size)
    img = img.resize((rw, rh), Image.BILINEAR)
    left, top = crop_origin(rw, rh)
    img = img.crop((left, top, left + CROP, top + CROP))
    return to_chw(img)


def thumbnail(data: bytes, width: int, height: int) -> np.ndarray:
    """A small RGB uint8 [h, w, 3] copy of the image for previews (same limits and modes as decode)."""
    img = _load_rgb(data, lambda _w, _h: (width, height))
    try:
        img.thumbnail((width, height), Image.BILINEAR)
    except Exception as exc:
        raise ImageError(f"cannot resize image: {exc}") from None
    return np.asarray(img, dtype=np.uint8)
