#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install, build, and run every
# test (short fuzz runs of the policy parser, the DNS decoder and the record decoder, then unit, kernel and e2e
# tests through ctest). Kernel and e2e tests need root and BPF.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "run as root: the kernel and e2e tests load BPF programs" >&2; exit 1; }
tools/install-deps.sh
tools/build.sh
# Short runs of the libFuzzer targets (libFuzzer + ASan): the policy parser,
# the DNS decoder, and the record decoder with the JSON and table writers.
for target in policy dns record; do
  echo "== $target fuzzing (${VIGIL_FUZZ_SECONDS:-10} s)"
  log=build/fuzz-$target.log
  if ! tools/fuzz.sh "$target" "${VIGIL_FUZZ_SECONDS:-10}" >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "the $target fuzzer failed to build or found a crash (whole log: $log)" >&2
    exit 1
  fi
  tail -n 3 "$log"
done
echo "== unit, kernel and e2e tests"
cd build
ctest --output-on-failure --timeout 600 "$@"
