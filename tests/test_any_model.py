"""Any model on the real bundled server: infer with every datatype, classify every kind of image classifier,
the calls --show-call prints, and one clear line for each kind of bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests import modelzoo
from tests.conftest import EXPECTED, image, run_cli
from triton_console.common.untrusted import visible
from triton_console.tui.core.classify import preprocessing

pytestmark = pytest.mark.server
PROTOCOLS = ("grpc", "http")


def args(server, protocol: str) -> list[str]:
    return ["-u", server.grpc_url if protocol == "grpc" else f"http://{server.http_url}", "-i", protocol]


def infer(server, protocol: str, *extra: str) -> dict:
    res = run_cli("infer", *extra, *args(server, protocol), "--json", timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def outputs(record: dict) -> dict:
    return {o["name"]: o for o in record["outputs"]}


# ------------------------------------------------------------------------------------------ infer


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_infer_int64_bool_bytes_in_fp16_int8_bytes_out(zoo, tmp_path, protocol):
    (tmp_path / "ids.json").write_text("[1, 2, 300]")
    (tmp_path / "flag.json").write_text("[true]")
    out = infer(
        zoo,
        protocol,
        "mixed",
        "--input",
        f"IDS=@{tmp_path / 'ids.json'}",
        "--input",
        f"FLAG=@{tmp_path / 'flag.json'}",
        "--input",
        "NOTE=text:hello",
    )
    assert [(i["name"], i["datatype"], i["shape"], i["source"]) for i in out["inputs"]] == [
        ("IDS", "INT64", [3], f"@{tmp_path / 'ids.json'}"),
        ("FLAG", "BOOL", [1], f"@{tmp_path / 'flag.json'}"),
        ("NOTE", "BYTES", [1], "text:hello"),
    ]
    o = outputs(out)
    assert (o["SUM"]["datatype"], o["SUM"]["values"]) == ("FP16", [303.0])
    assert (o["NEG"]["datatype"], o["NEG"]["values"], o["NEG"]["min"]) == ("INT8", [-1, -2, -128], -128)
    assert (o["ECHO"]["datatype"], o["ECHO"]["values"]) == ("BYTES", ["olleh!"])
    assert out["latency_ms"] > 0 and out["version"] == "1"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_infer_without_batch_dimension_and_save(zoo, tmp_path, protocol):
    np.save(tmp_path / "x.npy", np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float64))
    out = infer(
        zoo, protocol, "nobatch", "--input", f"X=@{tmp_path / 'x.npy'}", "--save", str(tmp_path / "out")
    )
    y = outputs(out)["Y"]
    assert (
        y["values"] == [5.0, 7.0, 9.0]
        and y["shape"] == [3]
        and (y["min"], y["max"], y["mean"], y["nan"]) == (5, 9, 7, 0)
    )
    assert np.load(tmp_path / "out" / "Y.npy").tolist() == [5.0, 7.0, 9.0]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_infer_batches_a_single_item_and_random_is_seeded(zoo, tmp_path, protocol):
    x = np.random.default_rng(1).random((3, 8, 8), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    out = infer(zoo, protocol, "chw_fp32", "--input", f"INPUT=@{tmp_path / 'x.npy'}", "--batch", "2")
    o = outputs(out)["OUTPUT"]
    expected = (modelzoo.weights(10, 192) @ x.reshape(-1)).tolist()
    assert (
        o["shape"] == [2, 10]
        and np.allclose(o["values"][:10], expected, atol=1e-4)
        and np.allclose(o["values"][10:], expected[:6], atol=1e-4)
    )
    a, b = (outputs(infer(zoo, protocol, "chw_fp32", "--seed", "7"))["OUTPUT"]["values"] for _ in range(2))
    assert a == b


# ------------------------------------------------------------------------------------------ classify


def _pixels(name: str, w: int, h: int) -> np.ndarray:
    return np.asarray(preprocessing.decode(image(name).read_bytes(), w, h), dtype=np.float32)


def image_client(pixels: np.ndarray, scaling: str) -> np.ndarray:
    """Triton's image_client.py scalings, written from its definitions (RGB order)."""
    if scaling == "inception":
        return (pixels / 127.5) - 1
    if scaling == "vgg":
        return pixels - np.asarray((123, 117, 104), dtype=np.float32)
    return pixels


