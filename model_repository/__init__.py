"""The models the console builds, laid out as a Triton model repository reads.

Each Python-backend model is a folder with ``1/model.py`` (copied as is into a generated repository, where
it runs inside Triton's Python backend stub; never imported here):

- ``preprocess/``: image file bytes -> FP32 [3,224,224] (the console's one decoder, installed beside it)
- ``backbone_onnxruntime/``, ``backbone_torch/``: FP32 [3,224,224] -> logits [1000] (Python-backend flavours;
  the onnxruntime backend and TensorRT flavours need no code, only the file ``build`` exports)
- ``postprocess/``: logits -> probabilities
- ``fused/``: file bytes -> probabilities in one model (decode, backbone and softmax in one process)

``triton_console_runtime.py`` is what those models share (installed beside each ``model.py``), and
``configs.py`` builds every model's ``config.pbtxt``, the ensemble's included. ``triton-console build`` adds
the backbone's exported file (``model.onnx``, ``model.pt``, ``model.plan``) and the ImageNet ``labels.txt``.
"""
