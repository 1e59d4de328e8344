#!/usr/bin/env bash
# Installs the peers the benchmarks compare against (Debian 12 packages): OpenBLAS 0.3.21
# (pthread build) for SGEMM. Run as root; the benchmarks detect it and say where they found it.
set -euo pipefail
if [ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0 ]; then
  echo "OpenBLAS (pthread) already installed"
  exit 0
fi
apt-get update -qq
apt-get install -y -qq libopenblas0-pthread
echo "installed: $(dpkg -s libopenblas0-pthread | grep '^Version')"
