"""``make run``'s images (a newcomer's trial, 2026-12): in a clone without ``../shared/images`` it opened none
and said nothing; ``IMAGES=DIR`` gives others. ``make -n`` only prints the commands it would run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


def _planned(clone: Path, *args: str) -> list[str]:
    # under `make test` the outer make's MAKEFLAGS/MAKELEVEL reach this one, which then prints "Entering
    # directory" lines around its plan (CI failed on them): a make of its own
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEFILES")}
    res = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", *args],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    return res.stdout.splitlines()


@pytest.fixture
def clone(tmp_path) -> Path:
    """The Makefile and what its venv target depends on, in a folder with nothing beside it."""
    here = tmp_path / "checkout"
    here.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, here / name)
    return here


def test_images_given_are_opened(clone, tmp_path):
    start = _planned(clone, f"IMAGES={tmp_path}")[-1]
    assert start.endswith(f"triton-console --start {tmp_path}"), start


def test_the_shared_images_beside_the_checkout_are_the_default(clone):
    (clone.parent / "shared" / "images").mkdir(parents=True)
    assert _planned(clone)[-1].endswith("triton-console --start ../shared/images")


def test_without_images_it_says_where_the_console_opens(clone):
    lines = _planned(clone)
    assert lines[-1].rstrip().endswith("triton-console --start"), lines
    note = next(line for line in lines if "Server pane" in line)
    assert "IMAGES=DIR" in note and len(note.split("echo ", 1)[1].strip('"')) <= 80, note


def test_args_reach_the_console_before_the_images(clone, tmp_path):
    """On a shared machine 8001 is someone else's: ``ARGS`` passes the console's own flags (a newcomer could not
    give ``make run`` a URL or port, 2026-12)."""
    start = _planned(clone, "ARGS=-u 127.0.0.1:8301", f"IMAGES={tmp_path}")[-1]
    assert start.endswith(f"triton-console --start -u 127.0.0.1:8301 {tmp_path}"), start


def test_the_readme_documents_args_next_to_make_run():
    readme = (ROOT / "README.md").read_text()
    assert "make run ARGS='-u 127.0.0.1:" in readme
