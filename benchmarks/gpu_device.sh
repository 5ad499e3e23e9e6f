#!/usr/bin/env bash
# Run the GPU benchmark on the lent machine (no network there): everything it lacks travels in .carry/
# (built here by benchmarks/make_carry.sh). Arguments go to benchmarks/gpu.py; results go to $OUT
# (gpu.json, perf_analyzer.csv, the server logs' tail on failure).
set -euo pipefail
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
# TC_GPU_ROOT: where the carried files unpack (/tmp on the device; another folder for a dry run elsewhere)
R=${TC_GPU_ROOT:-/tmp}
SITE=$R/site
if [ ! -x "$SITE/pytriton/tritonserver/bin/tritonserver" ]; then
    mkdir -p "$SITE" "$R/stubsite"
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" .carry/whl/*.whl
    tar -xJf .carry/tritonserver.tar.xz -C "$SITE"
    # The bundled Python backend needs numpy<2; the device image has numpy 2: give the stub its own.
    tar -xJf .carry/stubnumpy.tar.xz -C "$R/stubsite"
fi
# nvImageCodec (optional): only its core, the Python module and the nvJPEG extension, with libnvjpeg
STUBSITE=$R/stubsite
if [ -f .carry/nvimgcodec.tar.xz ]; then
    mkdir -p "$R/nvimg" && tar -xJf .carry/nvimgcodec.tar.xz -C "$R/nvimg"
    STUBSITE="$STUBSITE:$R/nvimg"
    SITE="$SITE:$R/nvimg"
fi
mkdir -p "$R/tools/bin" "$R/tools/cudart"
if [ -f .carry/tools/perf_analyzer.xz ] && [ ! -x "$R/tools/bin/perf_analyzer" ]; then
    xz -dc .carry/tools/perf_analyzer.xz > "$R/tools/bin/perf_analyzer" && chmod +x "$R/tools/bin/perf_analyzer"
fi
shopt -s nullglob
spy=(.carry/tools/py_spy-*.whl)
if [ ${#spy[@]} -gt 0 ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$R/tools" "${spy[@]}"
fi
# perf_analyzer dlopens libcudart.so (unversioned) for --shared-memory cuda: point it at torch's runtime
cudart=$(python3 -c 'import glob, os, nvidia.cuda_runtime as m; print((sorted(glob.glob(os.path.join(list(m.__path__)[0], "lib", "libcudart.so*"))) or [""])[0])' 2>/dev/null || true)
if [ -n "$cudart" ]; then ln -sf "$cudart" "$R/tools/cudart/libcudart.so"; fi
export LD_LIBRARY_PATH="$R/tools/cudart${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$R/tools/bin:$PATH"
export TRITON_CONSOLE_STUB_SITE=$STUBSITE
export PYTHONPATH="$SITE:$PWD"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
perf_analyzer --version 2>/dev/null | head -2 || echo "perf_analyzer: not carried"
python3 -m benchmarks.gpu --images .carry/images --out "$OUT" "$@"
