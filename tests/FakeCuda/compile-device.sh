#!/usr/bin/env bash
# Compiles NetGen's generated CUDA C as device code, as NVRTC compiles it on a GPU machine, but with clang and no GPU:
#
#   bash tests/FakeCuda/compile-device.sh CLANG KERNELS.cu OUT.ptx      (CLANG from find-clang.sh)
#
# No CUDA headers: only what NVRTC declares for a program without #includes (nvrtc_builtins.h, next to this script).
# The options are those NetGen gives NVRTC (--std=c++17, no FMA contraction), with warnings as errors, but for unused
# static helpers: a network gets a helper group whole (pooling's window, bin and argmax helpers) and may use part of
# it. sm_80 is the newest architecture clang 14 knows; the check is of the language and the declarations, not of the
# device. Used by tests/NetGen.Generator.Tests/CudaDeviceCompileTests.cs and the fake NVRTC (fake_core.cpp).
set -euo pipefail
[ "$#" -eq 3 ] || { echo "usage: compile-device.sh CLANG KERNELS.cu OUT.ptx" >&2; exit 2; }
exec "$1" -x cuda --cuda-device-only --cuda-gpu-arch=sm_80 -nocudainc -nocudalib -std=c++17 -ffp-contract=off \
  -Wall -Wno-unused-function -Werror -include "$(dirname "$0")/nvrtc_builtins.h" -S -o "$3" "$2"
