"""``triton-console --help`` must stay instant: it may import none of the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

HEAVY = ("torch", "onnx", "onnxruntime", "tritonclient", "grpc", "numpy", "textual", "PIL")


def _imported(argv: list[str]) -> set[str]:
    res = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "triton_console", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    names = set()
    for line in res.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_help_imports_nothing_heavy():
    names = _imported(["--help"])
    assert "triton_console" in names
    assert not names & set(HEAVY), sorted(names & set(HEAVY))


def test_subcommand_help_imports_nothing_heavy():
    for cmd in ("classify", "build", "serve", "bench"):
        names = _imported([cmd, "--help"])
        assert not names & set(HEAVY), (cmd, sorted(names & set(HEAVY)))


def test_one_shot_classify_pays_only_for_what_it_uses(tmp_path):
    """``classify IMAGE -m MODEL`` as a whole process competes with a bare tritonclient script (make bench's
    one-shot ratio): no importlib.metadata (the version, ~30 ms, only for --version), no platformdirs (a
    help default nobody reads), no server controller (only to choose a model when -m is not given), no build
    catalog (the build and export commands' choices), no Pillow (the ensemble decodes on the server: the
    one decoder is imported only for tensor-input models, ~15 ms), no shutil (argparse's help formatter asks
    it for the terminal's width at every add_argument: ~5 ms with bz2 and lzma), no other command's module,
    no contexts file without -c, no statistics module without a breakdown."""
    image = tmp_path / "x.jpg"
    image.write_bytes(b"\xff\xd8not really")
    res = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "triton_console", "classify", str(image)]
        + ["-u", "127.0.0.1:9", "-m", "m", "--timeout", "2"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in res.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "tritonclient.grpc" in names  # it did get as far as the request
    unwanted = {
        "importlib.metadata",
        "platformdirs",
        "triton_console.tui.core.server.controller",
        "triton_console.build_tools.catalog",
        "PIL",
        "shutil",
        "triton_console.tui.commands.bench",  # another command's module (the registry is names)
        "triton_console.tui.core.client.contexts",  # only with -c NAME
        "triton_console.tui.core.client.stats",  # only for the Classify pane's breakdown
    }
    assert not names & unwanted, sorted(names & unwanted)


def test_engine_from_an_onnx_file_imports_no_torch(tmp_path, monkeypatch):
    """`engine --onnx` runs trtexec on a file: it imported torch (1.5 s) through the export module for two
    tensor names."""
    fake = tmp_path / "trtexec"
    fake.write_text(
        "#!/usr/bin/env python3\nimport sys\n"
        "plan=[a.split('=',1)[1] for a in sys.argv if a.startswith('--saveEngine=')][0]\n"
        "open(plan,'wb').write(b'PLAN')\n"
    )
    fake.chmod(0o755)
    (tmp_path / "m.onnx").write_bytes(b"onnx")
    monkeypatch.setenv("TRTEXEC", str(fake))
    names = _imported(["engine", "--onnx", str(tmp_path / "m.onnx"), "--output", str(tmp_path / "m.plan")])
    assert "torch" not in names and "onnx" not in names, sorted(names & set(HEAVY))


def test_help_wraps_as_argparse_would(monkeypatch):
    """The help formatter is told the width (COLUMNS, else the terminal's) instead of importing shutil to
    ask: the help reads as argparse's own formatter makes it, at any width."""
    import argparse

    from triton_console.tui import cli

    lines = {}
    for columns in (60, 100):
        monkeypatch.setenv("COLUMNS", str(columns))
        top = cli.parser(only="classify")
        sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction)).choices["classify"]
        for p in (top, sub):
            text = p.format_help()
            p.formatter_class = argparse.HelpFormatter
            assert text == p.format_help()
        lines[columns] = len(text.splitlines())
    assert lines[60] > lines[100]  # the width was honoured