def classify(server, protocol: str, model: str, name: str, *extra: str) -> dict:
    res = run_cli(
        "classify",
        str(image(name)),
        "-m",
        model,
        *args(server, protocol),
        "--json",
        "-k",
        "3",
        *extra,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("scaling", [None, "vgg", "none"])
def test_chw_fp32_classifier_gets_exactly_the_image_client_tensor(zoo, protocol, scaling):
    rec = classify(zoo, protocol, "chw_fp32", "car.jpg", *(["--scaling", scaling] if scaling else []))
    used = scaling or "inception"  # the model declares inception
    assert f"scaling {used} ({'flag' if scaling else 'model'})" in rec["path"] and "NCHW 3x8x8" in rec["path"]
    x = image_client(_pixels("car.jpg", 8, 8), used).transpose(2, 0, 1).reshape(-1)
    logits = modelzoo.weights(10, 192) @ x
    best = np.argsort(-logits)[:3]
    assert [t["index"] for t in rec["top"]] == best.tolist()
    # the model gives logits: shown as probabilities, softmax over its whole output (it showed the logits)
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert np.allclose([t["score"] for t in rec["top"]], probs[best], rtol=1e-3, atol=1e-4)
    assert rec["scores"] == "softmax"


def test_tensor_model_names_an_undecodable_file_and_goes_on(zoo, tmp_path):
    """A tensor-input model decodes on this side (the one decoder, imported only for such models): a file
    that is not an image is one line for that file, and the next file is still classified."""
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"not an image at all")
    res = run_cli(
        "classify", str(bad), str(image("car.jpg")), "-m", "chw_fp32", *args(zoo, "grpc"), "--json",
        timeout=120,
    )  # fmt: skip
    recs = [json.loads(line) for line in res.stdout.splitlines()]
    assert "not a decodable image" in recs[0]["error"] and "\n" not in recs[0]["error"]
    assert recs[1]["top"] and "error" not in recs[1]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_hwc_fp16_classifier_with_1001_classes_gets_imagenet_labels(zoo, protocol):
    rec = classify(zoo, protocol, "hwc_fp16", "vulture.jpeg")
    assert "NHWC 3x8x8" in rec["path"] and "scaling none (default)" in rec["path"]
    x = _pixels("vulture.jpeg", 8, 8).astype(np.float16).astype(np.float32).reshape(-1)
    logits = (modelzoo.weights(1001, 192) @ x).astype(np.float16)
    best = int(np.argmax(logits))
    from triton_console.common.labels import imagenet_labels

    assert rec["top"][0]["index"] == best
    assert rec["top"][0]["label"] == ("background" if best == 0 else imagenet_labels()[best - 1])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_uint8_hwc_without_batching_and_a_c11_output(zoo, protocol):
    rec = classify(zoo, protocol, "uint8_hwc", "mug.jpg")
    x = np.rint(_pixels("mug.jpg", 8, 8)).reshape(-1)
    logits = modelzoo.weights(10, 192) @ x
    assert [t["index"] for t in rec["top"]] == np.argsort(-logits)[:3].tolist()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_bytes_input_image_model_with_its_label_file(zoo, protocol):
    rec = classify(zoo, protocol, "bytes_image", "car.jpg")
    assert rec["path"] == "encoded bytes → IMAGE BYTES"
    rgb = np.asarray(
        Image.open(io.BytesIO(image("car.jpg").read_bytes())).convert("RGB"), dtype=np.float32
    ).mean(axis=(0, 1))
    scores = [rgb[0], rgb[1], rgb[2], 128.0]
    best = int(np.argmax(scores))
    assert rec["top"][0]["index"] == best and rec["top"][0]["label"] == modelzoo.LABELS[best]


