"""The seed-style one-shot client make bench times ``triton-console classify IMAGE`` against: tritonclient,
Pillow and numpy only, one image's bytes as UINT8 [1, N] to ``INPUT``, the top 5 from the classification
extension printed.

    python benchmarks/seed_client.py URL MODEL IMAGE
"""

import sys

import numpy as np
import tritonclient.grpc as grpcclient
from PIL import Image


def main(url: str, model: str, path: str) -> None:
    with Image.open(path) as img:  # the seed's client checks it is an image before sending it
        img.verify()
    data = np.fromfile(path, dtype=np.uint8).reshape(1, -1)
    client = grpcclient.InferenceServerClient(url)
    inp = grpcclient.InferInput("INPUT", list(data.shape), "UINT8")
    inp.set_data_from_numpy(data)
    out = grpcclient.InferRequestedOutput("OUTPUT", class_count=5)
    result = client.infer(model, [inp], outputs=[out])
    for line in result.as_numpy("OUTPUT").reshape(-1):
        score, index, *label = line.decode().split(":")
        print(f"{label[0] if label else ''} ({float(score):.3f})  #{index}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
