"""Resolve a ``--weights`` choice (imagenet | random | PATH) into a loaded model and a record of it.

``random`` weights are seeded and flagged ``trained=False``: every surface that shows their predictions
must say they are meaningless.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from triton_console.build_tools import catalog, models
from triton_console.common import fsutil
from triton_console.common.errors import ConsoleError

RANDOM_SEED = 0


@dataclass(frozen=True)
class WeightsInfo:
    """Where a model's weights came from; written into the generated repository."""

    choice: str  # "imagenet" | "random" | "file"
    source: str  # URL, path or "seed=0"
    trained: bool
    sha256: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def cache_dir() -> Path:
    """torch hub's checkpoint cache, so a user's existing torchvision download is reused."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    return Path(torch_home) / "hub" / "checkpoints"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _expected_prefix(url: str) -> str:
    return url.rsplit("/", 1)[-1].rsplit(".", 1)[0].rsplit("-", 1)[-1]


def download_checked(url: str, dest: Path, progress: Callable[[float], None] | None = None) -> Path:
    """Download ``url`` to ``dest`` atomically unless a verified copy is already there."""
    prefix = _expected_prefix(url)
    if dest.exists():
        if sha256_of(dest).startswith(prefix):
            return dest
        raise ConsoleError(
            f"cached weights {dest} fail their hash check (expected sha256 {prefix}…)",
            hint="delete the file to download it again, or pass --weights PATH",
        )
    try:
        with urllib.request.urlopen(url, timeout=30) as resp, fsutil.atomic_path(dest) as tmp:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            h = hashlib.sha256()
            with open(tmp, "wb") as out:
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    out.write(chunk)
                    h.update(chunk)
                    done += len(chunk)
                    if progress and total:
                        progress(done / total)
            if not h.hexdigest().startswith(prefix):
                raise ConsoleError(f"downloaded weights from {url} fail their hash check", exit_code=1)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ConsoleError(
            f"cannot download ImageNet weights from {url}: {getattr(exc, 'reason', exc)}",
            hint="offline: give a state_dict with --weights PATH (in the Build pane: weights file…) or copy it "
            f"to {dest}; or build efficientnet-lite0, whose ImageNet weights ship in a package",
        ) from exc
    return dest


def _load_state_dict(path: Path):
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise ConsoleError(f"cannot read weights file {path}: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ConsoleError(f"{path} does not hold a state_dict")
    return state


def load(model: str, weights: str, progress: Callable[[float], None] | None = None):
    """Return ``(module in eval mode, WeightsInfo)`` for a catalog model and a ``--weights`` choice."""
    import torch

    entry = catalog.model(model)
    if weights == "random":
        torch.manual_seed(RANDOM_SEED)
        net = models.create(model)
        info = WeightsInfo("random", f"seed={RANDOM_SEED}", trained=False)
    elif weights == "imagenet":
        if entry.imagenet.package_file:
            from importlib import import_module

            module, _, cls = entry.imagenet.package_file.partition(":")
            path = Path(getattr(import_module(module), cls).get_model_file_path())
            net = models.create(model, str(path))
            info = WeightsInfo("imagenet", str(path), trained=True, sha256=sha256_of(path))
        else:
            url = entry.imagenet.url or ""
            path = download_checked(url, cache_dir() / url.rsplit("/", 1)[-1], progress)
            net = models.create(model)
            _apply(net, _load_state_dict(path), path)
            info = WeightsInfo("imagenet", url, trained=True, sha256=sha256_of(path))
    else:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise ConsoleError(
                f"--weights {weights!r} is neither 'imagenet', 'random' nor an existing file",
            )
        net = models.create(model)
        _apply(net, _load_state_dict(path), path)
        info = WeightsInfo("file", str(path.resolve()), trained=True, sha256=sha256_of(path))
    net.eval()
    return net, info


def _apply(net, state: dict, path: Path) -> None:
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0:3]
        raise ConsoleError(f"weights in {path} do not fit this model: {' '.join(first)}") from exc
