"""The inputs box's ``auto`` of the Bench and Tune panes: images for an image model (the ones the Classify pane
last used, else the command line's, else the Classify tree's folder), random tensors for any other model."""

from __future__ import annotations

import os
from dataclasses import dataclass

from triton_console.common.errors import ConsoleError

AUTO = "auto"  # the inputs box's default: images for an image model, else random tensors


@dataclass
class Inputs:
    """What a run sends, and where it came from (said on the status line)."""

    words: list[str]  # image paths, or the box's words (NAME=SPEC, random)
    source: str = ""  # e.g. "3 images the Classify pane last used"


def image_candidates(last_used: list[str], given: list[str], folder: str | None) -> tuple[list[str], str]:
    """The images an image model gets by default, and where they come from: the ones the Classify pane last
    used, else those given on the command line, else the folder the Classify tree shows."""
    if last_used:
        return list(last_used), f"{_what(last_used)} (the Classify pane's last)"
    if given:
        return list(given), f"{_what(given)} (given on the command line)"
    if folder:
        return [folder], f"{_what([folder])} (the Classify tree's folder)"
    return [], ""


def _what(paths: list[str]) -> str:
    if len(paths) > 1:
        return f"{len(paths)} images"
    return f"the images in {paths[0]}" if os.path.isdir(paths[0]) else paths[0]


def resolve_inputs(
    client, model: str, text: str, candidates: tuple[list[str], str]
) -> Inputs:  # in a worker: it may ask the server
    """The inputs box's ``auto``: an image model gets images (``candidates``), any other model random
    tensors; anything else typed is taken as it is."""
    if text and text != AUTO:
        return Inputs(text.split())
    from triton_console.tui.core.classify import classifier

    info = client.model_info(model)
    try:
        classifier.image_path(info, client.server_metadata().extensions)
    except ConsoleError:
        return Inputs(["random"], "random tensors (not an image model)")
    from triton_console.tui.core.classify import images

    paths, source = candidates
    if not paths or images.expand(paths) == paths and all(os.path.isdir(p) for p in paths):
        where = f": none in {paths[0]}" if paths else ""
        raise ConsoleError(
            f"{model} takes images{where}; classify some in the Classify pane (o picks, backspace climbs) "
            "or type image paths in the inputs box"
        )
    return Inputs(paths, source)
