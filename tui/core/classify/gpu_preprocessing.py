"""Batch JPEG preprocessing on the GPU: nvJPEG decode, then resize, crop and normalise whole groups at once.

The ``preprocess`` model uses this on a CUDA machine for plain JPEGs (everything else goes to Pillow via
``preprocessing``). It follows the same recipe as ``preprocessing.decode``/``to_chw``: shorter side to 256 with
antialiased bilinear, centre crop 224, rounding to uint8 levels, ImageNet mean/std, so top-1 agrees with
the CPU path. Why it is fast: images of equal size are resized as one batch (one kernel per size, not a
dozen Python-dispatched ops per image), and work is chunked by pixel count so one batch of large photos
cannot exhaust GPU memory. The arithmetic works on any torch device, which is how it is tested on CPUs.

Needs torch (and torchvision for the decode); the repository installs it beside the model as
``imagenet_preprocessing_gpu.py`` with ``imagenet_preprocessing.py`` passed in as ``pre``.
"""

from __future__ import annotations

from types import ModuleType

import torch
import torch.nn.functional as F

# Pixels decoded at once: bounds the decode buffers (3 B/px).
CHUNK_PIXELS = 96 * 2**20
# Pixels resized at once: bounds the float copies (12 B/px). With every chunk's 96 Mpx in one kernel, a fused
# instance serving the 8.5 Mpx mug held ~10 GB of GPU memory (H200, 2026-12-02): 8 instances and a reload
# did not fit in 140 GB. 16 Mpx is ~200 MB of floats, one or two large photos per kernel.
RESIZE_PIXELS = 16 * 2**20
EXIF_ORIENTATION = 0x0112


def chunks(sizes: list[tuple[int, int]], limit: int = CHUNK_PIXELS) -> list[list[int]]:
    """Indices grouped in order so each group's total pixels stay under ``limit`` (one image may exceed it)."""
    out: list[list[int]] = []
    total = 0
    for i, (w, h) in enumerate(sizes):
        if not out or total + w * h > limit:
            out.append([])
            total = 0
        out[-1].append(i)
        total += w * h
    return out


class JpegBatch:
    """nvJPEG decoding plus batched resize/crop/normalise on ``device`` (``pre``: the CPU preprocessing module)."""

    def __init__(self, pre: ModuleType, device: str | torch.device = "cuda"):
        self.pre = pre
        self.device = torch.device(device)
        self.scale = torch.tensor(pre.SCALE, device=self.device).reshape(1, 3, 1, 1)
        self.bias = torch.tensor(pre.BIAS, device=self.device).reshape(1, 3, 1, 1)

    def header(self, data: bytes) -> tuple[int, int] | None:
        """(width, height) of a JPEG nvJPEG can take as is: baseline/progressive RGB or greyscale, within the
        size limits, without an EXIF rotation. None sends the image to Pillow (which explains any problem)."""
        if data[:2] != b"\xff\xd8":
            return None
        try:
            img = self.pre._open(data)  # header only: limits are checked before any pixel is decoded
            if img.format != "JPEG" or img.mode not in ("RGB", "L"):
                return None
            if img.getexif().get(EXIF_ORIENTATION, 1) != 1:
                return None
            return img.size
        except Exception:
            return None

    def decode(self, payloads: list[torch.Tensor]) -> list[torch.Tensor]:
        """Encoded bytes (CPU uint8 tensors) -> RGB uint8 [3, h, w] tensors on the GPU, in one nvJPEG batch."""
        from torchvision.io import ImageReadMode, decode_jpeg

        return decode_jpeg(payloads, mode=ImageReadMode.RGB, device=self.device)

    def resize_crop_normalize(self, images: list[torch.Tensor], out: torch.Tensor) -> torch.Tensor:
        """RGB uint8 [3, h, w] images -> normalised [n, 3, 224, 224] in ``out``; equal sizes share one kernel."""
        groups: dict[tuple[int, int], list[int]] = {}
        for i, img in enumerate(images):
            groups.setdefault((int(img.shape[2]), int(img.shape[1])), []).append(i)
        for (w, h), same in groups.items():
            step = max(1, RESIZE_PIXELS // (w * h))  # large photos a few at a time: bounded float copies
            for k in range(0, len(same), step):
                self._resize_group(images, same[k : k + step], w, h, out)
        return out

    def _resize_group(self, images: list, idx: list[int], w: int, h: int, out: torch.Tensor) -> None:
        """Images of one size (w x h) resized, cropped and normalised with one kernel each, into their rows."""
        pre = self.pre
        batch = images[idx[0]][None] if len(idx) == 1 else torch.stack([images[i] for i in idx])
        rw, rh = pre.resize_shape(w, h)
        resized = F.interpolate(
            batch.float(), size=(rh, rw), mode="bilinear", antialias=True, align_corners=False
        )
        left, top = pre.crop_origin(rw, rh)
        crop = resized[:, :, top : top + pre.CROP, left : left + pre.CROP].round_().clamp_(0, 255)
        result = torch.addcmul(self.bias, crop, self.scale).to(out.dtype)
        if len(idx) == idx[-1] - idx[0] + 1:  # consecutive: a plain slice
            out[idx[0] : idx[-1] + 1] = result
        else:
            out.index_copy_(0, torch.tensor(idx, device=out.device), result)

    def run(
        self,
        payloads: list[torch.Tensor],
        sizes: list[tuple[int, int]],
        dtype=torch.float32,
        out: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Decode and preprocess every payload: [n, 3, 224, 224] on the device, in ``out`` if given (raises if
        nvJPEG refuses)."""
        crop = self.pre.CROP
        if out is None:
            out = torch.empty((len(payloads), 3, crop, crop), device=self.device, dtype=dtype)
        with torch.inference_mode():
            for idx in chunks(sizes):
                images = self.decode([payloads[i] for i in idx])
                self.resize_crop_normalize(images, out[idx[0] : idx[-1] + 1])
        return out