def test_the_backbone_alone_agrees_with_its_ensemble(server, images_dir):
    """The seed's question: server-side preprocessing (ensemble) vs client-side (backbone): same top-1."""
    for name, (index, label) in EXPECTED.items():
        for model in ("ensemble_python_efficientnet_lite0", "efficientnet_lite0_ort"):
            res = run_cli(
                "classify", str(images_dir / name), "-m", model, "-u", server.grpc_url, "--json", timeout=120
            )
            assert res.returncode == 0, res.stderr
            top = json.loads(res.stdout)["top"][0]
            assert (top["index"], top["label"]) == (index, label), (model, name, top)


def test_image_client_works_against_the_generated_backbone(server):
    """Triton's image_client.py needs FORMAT_NCHW/NHWC: the generated backbone declares it."""
    from tritonclient.grpc import model_config_pb2 as mc

    from triton_console.tui.core.client.client import TritonClient

    cfg = TritonClient(server.grpc_url).model_config("efficientnet_lite0_ort")
    assert cfg.input[0].format == mc.ModelInput.FORMAT_NCHW
    assert cfg.parameters["triton_console.scaling"].string_value == "imagenet"


# ------------------------------------------------------------------------------------------ calls


def _curl_outputs(command: str, stdout: str) -> dict[str, list]:
    """Output values from curl's answer: JSON, or (FP16 outputs) the binary extension written with -o."""
    if " -o " not in command:
        return {o["name"]: o["data"] for o in json.loads(stdout)["outputs"]}
    path = command.rsplit(" -o ", 1)[1].strip().strip("'")
    length = int(
        next(
            ln.split(":")[1]
            for ln in stdout.splitlines()
            if ln.lower().startswith("inference-header-content-length")
        )
    )
    with open(path, "rb") as fh:
        body = fh.read()
    header, raw, out = json.loads(body[:length]), body[length:], {}
    for o in header["outputs"]:
        if "data" in o:
            out[o["name"]] = o["data"]
        else:
            size = o["parameters"]["binary_data_size"]
            dtype = {"FP16": np.float16, "FP32": np.float32}[o["datatype"]]
            out[o["name"]] = np.frombuffer(raw[:size], dtype=dtype).astype(float).tolist()
            raw = raw[size:]
    return out


