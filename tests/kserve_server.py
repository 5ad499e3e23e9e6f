"""A real non-Triton v2 peer for the tests: KServe's own ModelServer with two small numpy models.

``python -m tests.kserve_server --http-port P --grpc-port Q [--certfile F --keyfile K]``

- ``doubler``: FP32 [-1, 4] → FP32 ``OUTPUT`` = 2·x (a model that is not an image classifier);
- ``tiny_classifier``: FP32 [-1, 3, 4, 4] → FP32 [-1, 5] scores = channel means and 0.5/0.25 (a tensor-input
  image classifier: the console prepares the image and takes top-k on its side, since KServe has no
  classification extension).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--grpc-port", type=int, required=True)
    ap.add_argument("--certfile")
    ap.add_argument("--keyfile")
    args = ap.parse_args()
    sys.argv = sys.argv[:1]  # kserve parses sys.argv itself on import

    from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer

    class Doubler(Model):
        def __init__(self, name: str) -> None:
            super().__init__(name)
            self.ready = True

        def get_input_types(self):
            return [{"name": "INPUT", "datatype": "FP32", "shape": [-1, 4]}]

        def get_output_types(self):
            return [{"name": "OUTPUT", "datatype": "FP32", "shape": [-1, 4]}]

        async def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
            x = payload.inputs[0].as_numpy().astype(np.float32)
            out = InferOutput(name="OUTPUT", shape=list(x.shape), datatype="FP32")
            out.set_data_from_numpy(x * 2, binary_data=False)
            return InferResponse(model_name=self.name, infer_outputs=[out], response_id=payload.id or "0")

    class TinyClassifier(Model):
        def __init__(self, name: str) -> None:
            super().__init__(name)
            self.ready = True

        def get_input_types(self):
            return [{"name": "IMAGE", "datatype": "FP32", "shape": [-1, 3, 4, 4]}]

        def get_output_types(self):
            return [{"name": "SCORES", "datatype": "FP32", "shape": [-1, 5]}]

        async def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
            x = payload.inputs[0].as_numpy().astype(np.float32)
            means = x.mean(axis=(2, 3))
            scores = np.concatenate([means, np.full((x.shape[0], 2), [0.5, 0.25], np.float32)], axis=1)
            out = InferOutput(name="SCORES", shape=list(scores.shape), datatype="FP32")
            out.set_data_from_numpy(scores.astype(np.float32), binary_data=False)
            return InferResponse(model_name=self.name, infer_outputs=[out], response_id=payload.id or "0")

    server = ModelServer(
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        enable_docs_url=False,
        ssl_certfile=args.certfile,
        ssl_keyfile=args.keyfile,
    )
    server.start([Doubler("doubler"), TinyClassifier("tiny_classifier")])


if __name__ == "__main__":
    main()
