"""Why did it fail to load: one real broken model per cause, on the real bundled server the console runs
(so the explainer has its log and repository), through status --json, the controller and the Models pane."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.helpers import free_ports, lines_of, select_model, wait_for, wait_until
from triton_console.tui.core.client.connection import Connection
from triton_console.tui.core.server.controller import ServerController

pytestmark = pytest.mark.server

ONE = 'input [ { name: "X" data_type: TYPE_FP32 dims: [ 1 ] } ]\noutput [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]\n'
OK_PY = "import triton_python_backend_utils as pb_utils\n\n\nclass TritonPythonModel:\n    def execute(self, requests):\n        return []\n"


def _model(
    root: Path, name: str, config: str, files: dict[str, str] | None = None, version: bool = True
) -> None:
    (root / name).mkdir(parents=True)
    if version:
        (root / name / "1").mkdir()
    (root / name / "config.pbtxt").write_text(f'name: "{name}"\n' + config)
    for fname, text in (files or {}).items():
        (root / name / "1" / fname).write_text(text)


def broken_repository(root: Path) -> Path:
    _model(root, "okm", 'backend: "python"\nmax_batch_size: 0\n' + ONE, {"model.py": OK_PY})
    _model(root, "nobackend", 'backend: "onnxruntime"\nmax_batch_size: 0\n' + ONE, {"model.onnx": ""})
    _model(
        root,
        "badfield",
        'backend: "python"\nmax_batch_size: 0\ninput [ { name: "X" data_type: TYPE_FP32 dimz: [ 1 ] } ]\n',
        {"model.py": OK_PY},
    )
    _model(
        root,
        "pyerror",
        'backend: "python"\nmax_batch_size: 0\n' + ONE,
        {"model.py": "import numpy as np\nimport no_such_module_xyz\n"},
    )
    exits = (
        "import os\nimport sys\n\nimport triton_python_backend_utils as pb_utils\n\n\nclass TritonPythonModel:\n"
        "    def initialize(self, args):\n        sys.stderr.write('fatal: cannot open /dev/nonexistent\\n')\n"
        "        sys.stderr.flush()\n        os._exit(3)\n"
    )
    _model(root, "stubdies", 'backend: "python"\nmax_batch_size: 0\n' + ONE, {"model.py": exits})
    _model(root, "noversion", 'backend: "python"\nmax_batch_size: 0\n' + ONE, version=False)
    autocomplete = (
        "import triton_python_backend_utils as pb_utils\n\n\nclass TritonPythonModel:\n    @staticmethod\n"
        "    def auto_complete_config(c):\n        c.add_input({'name': 'X', 'data_type': 'TYPE_FP32', 'dims': [4]})\n"
        "        return c\n\n    def execute(self, requests):\n        return []\n"
    )
    _model(
        root,
        "dims",
        'backend: "python"\nmax_batch_size: 0\n'
        + ONE.replace("dims: [ 1 ] } ]\noutput", "dims: [ 2, 2 ] } ]\noutput", 1),
        {"model.py": autocomplete},
    )
    ensemble = (
        'platform: "ensemble"\nmax_batch_size: 0\ninput [ { name: "A" data_type: TYPE_FP32 dims: [ 1 ] } ]\n'
        'output [ { name: "B" data_type: TYPE_FP32 dims: [ 1 ] } ]\nensemble_scheduling { step [ { model_name: "STEP" '
        'model_version: -1 input_map { key: "KEY" value: "A" } output_map { key: "Y" value: "B" } } ] }\n'
    )
    _model(root, "ensio", ensemble.replace("STEP", "okm").replace("KEY", "WRONG"))
    _model(
        root,
        "gpu",
        'backend: "python"\nmax_batch_size: 0\n' + ONE + "instance_group [ { kind: KIND_GPU count: 1 } ]\n",
        {"model.py": OK_PY},
    )
    _model(root, "needsgpu", ensemble.replace("STEP", "gpu").replace("KEY", "X"))
    # UNAVAILABLE with a reason no pattern knows ("Invalid argument: model input 'X' must specify 'data_type'")
    _model(
        root,
        "notype",
        'backend: "python"\nmax_batch_size: 0\n' + ONE.replace("TYPE_FP32", "TYPE_INVALID", 1),
        {"model.py": OK_PY},
    )
    return root


EXPECTED = {
    "nobackend": "backend-missing",
    "badfield": "config-parse",
    "pyerror": "python-error",
    "stubdies": "stub-died",
    "noversion": "missing-version",
    "dims": "io-mismatch",
    "ensio": "io-mismatch",
    "gpu": "gpu-on-cpu",
    "needsgpu": "dependency",
    "nofile": "missing-file",
    "notype": "server-reason",
}


@pytest.fixture(scope="module")
def managed(tmp_path_factory):
    root = broken_repository(tmp_path_factory.mktemp("broken") / "models")
    (port,) = free_ports(1)
    controller = ServerController(Connection(url=f"127.0.0.1:{port}"), root, server="bundled")
    controller.start(lambda *_: None)
    # a Python model whose file is missing stalls Triton 2.51 at start-up: added afterwards, loaded at runtime
    _model(root, "nofile", 'backend: "python"\nmax_batch_size: 0\ndefault_model_filename: "other.py"\n' + ONE)

    def load() -> None:
        with contextlib.suppress(Exception):
            controller.client.load_model("nofile")

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    wait_until(
        lambda: any("other.py" in ln for ln in controller.log_lines()), 30, "the stalled load in the log"
    )
    try:
        yield controller
    finally:
        controller.shutdown()


def test_one_cause_per_broken_model(managed):
    snap = managed.poll(force=True)
    entries = {e.name: e for e in snap.models}
    assert entries["okm"].state == "READY" and managed.explain(entries["okm"]) is None
    assert entries["noversion"].state == "UNLISTED"  # on disk, but the server does not list it
    causes = {name: managed.explain(entries[name]) for name in EXPECTED}
    assert {n: (c.cause if c else None) for n, c in causes.items()} == EXPECTED
    assert "'onnxruntime'" in causes["nobackend"].hint
    assert "dimz" in causes["badfield"].config_error and "4:" in causes["badfield"].config_error
    assert any(
        "fatal: cannot open /dev/nonexistent" in ln for ln in causes["stubdies"].log
    )  # the stub's stderr
    assert any("mapping to non-existing input WRONG" in ln for ln in causes["ensio"].log)
    assert "'gpu'" in causes["needsgpu"].hint
    assert any("other.py" in ln for ln in causes["nofile"].log) and "stays LOADING" in causes["nofile"].hint
    assert "data_type" in entries["notype"].reason and "no reason" not in causes["notype"].hint


def test_status_json_carries_the_hint(managed):
    res = run_cli("status", "-u", managed.client.endpoint.url, "--json", timeout=60)
    models = {m["name"]: m for m in json.loads(res.stdout)["models"]}
    assert models["gpu"]["cause"] == "gpu-on-cpu" and "KIND_CPU" in models["gpu"]["hint"]
    assert models["pyerror"]["cause"] == "python-error" and "traceback" in models["pyerror"]["hint"]
    assert models["okm"]["hint"] is None and models["okm"]["cause"] is None


def test_models_pane_explains_a_failed_model(managed):
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    async def scenario():
        app = ConsoleApp(ConsoleOptions())
        app.controller = managed  # the console that started this server (its panes are made with it)
        async with app.run_test(size=(140, 40)) as pilot:
            index = await select_model(pilot, app, "stubdies")
            detail = app.query_one("#detail-text")
            await wait_for(
                pilot, lambda: "why (stub-died)" in " ".join(lines_of(detail)), 10, "the explanation"
            )
            shown = " ".join(" ".join(lines_of(detail)).split())
            assert (
                "the Python stub process exited" in shown and "fatal: cannot open /dev/nonexistent" in shown
            )
            index.move_cursor(row=index.get_row_index("badfield"))
            await wait_for(
                pilot, lambda: "does not parse" in " ".join(lines_of(detail)), 10, "the config error"
            )
            # a reason the explainer does not recognise is still the server's: shown, not "gave no reason"
            index.move_cursor(row=index.get_row_index("notype"))
            await wait_for(
                pilot, lambda: "why (server-reason)" in " ".join(lines_of(detail)), 10, "the server's reason"
            )
            shown = " ".join(" ".join(lines_of(detail)).split())
            assert "UNAVAILABLE: Invalid argument: model input 'X' must specify 'data_type'" in shown, shown
            assert "gave no reason" not in shown, shown
            await pilot.press("q")

    asyncio.run(scenario())


def test_a_reason_the_server_gave_is_never_called_no_reason():
    """A server's reason such as "Internal: model.py missing" (another server's wording of a missing file) is
    recognised; one no pattern knows still counts as the server's word, not "the server gave no reason"."""
    from triton_console.tui.core.client.responses import IndexEntry
    from triton_console.tui.core.server.explain import explain

    missing = explain(IndexEntry("m", "1", "UNAVAILABLE", "Internal: model.py missing"))
    assert missing.cause == "missing-file" and "model file is missing" in missing.hint
    odd = explain(IndexEntry("m", "1", "UNAVAILABLE", "Internal: the moon is in the wrong phase"))
    assert odd.cause == "server-reason" and "no reason" not in odd.hint
    silent = explain(IndexEntry("m", "1", "UNAVAILABLE", ""))
    assert silent.cause == "unknown" and "gave no reason" in silent.hint


