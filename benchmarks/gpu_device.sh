#!/usr/bin/env bash
# Run the GPU benchmark on the lent machine (no network there): everything it lacks travels in .carry/
# (built here by benchmarks/make_carry.sh). Arguments go to benchmarks/gpu.py; results go to $OUT
# (gpu.json, perf_analyzer.csv, the server logs' tail on failure).
set -euo pipefail
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
SITE=/tmp/site
if [ ! -x "$SITE/pytriton/tritonserver/bin/tritonserver" ]; then
    mkdir -p "$SITE" /tmp/stubsite
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" .carry/whl/*.whl
    tar -xJf .carry/tritonserver.tar.xz -C "$SITE"
    # The bundled Python backend needs numpy<2; the device image has numpy 2: give the stub its own.
    tar -xJf .carry/stubnumpy.tar.xz -C /tmp/stubsite
fi
mkdir -p /tmp/tools/bin /tmp/tools/cudart
if [ -f .carry/tools/perf_analyzer.xz ] && [ ! -x /tmp/tools/bin/perf_analyzer ]; then
    xz -dc .carry/tools/perf_analyzer.xz > /tmp/tools/bin/perf_analyzer && chmod +x /tmp/tools/bin/perf_analyzer
fi
shopt -s nullglob
spy=(.carry/tools/py_spy-*.whl)
if [ ${#spy[@]} -gt 0 ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/tools "${spy[@]}"
fi
# perf_analyzer dlopens libcudart.so (unversioned) for --shared-memory cuda: point it at torch's runtime
cudart=$(python3 -c 'import glob, os, nvidia.cuda_runtime as m; print((sorted(glob.glob(os.path.join(list(m.__path__)[0], "lib", "libcudart.so*"))) or [""])[0])' 2>/dev/null || true)
if [ -n "$cudart" ]; then ln -sf "$cudart" /tmp/tools/cudart/libcudart.so; fi
export LD_LIBRARY_PATH="/tmp/tools/cudart${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="/tmp/tools/bin:$PATH"
export TRITON_CONSOLE_STUB_SITE=/tmp/stubsite
export PYTHONPATH="$SITE:$PWD"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
perf_analyzer --version 2>/dev/null | head -2 || echo "perf_analyzer: not carried"
python3 -m benchmarks.gpu --images .carry/images --out "$OUT" "$@"
