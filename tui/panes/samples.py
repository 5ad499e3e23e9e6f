"""The image a sample request to an image model sends from the panes (the first request after a load or an
apply, the warm-up form's BYTES sample): the Classify pane's last image, else one given on the command line or
found in the Classify tree's folder. None: the core makes a tiny JPEG in memory (coldstart.small_request)."""

from __future__ import annotations

from pathlib import Path


def sample_image(app) -> tuple[str | None, str]:
    """(the image, where it comes from in words) or (None, "")."""
    from triton_console.tui.core.classify import images
    from triton_console.tui.core.load.inputs import image_candidates

    last, folder = [], None
    for screen in app.screen_stack:  # the Classify pane is on the main screen, under any modal
        for pane in screen.query("ClassifyPane"):
            last, folder = list(getattr(pane, "last_paths", None) or []), getattr(pane, "folder", None)
    given = list(getattr(getattr(app, "options", None), "images", None) or [])
    paths, _ = image_candidates(last, given, folder)
    files = [p for p in images.expand(paths) if not Path(p).is_dir()]
    if not files:
        return None, ""
    where = (
        "the Classify pane's last image"
        if last
        else "given on the command line"
        if given
        else "from the Classify tree's folder"
    )
    return str(files[0]), where
