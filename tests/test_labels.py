"""Labels on the generated models' outputs, as clients of Triton's classification extension read them.

Triton's own ``image_client.py`` (triton-inference-server/client, src/python/examples/image_client.py) is
the example most users try first. Its model check, its preprocess and its postprocess are reproduced below
from that file (written out, not copied): the postprocess takes each ``class_count`` answer apart as
``score:index:label`` and reads ``cls[2]``, so a model whose output has no ``label_filename`` (the server
then answers ``score:index``) makes it fail with an IndexError.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.conftest import image
from triton_console.common.labels import imagenet_labels

pytestmark = pytest.mark.server

BACKBONE = "efficientnet_lite0_ort"  # the conftest repository's backbone (ImageNet weights)
FUSED = "fused_python_efficientnet_lite0"


def parse_model(metadata, config):
    """image_client.py's ``parse_model`` (gRPC objects): one input of 3 dims besides the batch, NCHW or NHWC,
    one FP32 vector output; returns what its preprocess needs."""
    from tritonclient.grpc import model_config_pb2 as mc

    assert len(metadata.inputs) == 1 and len(metadata.outputs) == 1 and len(config.input) == 1
    inp, out, cfg_in = metadata.inputs[0], metadata.outputs[0], config.input[0]
    assert out.datatype == "FP32"
    batched = config.max_batch_size > 0
    assert len(inp.shape) == 3 + batched
    assert cfg_in.format in (mc.ModelInput.FORMAT_NCHW, mc.ModelInput.FORMAT_NHWC), "image_client refuses it"
    dims = list(inp.shape[1:] if batched else inp.shape)
    c, h, w = dims if cfg_in.format == mc.ModelInput.FORMAT_NCHW else (dims[2], dims[0], dims[1])
    return config.max_batch_size, inp.name, out.name, c, h, w, cfg_in.format, inp.datatype


def preprocess(img: Image.Image, fmt: int, dtype: str, c: int, h: int, w: int, scaling: str) -> np.ndarray:
    """image_client.py's ``preprocess``: RGB (or L), a bilinear resize to (w, h) without a crop, the scaling
    it names, CHW for NCHW."""
    from tritonclient.grpc import model_config_pb2 as mc
    from tritonclient.utils import triton_to_np_dtype

    resized = np.array((img.convert("L") if c == 1 else img.convert("RGB")).resize((w, h), Image.BILINEAR))
    if resized.ndim == 2:
        resized = resized[:, :, np.newaxis]
    npdtype = triton_to_np_dtype(dtype)
    typed = resized.astype(npdtype)
    if scaling == "INCEPTION":
        scaled = (typed / 127.5) - 1
    elif scaling == "VGG":
        scaled = typed - np.asarray((128,) if c == 1 else (123, 117, 104), dtype=npdtype)
    else:
        scaled = typed
    return np.transpose(scaled, (2, 0, 1)) if fmt == mc.ModelInput.FORMAT_NCHW else scaled


def postprocess(output_array: np.ndarray, batch_size: int, supports_batching: bool) -> list[list[list[str]]]:
    """image_client.py's ``postprocess``, returning what it prints (``cls[0] (cls[1]) = cls[2]``) per image."""
    if supports_batching:
        assert len(output_array) == batch_size
    printed = []
    for results in output_array:
        rows = []
        for result in [results] if not supports_batching else results:
            if output_array.dtype.type == np.object_:
                cls = "".join(chr(x) for x in result).split(":")
            else:
                cls = result.split(":")
            rows.append([cls[0], cls[1], cls[2]])  # cls[2]: the IndexError without labels
        printed.append(rows)
    return printed


@pytest.mark.parametrize("scaling", ["INCEPTION", "VGG", "NONE"])
def test_image_client_classifies_with_the_generated_backbone(server, scaling):
    """image_client.py's steps over gRPC, two images in one batch, top 3: every answer has its label, and
    the label is the ImageNet name of its index."""
    import tritonclient.grpc as grpcclient

    client = grpcclient.InferenceServerClient(server.grpc_url)
    try:
        metadata = client.get_model_metadata(BACKBONE)
        config = client.get_model_config(BACKBONE).config
        max_batch, input_name, output_name, c, h, w, fmt, dtype = parse_model(metadata, config)
        assert (c, h, w) == (3, 224, 224)
        batch = np.stack(
            [preprocess(Image.open(image(n)), fmt, dtype, c, h, w, scaling) for n in ("mug.jpg", "car.jpg")]
        )
        inputs = [grpcclient.InferInput(input_name, list(batch.shape), dtype)]
        inputs[0].set_data_from_numpy(batch)
        outputs = [grpcclient.InferRequestedOutput(output_name, class_count=3)]
        result = client.infer(BACKBONE, inputs, outputs=outputs)
    finally:
        client.close()
    printed = postprocess(result.as_numpy(output_name), 2, max_batch > 0)
    names = imagenet_labels()
    assert len(printed) == 2
    for rows in printed:
        assert len(rows) == 3
        scores = [float(score) for score, _, _ in rows]
        assert scores == sorted(scores, reverse=True)
        for _, index, label in rows:
            assert label == names[int(index)]


@pytest.mark.parametrize("protocol", ["grpc", "http"])
@pytest.mark.parametrize("model", [FUSED, "ensemble_python_efficientnet_lite0"])
def test_image_bytes_models_answer_score_index_label(server, protocol, model):
    """The fused model and the ensemble take file bytes; their classification answers carry the label too
    (the mug, with the packaged ImageNet weights, is 504 coffee mug)."""
    import tritonclient.grpc as grpcclient
    import tritonclient.http as httpclient

    mod = grpcclient if protocol == "grpc" else httpclient
    client = mod.InferenceServerClient(server.grpc_url if protocol == "grpc" else server.http_url)
    data = np.frombuffer(image("mug.jpg").read_bytes(), dtype=np.uint8)[np.newaxis]
    inputs = [mod.InferInput("INPUT", list(data.shape), "UINT8")]
    inputs[0].set_data_from_numpy(data)
    try:
        result = client.infer(model, inputs, outputs=[mod.InferRequestedOutput("OUTPUT", class_count=1)])
    finally:
        client.close()
    ((score, index, label),) = postprocess(result.as_numpy("OUTPUT"), 1, True)[0]
    assert (int(index), label) == (504, "coffee mug") and 0 < float(score) <= 1
