#!/usr/bin/env bash
# Installs the peers the benchmarks compare against (Debian 12 packages): OpenBLAS 0.3.21 (pthread build) for SGEMM,
# and PyTorch 1.13 (python3-torch) for benchmarks/peers/*.py. Run as root; installs only what is missing. The
# benchmarks detect OpenBLAS and say where they found it; CI installs neither (these are measurements, not tests).
set -euo pipefail
missing=()
for package in libopenblas0-pthread python3-torch; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "peers already installed: libopenblas0-pthread, python3-torch"
  exit 0
fi
apt-get update -qq
apt-get install -y -qq "${missing[@]}"
for package in "${missing[@]}"; do
  echo "installed: $package $(dpkg -s "$package" | sed -n 's/^Version: //p')"
done