def _call(zoo, form: str, tmp_path, *extra: str) -> tuple[dict, str]:
    res = run_cli(
        "infer",
        *extra,
        *args(zoo, "http"),
        "--json",
        "--show-call",
        form,
        "--save",
        str(tmp_path),
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    call = res.stderr.split("\n", 0)[0]
    return json.loads(res.stdout), call


@pytest.mark.parametrize(
    "model_args",
    [
        ("mixed", "--input", "NOTE=text:hi there", "--shape", "IDS=4"),
        ("chw_fp32", "--seed", "3", "--batch", "2"),
    ],
)
def test_show_call_curl_and_python_give_the_same_outputs(zoo, tmp_path, model_args):
    record, _ = _call(zoo, "curl", tmp_path / "a", *model_args)
    want = {o["name"]: o["values"] for o in record["outputs"]}
    res = run_cli(
        "infer",
        *model_args,
        *args(zoo, "http"),
        "--show-call",
        "curl",
        "--save",
        str(tmp_path / "b"),
        timeout=120,
    )
    command = res.stdout[res.stdout.index("curl -s") :].split("\n# ")[0]
    ran = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    for name, values in _curl_outputs(command, ran).items():
        if isinstance(values[0], str):
            assert values[:16] == want[name]
        else:
            assert np.allclose(values[:16], want[name], atol=1e-3)
    res = run_cli(
        "infer",
        *model_args,
        *args(zoo, "http"),
        "--show-call",
        "python",
        "--save",
        str(tmp_path / "c"),
        timeout=120,
    )
    snippet = res.stdout[res.stdout.index("import json") :].split("\n# ")[0]
    ran = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    got = json.loads(ran.stdout)
    for name, values in want.items():
        assert (
            got[name][:16] == values
            if isinstance(values[0], str)
            else np.allclose(got[name][:16], values, atol=1e-3)
        )


def test_show_call_of_a_large_request_without_save_puts_its_data_in_a_temporary_folder(zoo):
    """The inference succeeded, yet `--show-call` without --save exited 2 ("the request is N KiB: pass --save
    DIR"): its data files now go to a temporary folder it names, exit 0, and the call runs as printed."""
    import shutil
    import tempfile
    from pathlib import Path

    from triton_console.tui.core.request.showcall import SPILL_PREFIX

    res = run_cli(
        "infer", "mixed", "--input", "NOTE=text:hi", "--shape", "IDS=100000", *args(zoo, "http"),
        "--show-call", "curl", timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    note = [line for line in res.stdout.splitlines() if "its files are in" in line]
    assert len(note) == 1, res.stdout[-2000:]
    folder = Path(note[0].split("its files are in ")[1].split()[0])
    try:
        assert folder.parent == Path(tempfile.gettempdir()) and folder.name.startswith(SPILL_PREFIX)
        body = json.loads((folder / "mixed.request.json").read_text())
        assert [i["shape"] for i in body["inputs"] if i["name"] == "IDS"] == [[100000]]
        command = res.stdout[res.stdout.index("curl -s") :].split("\n# ")[0]
        assert f"@{folder}/mixed.request.json" in command
        ran = subprocess.run(["bash", "-c", command], capture_output=True, timeout=60)
        assert ran.returncode == 0 and (folder / "mixed.response.bin").stat().st_size > 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_show_call_perf_analyzer_writes_its_input_data(zoo, tmp_path):
    res = run_cli(
        "infer",
        "mixed",
        "--input",
        "NOTE=text:x",
        "--shape",
        "IDS=2",
        *args(zoo, "grpc"),
        "--show-call",
        "perf_analyzer",
        "--save",
        str(tmp_path),
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "perf_analyzer" in res.stdout and "-m mixed" in res.stdout and "--input-data" in res.stdout
    data = json.loads((tmp_path / "mixed.perf_analyzer.json").read_text())
    assert data["data"][0]["NOTE"] == {"content": ["x"], "shape": [1]}


def test_show_call_perf_analyzer_without_save_writes_nothing_into_the_current_folder(zoo, tmp_path):
    """Its --input-data file went into the current folder (the user's); without --save it goes to a new
    temporary folder the call's note names."""
    import shutil
    import tempfile
    from pathlib import Path

    from tests.conftest import CLI
    from triton_console.tui.core.request.showcall import SPILL_PREFIX

    cwd = tmp_path / "here"
    cwd.mkdir()
    res = subprocess.run(
        [*CLI, "infer", "mixed", "--input", "NOTE=text:x", "--shape", "IDS=2", *args(zoo, "grpc")]
        + ["--show-call", "perf_analyzer"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )
    assert res.returncode == 0, res.stderr
    assert list(cwd.iterdir()) == []
    note = next(line for line in res.stdout.splitlines() if "its files are in" in line)
    assert note.startswith("# perf_analyzer reads its input data from a file"), note
    folder = Path(note.split("its files are in ")[1].split()[0])
    try:
        assert folder.parent == Path(tempfile.gettempdir()) and folder.name.startswith(SPILL_PREFIX)
        assert f"--input-data {folder}/mixed.perf_analyzer.json" in res.stdout
        data = json.loads((folder / "mixed.perf_analyzer.json").read_text())
        assert data["data"][0]["NOTE"] == {"content": ["x"], "shape": [1]}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "extra, code, text",
    [
        (("nobatch", "--input", "X=@{tmp}/not.npy"), 2, "not a .npy array"),
        (("nobatch", "--input", "X=@{tmp}/wrong.npy"), 2, "expects [2, 3]"),
        (("nobatch", "--input", "X=text:hi"), 2, "text:… is BYTES data but input X is FP32"),
        (("mixed", "--input", "IDS=@{tmp}/floats.json"), 2, "input IDS is INT64 but"),
        (("mixed",), 2, "input IDS has a variable dimension [-1]: pass --shape IDS=N"),
        (("nobatch", "--input", "X=image:{car}"), 2, "image:… needs a 3-dimensional"),
        (("nobatch", "--input", "Z=zeros"), 2, "nobatch has no input 'Z'"),
        (("nobatch", "--batch", "2"), 2, "does not batch"),
        (("chw_fp32", "--batch", "8", "--max-response-mb", "0.001"), 2, "over the 0 MiB limit"),
        (("boom",), 1, "model 'boom' is not ready"),
        (("nosuchmodel",), 1, "model 'nosuchmodel' not found"),
    ],
)
def test_bad_input_is_one_clear_line(zoo, tmp_path, extra, code, text):
    (tmp_path / "not.npy").write_text("this is not numpy")
    np.save(tmp_path / "wrong.npy", np.zeros((3, 2), np.float32))
    (tmp_path / "floats.json").write_text("[1.5, 2.5]")
    filled = [a.format(tmp=tmp_path, car=image("car.jpg")) for a in extra]
    res = run_cli("infer", *filled, *args(zoo, "grpc"), timeout=120)
    assert res.returncode == code, res.stderr
    assert text in res.stderr and "Traceback" not in res.stderr
    assert res.stderr.count("\n") <= 8 and "\x1b" not in res.stderr


def test_an_image_for_a_model_that_is_not_an_image_classifier(zoo):
    res = run_cli("classify", str(image("car.jpg")), "-m", "mixed", *args(zoo, "grpc"), timeout=60)
    assert res.returncode == 2 and "mixed takes 3 inputs; an image classifier takes one" in res.stderr


# ------------------------------------------------------------------------------------------ console


def test_try_form_runs_any_model_and_copies_the_call(zoo, tmp_path):
    import asyncio

    from tests.helpers import lines_of, rendered, select_model, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    (tmp_path / "ids.json").write_text("[4, 5]")

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=zoo.grpc_url, protocol="grpc"))
        async with app.run_test(size=(120, 36)) as pilot:
            await select_model(pilot, app, "mixed")
            await pilot.pause(0.2)
            await pilot.press("t")
            await wait_for(pilot, lambda: bool(app.screen.query("#spec-2")), 20, "the form")
            screen = app.screen
            screen.query_one("#spec-0").value = f"@{tmp_path / 'ids.json'}"
            screen.query_one("#spec-1").value = "ones"
            screen.query_one("#spec-2").value = "text:hello"
            await pilot.press("ctrl+r")
            table = screen.query_one("#outputs")
            await wait_for(
                pilot,
                lambda: table.row_count == 3,
                20,
                "three outputs",
                show=lambda: rendered(screen.query_one("#summary")),
            )
            shown = "\n".join(lines_of(table))
            assert "olleh!" in shown and "9" in shown and "-5" in shown
            table.focus()
            await pilot.press("ctrl+y")
            assert app.clipboard.startswith("curl -s -X POST")
            assert '"data": ["hello"]' in app.clipboard
            screen.query_one("#spec-2").value = "zeros"  # BYTES zeros: b"0"
            screen.query_one("#spec-0").value = "text:nope"
            await pilot.press("ctrl+r")
            await wait_for(
                pilot, lambda: "error" in rendered(screen.query_one("#summary")), 20, "one clear error"
            )
            assert "text:… is BYTES data but input IDS is INT64" in rendered(screen.query_one("#summary"))
            # watch mode (w in the Models pane) sends the last request that ran again, not the refused one
            assert app.controller.last_requests["mixed"][0]["NOTE"] == "text:hello"
            await pilot.press("escape", "escape", "q")

    asyncio.run(scenario())


async def _copy_call(pilot, app):
    """^y in the Try form on a call whose data goes to files: the folder the notice names."""
    from pathlib import Path

    from tests.helpers import notifications, wait_for

    await pilot.press("ctrl+y")
    await wait_for(
        pilot,
        lambda: any("copied" in n for n in notifications(app)),
        20,
        "the copy",
        show=lambda: notifications(app),
    )
    (said,) = [n for n in notifications(app) if "copied" in n]
    return Path(said.split("its data files are in ")[1].split()[0])


def test_try_form_copy_of_a_call_too_large_to_show_copies_a_call_that_runs(zoo):
    """A call whose data is too large to show inline: ^y said "call copied" while the clipboard held only
    `# the call's data is too large to show here`. Now ^y writes the data to a temporary folder it names and
    copies the call that reads it."""
    import asyncio
    import shutil

    from tests.helpers import rendered, select_model, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=zoo.http_url, protocol="http"))
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await select_model(pilot, app, "mixed")
            await pilot.pause(0.2)
            await pilot.press("t")
            await wait_for(pilot, lambda: bool(app.screen.query("#shape-0")), 20, "the form")
            screen = app.screen
            screen.query_one("#shape-0").value = "100000"  # 800 KB of INT64 ids
            screen.query_one("#spec-2").value = "text:hi"
            await pilot.press("ctrl+r")
            call = screen.query_one("#call")
            await wait_for(
                pilot, lambda: "KiB" in rendered(call), 30, "the call", show=lambda: rendered(call)
            )
            assert "too large to show here: ^y writes its data to files" in rendered(call), rendered(call)
            folder = await _copy_call(pilot, app)
            try:
                assert app.clipboard.startswith("curl -s -X POST"), app.clipboard[:200]
                assert f"@{folder}/mixed.request.json" in app.clipboard
                ran = subprocess.run(["bash", "-c", app.clipboard], capture_output=True, timeout=60)
                assert ran.returncode == 0 and (folder / "mixed.response.bin").stat().st_size > 0
                assert str(folder) in rendered(call)  # what is shown is what was copied
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            await pilot.press("escape", "escape", "q")

    asyncio.run(scenario())


