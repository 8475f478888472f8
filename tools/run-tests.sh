#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install, build, and run every
# test (short fuzz runs of the policy parser and the DNS decoder, then unit, kernel and e2e
# tests through ctest). Kernel and e2e tests need root and BPF.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "run as root: the kernel and e2e tests load BPF programs" >&2; exit 1; }
tools/install-deps.sh
tools/build.sh
echo "== policy parser fuzzing (libFuzzer + ASan, ${VIGIL_FUZZ_SECONDS:-15} s)"
tools/fuzz-policies.sh "${VIGIL_FUZZ_SECONDS:-15}" 2>&1 | tail -n 3
echo "== DNS decoder fuzzing (libFuzzer + ASan, ${VIGIL_DNS_FUZZ_SECONDS:-5} s)"
tools/fuzz-dns.sh "${VIGIL_DNS_FUZZ_SECONDS:-5}" 2>&1 | tail -n 3
echo "== unit, kernel and e2e tests"
cd build
ctest --output-on-failure --timeout 600 "$@"
