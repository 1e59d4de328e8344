#!/usr/bin/env bash
# Process start to first prediction of the NativeAOT netgen-lenet5 (the deployment issue's target: < 30 ms).
# Publishes examples/LeNet5.Infer, trains a LeNet-5 for one epoch for its weights, then runs the binary
# RUNS times on the first digit of the bundled IDX test file (gzipped) and prints the median and fastest wall-clock time of the whole process (start, load weights,
# decode the input, predict, print, exit), measured by python3's perf_counter around each run.
#   bash benchmarks/aot-startup.sh [RUNS]     (default 30)
set -euo pipefail
runs="${1:-30}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dotnet publish "$root/examples/LeNet5.Infer" -c Release -r linux-x64 -o "$work/aot" -nologo -v q >/dev/null
dotnet run -c Release --project "$root/examples/LeNet5" -- --epochs 1 --out "$work/lenet5.safetensors" >/dev/null
digits="$root/data/mnist/t10k-images-idx3-ubyte.gz"
echo "binary: $(stat -c %s "$work/aot/netgen-lenet5") bytes; digits: $digits"
python3 - "$work/aot/netgen-lenet5" "$work/lenet5.safetensors" "$digits" "$runs" <<'PY'
import statistics, subprocess, sys, time
binary, weights, digits, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cmd = [binary, digits, "--weights", weights, "--count", "1"]
subprocess.run(cmd, check=True, capture_output=True)          # warm the page cache once
times = []
for _ in range(runs):
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    times.append((time.perf_counter() - t) * 1000)
print("first prediction:", out.stdout.strip().splitlines()[0])
print(f"process start to exit, {runs} runs: median {statistics.median(times):.1f} ms, fastest {min(times):.1f} ms, slowest {max(times):.1f} ms")
PY