def test_try_form_perf_analyzer_call_writes_its_data_only_when_copied_and_never_into_the_cwd(
    zoo, tmp_path, monkeypatch
):
    """The perf_analyzer form of the call wrote its --input-data file into the current folder at every run
    (name.perf_analyzer.json, -2, -3, …). A run now writes nothing; ^y writes it into a temporary folder."""
    import asyncio
    import shutil
    import tempfile
    from pathlib import Path

    from tests.helpers import rendered, select_model, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions
    from triton_console.tui.core.request.showcall import SPILL_PREFIX

    cwd = tmp_path / "here"
    cwd.mkdir()
    monkeypatch.chdir(cwd)

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=zoo.grpc_url, protocol="grpc"))
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await select_model(pilot, app, "mixed")
            await pilot.pause(0.2)
            await pilot.press("t")
            await wait_for(pilot, lambda: bool(app.screen.query("#shape-0")), 20, "the form")
            screen = app.screen
            screen.query_one("#shape-0").value = "2"
            screen.query_one("#spec-2").value = "text:hi"
            screen.query_one("#form-call").value = "perf_analyzer"
            call = screen.query_one("#call")
            for _ in range(2):
                screen.focus_default()
                await pilot.press("ctrl+r")
                await wait_for(pilot, lambda: "perf_analyzer" in rendered(call), 30, "the call")
                assert list(cwd.iterdir()) == []
                shown = rendered(call)
                call.update("")
            assert "perf_analyzer reads its input data" in shown and "^y writes it" in shown, shown
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: "perf_analyzer" in rendered(call), 30, "the call")
            folder = await _copy_call(pilot, app)
            try:
                assert folder.parent == Path(tempfile.gettempdir()) and folder.name.startswith(SPILL_PREFIX)
                assert app.clipboard.startswith("perf_analyzer"), app.clipboard[:200]
                assert f"--input-data {folder}/mixed.perf_analyzer.json" in app.clipboard
                data = json.loads((folder / "mixed.perf_analyzer.json").read_text())
                assert data["data"][0]["NOTE"] == {"content": ["hi"], "shape": [1]}
                assert str(folder) in rendered(call)  # what is shown is what was copied
                assert list(cwd.iterdir()) == []
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            await pilot.press("escape", "escape", "q")

    asyncio.run(scenario())


