"""perf_analyzer's --input-data for BYTES that are not text (encoded images): perf_analyzer sends ``b64``
data as the tensor's wire bytes, so each element needs Triton's 4-byte length before it (found on the H200:
without it the server read a JPEG's first bytes as a length, "expecting string of length 3774863615")."""

from __future__ import annotations

import base64
import struct
from types import SimpleNamespace

import numpy as np

from triton_console.tui.core.request.showcall import input_data


def test_binary_bytes_travel_length_prefixed():
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    arr = np.empty((1, 1), dtype=np.object_)
    arr[0, 0] = jpeg
    entry, dims = input_data([SimpleNamespace(name="IMAGES", array=arr)], batched=True)
    wire = base64.b64decode(entry["IMAGES"]["b64"])
    assert wire == struct.pack("<I", len(jpeg)) + jpeg
    assert entry["IMAGES"]["shape"] == [1] and dims == {"IMAGES": (1,)}


def test_text_bytes_stay_json_strings():
    arr = np.array([[b"hello"]], dtype=np.object_)
    entry, _ = input_data([SimpleNamespace(name="T", array=arr)], batched=True)
    assert entry["T"] == {"content": ["hello"], "shape": [1]}
