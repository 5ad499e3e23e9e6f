"""The onnxruntime backbone's ``ort_spinning`` / ``ort_spin_us`` parameters, as the generated Python models read
them (the runtime installed beside model.py, imported by path), on a real onnxruntime session of a small ONNX
model: what each value turns into, which session answers a single image and which a batch ("lone"), and that
every mode answers the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import model_runtime

SPIN = "session.intra_op.allow_spinning"
STOP = "session.force_spinning_stop"
WINDOW = "session.intra_op.spin_duration_us"


@pytest.fixture(scope="module")
def runtime():
    return model_runtime()


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory):
    """input [-1, 64] FP32 -> output [-1, 1000]: a MatMul with fixed weights and a Relu."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.random.default_rng(3).standard_normal((64, 1000)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "w"], ["mm"]), helper.make_node("Relu", ["mm"], ["output"])],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 64])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, 1000])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path_factory.mktemp("ort") / "model.onnx"
    onnx.save(model, path)
    return str(path)


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        ("true", True),
        ("", True),
        (None, True),
        ("false", False),
        ("FALSE", False),
        ("run", "run"),
        ("lone", "lone"),
        (" Lone ", "lone"),
        ("anything else", True),
    ],
)
def test_spinning_values(runtime, value, mode):
    assert runtime.spinning_of(value) == mode


@pytest.mark.parametrize(
    ("value", "default", "n"),
    [("0", 0, 0), ("", 0, 0), (None, 500, 500), ("", 500, 500), ("3000", 0, 3000), (" 250 ", 0, 250)]
    + [("-5", 0, 0), ("2ms", 500, 500)],
)
def test_count_parameters(runtime, value, default, n):
    """ort_spin_us (0: onnxruntime's own window) and ort_load_window_ms (500 unless set)."""
    assert runtime.uint_of(value, default) == n


def _entry(session, key):
    """A session's config entry as onnxruntime holds it, None where it was never set."""
    try:
        return session.get_session_options().get_session_config_entry(key)
    except RuntimeError:  # "SessionOptions does not have configuration with key: ..."
        return None


def test_lone_runs_lone_images_on_a_spinning_session_and_the_rest_on_one_that_never_spins(runtime, onnx_file):
    runner = runtime.OrtRunner(onnx_file, spinning=runtime.spinning_of("lone"), load_window_ms=60_000)
    plain = runtime.OrtRunner(onnx_file)
    # the lone-image session spins after a run (onnxruntime's default), the other never spins
    assert _entry(runner.session, SPIN) is None
    assert _entry(runner.batch_session, SPIN) == "0"
    assert runner.batch_session is not runner.session
    assert "spin after lone images" in runner.description

    x = np.random.default_rng(0).standard_normal((5, 64)).astype(np.float32)
    assert np.array_equal(runner.forward([x[:1]]), plain.forward([x[:1]]))
    assert np.array_equal(runner.forward([x[1:2]]), plain.forward([x[1:2]]))
    assert (runner.lone_runs, runner.batch_runs) == (2, 0)
    # several requests of one image each (a dynamic batch), or one request of several rows: load
    assert np.array_equal(runner.forward([x[:1], x[1:2], x[2:]]), plain.forward([x]))
    assert np.array_equal(runner.forward([x[1:3]]), plain.forward([x[1:3]]))
    assert (runner.lone_runs, runner.batch_runs) == (2, 2)
    # a single image within the load window of a batch: still load (it does not spin)
    assert np.array_equal(runner.forward([x[4:]]), plain.forward([x[4:]]))
    assert (runner.lone_runs, runner.batch_runs) == (2, 3)


def test_lone_images_spin_again_once_the_load_window_has_passed(runtime, onnx_file):
    runner = runtime.OrtRunner(onnx_file, spinning="lone", load_window_ms=0)
    x = np.ones((2, 64), np.float32)
    runner.forward([x])
    runner.forward([x[:1]])
    assert (runner.lone_runs, runner.batch_runs) == (1, 1)


@pytest.mark.parametrize(
    ("value", "spin", "stop"), [("true", None, None), ("false", "0", None), ("run", None, "1")]
)
def test_one_session_modes_are_unchanged(runtime, onnx_file, value, spin, stop):
    """The fused layout's and the other values' single session: the same options as before "lone" existed."""
    runner = runtime.OrtRunner(onnx_file, spinning=runtime.spinning_of(value))
    assert _entry(runner.session, SPIN) == spin and _entry(runner.session, STOP) == stop
    assert _entry(runner.session, WINDOW) is None
    assert runner.batch_session is runner.session
    x = np.ones((2, 64), np.float32)
    assert np.array_equal(runner.forward([x]), runtime.OrtRunner(onnx_file).forward([x]))


def test_spin_window_goes_to_the_spinning_sessions_only(runtime, onnx_file):
    lone = runtime.OrtRunner(onnx_file, spinning="lone", spin_us=3000)
    assert _entry(lone.session, WINDOW) == "3000"
    assert _entry(lone.batch_session, WINDOW) is None
    assert "for 3000 µs" in lone.description
    never = runtime.OrtRunner(onnx_file, spinning=False, spin_us=3000)
    assert _entry(never.session, WINDOW) is None
