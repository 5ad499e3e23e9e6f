"""The backbone's tensor contract (names, image size, classes), shared without torch.

`engine` builds a TensorRT plan from an ONNX file and needs these names, not torch (1.5 s to import).
"""

from __future__ import annotations

INPUT_NAME = "input"
OUTPUT_NAME = "output"
IMAGE_SIZE = 224
NUM_CLASSES = 1000
