#!/usr/bin/env bash
# The GPU check on a machine with an NVIDIA GPU, CUDA, cuDNN and PyTorch but no .NET. Publish first, where .NET is:
#
#   dotnet publish examples/GpuCheck -c Release -r linux-x64 -o artifacts/gpucheck
#
# then, on the GPU machine, from the repository root (with artifacts/gpucheck copied along):
#
#   bash benchmarks/gpu/run-device.sh [output folder [netgen-gpucheck options, e.g. --quick]]
#
# It lists the CUDA libraries it finds, points NETGEN_CUDA_PATH at the Python wheels' library folders (NetGen also
# finds them by itself; this makes the choice visible), runs netgen-gpucheck (parity table, then timings) and the
# PyTorch eager reference (benchmarks/gpu/torch_reference.py) one after the other, and keeps both outputs.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:-${OUT:-artifacts/gpu-run}}
[ "$#" -gt 0 ] && shift
mkdir -p "$out"

{
  date -u '+%Y-%m-%d %H:%M UTC'
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  # the NativeAOT binary needs glibc 2.34 or later (Ubuntu 22.04, Debian 12)
  ldd --version 2>&1 | head -1
  echo "libraries found:"
  find / \( -name 'libcudnn.so*' -o -name 'libcublas.so*' -o -name 'libcudart.so*' -o -name 'libnvrtc.so*' -o -name 'libcuda.so*' \) \
    -not -path '/proc/*' 2>/dev/null | sort | head -40
} | tee "$out/machine.txt"

# The library folders of PyTorch's own CUDA wheels (one consistent set: mixing a wheel's cuDNN with another install's
# sub-libraries fails), or of every site-packages when PyTorch is not there.
wheels=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
try:
    import torch
    roots = [os.path.dirname(os.path.dirname(torch.__file__))]
except Exception:
    roots = site.getsitepackages() + [site.getusersitepackages()]
folders = []
for s in roots:
    folders += sorted(glob.glob(s + "/nvidia/*/lib"))
print(":".join(folders))
PY
)
export NETGEN_CUDA_PATH="${NETGEN_CUDA_PATH:+$NETGEN_CUDA_PATH:}$wheels"
echo "NETGEN_CUDA_PATH=$NETGEN_CUDA_PATH" | tee -a "$out/machine.txt"

status=0
chmod +x artifacts/gpucheck/netgen-gpucheck 2>/dev/null   # in case the copy lost the mode
artifacts/gpucheck/netgen-gpucheck "$@" 2>&1 | tee "$out/gpucheck.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
# NetGen finds the libraries by itself (that is what the run above checks). If loading is what failed, run again with
# the folders on LD_LIBRARY_PATH, so the rest of the check still gets measured; the first output says what went wrong.
if [ "$status" -ne 0 ] && grep -q 'SUBLIBRARY_LOADING_FAILED\|could not load the NVIDIA' "$out/gpucheck.txt"; then
  echo "== library loading failed: again with LD_LIBRARY_PATH=$NETGEN_CUDA_PATH" | tee "$out/gpucheck-ld.txt"
  status=0
  LD_LIBRARY_PATH="$NETGEN_CUDA_PATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" artifacts/gpucheck/netgen-gpucheck "$@" 2>&1 | tee -a "$out/gpucheck-ld.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi
python3 benchmarks/gpu/torch_reference.py 2>&1 | tee "$out/torch.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
exit "$status"