def test_classify_pane_lists_every_image_classifier_and_its_path(zoo):
    import asyncio

    from tests.helpers import rendered, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    async def scenario():
        app = ConsoleApp(
            ConsoleOptions(url=zoo.http_url, protocol="http", start_dir=str(image("car.jpg").parent))
        )
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("4")
            pane = app.query_one("ClassifyPane")
            await wait_for(
                pilot, lambda: len(pane.routes) == 4, 30, "four image models", show=lambda: list(pane.routes)
            )
            assert sorted(pane.routes) == ["bytes_image", "chw_fp32", "hwc_fp16", "uint8_hwc"]
            pane.query_one("#model").value = "hwc_fp16"
            await pilot.pause(0.2)
            assert "NHWC 3x8x8" in rendered(pane.query_one("#route"))
            assert pane.query_one("#scaling").display
            pane.query_one("#scaling").value = "vgg"
            await pilot.pause(0.2)
            assert "scaling vgg" in rendered(pane.query_one("#route"))
            pane.classify([str(image("car.jpg"))])
            table = pane.query_one("#breakdown")
            await wait_for(pilot, lambda: table.row_count == 1, 20, "a result")
            assert "scaling vgg" in rendered(pane.query_one("#row-detail"))
            pane.query_one("#model").value = "bytes_image"
            await pilot.pause(0.2)
            assert not pane.query_one("#scaling").display
            pane.classify([str(image("vulture.jpeg"))])
            await wait_for(pilot, lambda: table.row_count == 2, 20, "a second result")
            detail = rendered(pane.query_one("#row-detail"))
            rgb = np.asarray(Image.open(image("vulture.jpeg")).convert("RGB"), dtype=np.float32).mean(
                axis=(0, 1)
            )
            best = int(np.argmax([rgb[0], rgb[1], rgb[2], 128.0]))
            assert visible(modelzoo.LABELS[best]) in detail  # the label file's markup, literally
            await pilot.press("q")

    asyncio.run(scenario())


