#!/usr/bin/env bash
# Installs the Debian 12 packages tapegrad builds with (as root). Skips apt when they are all present.
set -euo pipefail
pkgs=(cmake g++ make libeigen3-dev libopenblas-dev catch2 libbenchmark-dev libcli11-dev nlohmann-json3-dev
      libfmt-dev libfast-float-dev libsleef-dev openmpi-bin libopenmpi-dev doxygen
      clang libclang-rt-14-dev)  # clang and its runtimes (libFuzzer, sanitizers): scripts/fuzz.sh
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
