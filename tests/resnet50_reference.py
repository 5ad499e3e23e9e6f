"""torchvision's ResNet50 forward pass on fixed weights and inputs, recorded for tests/test_build.py.

The console defines ResNet50 itself (build_tools/models.py) because torchvision cannot be installed on every
machine it runs on: PyPI's torchvision wheels for Linux are CUDA builds, and one next to a CPU torch (the CI
machine's ``torch 2.13.0+cpu``) fails ``import torchvision`` (its compiled ops do not load, and
``torchvision._meta_registrations`` then registers a fake kernel for an operator that does not exist). The CPU
build matching a CPU torch comes from PyTorch's own index only. So the logits of torchvision's model are
recorded once, on weights and inputs that anyone can regenerate from a seed, and the test compares the
console's model with them on every machine.

Recorded 2026-12-02 with torchvision 0.28.0 (the PyPI wheel, unpacked beside torch 2.13.0+cpu; ResNet50 uses
none of the compiled ops) by::

    pip download --no-deps torchvision==0.28.0 && pip install --no-deps --target /tmp/tv torchvision-0.28.0-*.whl
    PYTHONPATH=/tmp/tv:. python -m tests.resnet50_reference
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LOGITS = Path(__file__).parent / "data" / "resnet50_torchvision_logits.npz"
SEED = 20261202
_LIBRARY = None


def state_dict(shapes: dict[str, list[int]]) -> dict[str, np.ndarray]:
    """Weights drawn from a seeded generator, key by key in order, scaled so that 50 layers stay finite:
    He-scaled convolutions, batch norms near identity with positive variances, a small classifier."""
    rng = np.random.default_rng(SEED)
    out = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            out[key] = np.zeros((), dtype=np.int64)
            continue
        draw = rng.standard_normal(shape).astype(np.float32)
        if key.endswith("running_var"):
            value = 1.0 + 0.25 * np.abs(draw)
        elif key.endswith(("running_mean", "bias")):
            value = 0.1 * draw
        elif len(shape) == 1:  # batch-norm scale
            value = 1.0 + 0.1 * draw
        else:
            fan_in = int(np.prod(shape[1:]))
            value = draw * np.sqrt(2.0 / fan_in)
        out[key] = value.astype(np.float32)
    return out


def inputs() -> np.ndarray:
    return np.random.default_rng(SEED + 1).standard_normal((2, 3, 224, 224)).astype(np.float32)


def logits(net) -> np.ndarray:
    """``net`` (a torch ResNet50 with torchvision's names) on the seeded weights and inputs, in fp32 eval mode."""
    import torch

    shapes = {k: list(v.shape) for k, v in net.state_dict().items()}
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state_dict(shapes).items()}, strict=True)
    with torch.no_grad():
        return net.eval()(torch.from_numpy(inputs())).numpy()


def import_torchvision():
    """``import torchvision``; where its compiled ops did not load (a CUDA build beside a CPU torch), each
    operator its fake-kernel registrations trip on is declared first (ResNet50 calls none of them)."""
    import re
    import sys

    import torch

    global _LIBRARY  # declarations last as long as their Library object
    for _ in range(50):
        try:
            import torchvision

            return torchvision
        except RuntimeError as exc:
            missing = re.search(r"operator torchvision::(\w+) does not exist", str(exc))
            if not missing:
                raise
            for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
                del sys.modules[name]
            _LIBRARY = _LIBRARY or torch.library.Library("torchvision", "DEF")
            _LIBRARY.define(f"{missing.group(1)}(Tensor x) -> Tensor")
    raise RuntimeError("torchvision does not import")


if __name__ == "__main__":
    tv = import_torchvision()
    values = logits(tv.models.resnet50(weights=None))
    np.savez_compressed(LOGITS, logits=values, torchvision=tv.__version__)
    print(
        f"torchvision {tv.__version__}: logits {values.shape}, max |x| {np.abs(values).max():.4g} -> {LOGITS}"
    )
