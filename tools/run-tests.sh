#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install, build, and run every
# test (unit, kernel, e2e). Kernel and e2e tests need root and BPF.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "run as root: the kernel and e2e tests load BPF programs" >&2; exit 1; }
tools/install-deps.sh
tools/build.sh
cd build
ctest --output-on-failure --timeout 600 "$@"
