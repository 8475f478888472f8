#!/usr/bin/env bash
# Builds the policy fuzzer with clang (libFuzzer + ASan, the policy and
# event libraries instrumented too) in build-fuzz/, then runs it.
#   tools/fuzz-policies.sh [SECONDS] [extra libFuzzer flags...]   (default 30 s)
# New inputs go to build-fuzz/policy-corpus; crashes to build-fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
command -v clang++ >/dev/null || { echo "clang++ is needed (apt-get install clang)" >&2; exit 1; }
instrument="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_BUILD_FUZZERS=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS="$instrument" -DCMAKE_CXX_FLAGS="$instrument" >/dev/null
cmake --build build-fuzz --target policy_fuzzer -j"$(nproc)"
mkdir -p build-fuzz/policy-corpus
cd build-fuzz
exec ./tests/fuzz/policy_fuzzer -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
  -dict=../tests/fuzz/policy.dict "$@" policy-corpus ../tests/fuzz/corpus
