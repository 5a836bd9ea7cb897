#!/usr/bin/env bash
# Builds rtlm's Python module on a GPU machine that has PyTorch, pybind11 and a C++ compiler but
# not rtlm's header-only dependencies, then runs examples/gpu_host.py (or the Python script given
# first) with --out $OUT. RTLM_DEPS points at a copy of the Eigen, {fmt} and Boost headers the
# module includes (docs/gpu-results.md says how it was made).
# Usage: RTLM_DEPS=DIR OUT=DIR bash benchmarks/gpu/run_host.sh [SCRIPT.py] [the script's options]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import torch, pybind11; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'pybind11', pybind11.__version__)"
c++ --version | head -1
suffix=$(python3 -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
build=${RTLM_MODULE_DIR:-$(mktemp -d)}
if [ ! -f "$build/rtlm$suffix" ]; then
  mkdir -p "$build"
  start=$SECONDS
  c++ -O2 -std=c++20 -shared -fPIC -DRTLM_HEADER_ONLY -DFMT_HEADER_ONLY -w -Iinclude \
    -I"$RTLM_DEPS/include" -I"$RTLM_DEPS/include/eigen3" $(python3 -m pybind11 --includes) \
    src/python/rtlm_python.cpp -o "$build/rtlm$suffix"
  echo "built the rtlm module in $((SECONDS - start)) s"
fi
script=examples/gpu_host.py
case "${1:-}" in *.py) script=$1; shift ;; esac
PYTHONPATH="$build" PYTHONUNBUFFERED=1 python3 "$script" --out "$OUT" "$@"
