#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install, build, and run the
# sensor with policies/default.yaml, printing events as a table.
# Extra arguments go to vigil (e.g. -o json).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "run as root (vigil loads BPF programs; it drops what it does not need)" >&2; exit 1; }
tools/install-deps.sh
tools/build.sh
exec ./build/vigil "$@"
