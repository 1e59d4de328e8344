#!/usr/bin/env bash
# Runs netgen-gpucheck against the fake CUDA device (fake_core.cpp, fake_cudnn.cpp): the CUDA driver, runtime,
# cuBLAS, cuDNN and NVRTC entry points NetGen binds, implemented on the CPU. So every generated CUDA path, its
# bindings, graphs and kernels run end to end in CI, which has no GPU, and are compared with the CPU path.
# What it cannot show is how the real libraries behave; docs/gpu.md keeps that list.
#
#   bash tests/FakeCuda/run.sh [gpucheck arguments]     (default: --quick); then the suites' CUDA tests (needs a Release build)
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v g++ > /dev/null; then
  echo "fake CUDA device: skipped: no g++ on PATH to build it"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
g++ -std=c++17 -O2 -Wall -Wextra -Werror -shared -fPIC tests/FakeCuda/fake_core.cpp tests/FakeCuda/fake_cudnn.cpp \
  -o "$work/libnetgen-fake-cuda.so" -ldl
# cuDNN 9's shim opens its sub-libraries by file name; the fake opens these two (CudaLibraries.Companions preloads them).
# graph needs ops, which the preload lists after it: it must retry.
g++ -std=c++17 -O2 -Wall -Wextra -Werror -shared -fPIC -DNETGEN_FAKE_SUBLIBRARY=netgen_fake_cudnn_ops \
  tests/FakeCuda/fake_cudnn_sublibrary.cpp -Wl,-soname,libcudnn_ops.so.9 -o "$work/libcudnn_ops.so.9"
g++ -std=c++17 -O2 -Wall -Wextra -Werror -shared -fPIC -DNETGEN_FAKE_SUBLIBRARY=netgen_fake_cudnn_graph \
  tests/FakeCuda/fake_cudnn_sublibrary.cpp -Wl,-soname,libcudnn_graph.so.9 -Wl,--no-as-needed "$work/libcudnn_ops.so.9" \
  -o "$work/libcudnn_graph.so.9"
# One library under every name NetGen looks for; symlinks, so the loader maps it once and its state is shared.
for name in libcuda.so.1 libcudart.so.13 libcublas.so.13 libcudnn.so.9 libnvrtc.so.13; do
  ln -s libnetgen-fake-cuda.so "$work/$name"
done

# The fake's convolutions are plain loops, so most zoo networks (VGG-16, GoogLeNet, the ResNets) are left to a real GPU
# (docs/gpu.md has a run by hand): --quick is every op network, LeNet-5, the generative and the recurrent networks and
# AlexNet (about three minutes on 2 cores).
[ "$#" -eq 0 ] && set -- --quick
# The NativeAOT binary, as it is carried to a GPU machine (benchmarks/gpu/run-device.sh): its bindings and resolver
# are what runs there.
dotnet publish examples/GpuCheck -c Release -r linux-x64 -o "$work/gpucheck" -nologo > "$work/publish.log" 2>&1 ||
  { cat "$work/publish.log"; exit 1; }
export NETGEN_CUDA_PATH="$work" NETGEN_CUDA_CACHE="$work/cache" NETGEN_FAKE_CUDA_WORK="$work"
# The fake NVRTC also compiles each network's kernels as CUDA device code with clang, against only what NVRTC declares
# without headers (compile-device.sh, nvrtc_builtins.h), where a clang with the NVPTX target is found (.ci/run installs one).
clang=$(bash tests/FakeCuda/find-clang.sh) && export NETGEN_FAKE_NVRTC_CLANG="$clang" \
  NETGEN_FAKE_NVRTC_COMPILE_DEVICE="$PWD/tests/FakeCuda/compile-device.sh" ||
  echo "fake NVRTC: device-code check skipped: no clang with the NVPTX target"
"$work/gpucheck/netgen-gpucheck" "$@"

# A GPU newer than this NVRTC knows (the fake NVRTC told it knows only sm_75 and sm_80, the device being sm_90): the
# kernels go to PTX for compute_80 (NvrtcTarget) and the check passes, saying so. A GPU older than everything it knows
# is not usable (CudaBackend.Unavailable, so Backend.Auto would fall back to the CPU): the check says so, with the
# range NVRTC knows, rather than NVRTC's "invalid option", and exits 3 as without a device.
check_nvrtc_target() {
  local archs=$1 expect=$2 want=$3 out status=0
  out=$(NETGEN_FAKE_NVRTC_ARCHS=$archs NETGEN_CUDA_CACHE="$work/cache-$archs" "$work/gpucheck/netgen-gpucheck" --only LeNet-5 2>&1) ||
    status=$?
  if [ "$status" -ne "$expect" ] || ! grep -qF "$want" <<< "$out"; then
    echo "$out"
    echo "fake NVRTC knowing only $archs: expected exit $expect and \"$want\", got exit $status" >&2
    exit 1
  fi
  echo "fake NVRTC knowing only $archs: exit $status, $(grep -F -m1 "$want" <<< "$out" | sed 's/^ *//')"
}
check_nvrtc_target 75,80 0 "does not know this GPU (sm_90); its kernels are compiled to PTX for compute_80"
check_nvrtc_target 100,120 3 "skipped: no CUDA device (NVRTC 99.0 cannot compile for this GPU (compute capability 9.0, sm_90)"

# The suites' GPU tests, which say "skipped: no CUDA device" without one, run here too (built by dotnet test before).
for project in tests/NetGen.Runtime.Tests tests/NetGen.Integration.Tests; do
  echo "== $project, CUDA tests on the fake device"
  dotnet test "$project" -c Release --no-build --filter "FullyQualifiedName~Cuda"
done
