#!/usr/bin/env bash
# Installs emot5's build dependencies from Debian 12's packages and builds into build/.
# Runs as root or through sudo. Safe to run again: apt and the build are incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
PACKAGES=(g++ cmake ninja-build pkg-config python3
  libdnnl-dev libsentencepiece-dev nlohmann-json3-dev libcli11-dev libboost-dev
  libgtest-dev libgmock-dev libbenchmark-dev libtorch-dev libopenblas0-openmp
  python3-dev pybind11-dev python3-pybind11 python3-venv python3-pip python3-setuptools python3-wheel
  python3-numpy python3-pandas python3-dask python3-distributed)
# The python3-* packages build and test the Python package (python/, pyproject.toml) with Debian's
# /usr/bin/python3: `pip install --no-build-isolation .` needs no network.
# libopenblas0-openmp gives libtorch an optimized BLAS (without it Debian falls back to the
# reference BLAS, about 20 times slower for training).
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