def test_models_pane_shows_a_load_error_with_markup_literally(zoo):
    """A model whose initialize raises RuntimeError("boom [/] [bold red]FAKE READY[/] \\x1b[31m") (issue 17)."""
    import asyncio

    from tests.helpers import lines_of, rows, wait_for
    from triton_console.tui.app import ConsoleApp, ConsoleOptions

    async def scenario():
        app = ConsoleApp(ConsoleOptions(url=zoo.grpc_url, protocol="grpc"))
        async with app.run_test(size=(160, 30)) as pilot:
            await pilot.press("3")
            index = app.query_one("#index")
            await wait_for(pilot, lambda: "boom" in rows(index), 20, "the model list")
            assert rows(index)["boom"].startswith("UNAVAILABLE")
            index.move_cursor(row=index.get_row_index("boom"))
            detail = app.query_one("#detail-text")

            def words() -> str:  # the detail wraps (between FAKE and READY, too): compare words
                return " ".join(" ".join(lines_of(detail)).split())

            await wait_for(pilot, lambda: "FAKE READY" in words(), 10, "the reason in the detail")
            shown = words()
            assert "boom [/] [bold red]FAKE READY[/] \\x1b[31m" in shown
            await pilot.press("q")

    asyncio.run(scenario())


def test_infer_text_output_fits_the_screen(zoo):
    """`infer`'s first values were printed at full float64 precision: a 335-character line on an 80-column
    terminal. Now 6 significant digits, cut to the terminal (80 columns through a pipe, as argparse's help)."""
    res = run_cli("infer", "chw_fp32", *args(zoo, "grpc"), timeout=120)
    assert res.returncode == 0, res.stderr
    firsts = [ln for ln in res.stdout.splitlines() if ln.startswith("    first:")]
    assert firsts and all(len(ln) <= 100 for ln in firsts), firsts