def test_a_dying_stubs_stderr_is_found_among_parallel_loads():
    """CI's order (stop 18): other models' lines between the stub's stderr and its failure, more than the
    context around the model's name; a traceback that belongs to another record is not taken for it."""
    from triton_console.tui.core.server.explain import model_log

    log = [
        'I1128 06:31:58.598503 29004 python_be.cc:2249] "TRITONBACKEND_ModelInstanceInitialize: stubdies_0 (CPU device 0)"',
        'I1128 06:31:58.605876 29004 python_be.cc:2249] "TRITONBACKEND_ModelInstanceInitialize: okm_0 (CPU device 0)"',
        "I1128 06:31:58.610001 29010 pb_stub.cc:298]  Failed to initialize Python stub: ValueError: other",
        "",
        "At:",
        "  /models/other/1/model.py(2): <module>",
        'I1128 06:31:58.620002 29004 python_be.cc:2249] "TRITONBACKEND_ModelInstanceInitialize: dims_0 (CPU device 0)"',
        "fatal: cannot open /dev/nonexistent",
        "I1128 06:31:58.697375 29004 model_lifecycle.cc:839] \"successfully loaded 'okm'\"",
        "I1128 06:31:58.697375 29004 model_lifecycle.cc:839] \"successfully loaded 'dims'\"",
        'I1128 06:31:58.697375 29004 model_lifecycle.cc:839] "loading: other:1"',
        "E1128 06:31:59.629308 29004 backend_model.cc:692] \"ERROR: Failed to create instance: Stub process 'stubdies_0' is not healthy.\"",
        "I1128 06:31:59.629483 29004 model_lifecycle.cc:777] \"failed to load 'stubdies'\"",
    ]
    shown = model_log("stubdies", log)
    assert "fatal: cannot open /dev/nonexistent" in shown
    assert "  /models/other/1/model.py(2): <module>" not in shown
