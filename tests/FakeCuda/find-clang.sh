#!/usr/bin/env bash
# Prints a clang that can compile CUDA device code (it has the NVPTX target): NETGEN_CLANG, else clang, else the
# newest clang-NN on PATH. Exits 1, printing nothing, when there is none. Used by run.sh (the fake NVRTC's device-code
# check) and tests/NetGen.Generator.Tests/CudaDeviceCompileTests.cs.
set -uo pipefail
candidates=()
[ -n "${NETGEN_CLANG:-}" ] && candidates+=("$NETGEN_CLANG")
command -v clang > /dev/null && candidates+=("$(command -v clang)")
while IFS= read -r name; do candidates+=("$name"); done < <(compgen -c clang- | grep -E '^clang-[0-9]+$' | sort -t- -k2 -nr -u)
for candidate in "${candidates[@]}"; do
  if "$candidate" -print-targets 2> /dev/null | grep -q nvptx64; then
    command -v "$candidate"
    exit 0
  fi
done
exit 1
