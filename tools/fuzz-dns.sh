#!/usr/bin/env bash
# Builds the DNS decoder's fuzzer with clang (libFuzzer + ASan) in
# build-fuzz/ (shared with tools/fuzz-policies.sh), then runs it.
#   tools/fuzz-dns.sh [SECONDS] [extra libFuzzer flags...]   (default 30 s)
# New inputs go to build-fuzz/dns-corpus; crashes to build-fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
command -v clang++ >/dev/null || { echo "clang++ is needed (apt-get install clang)" >&2; exit 1; }
instrument="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_BUILD_FUZZERS=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS="$instrument" -DCMAKE_CXX_FLAGS="$instrument" >/dev/null
cmake --build build-fuzz --target dns_fuzzer -j"$(nproc)"
mkdir -p build-fuzz/dns-corpus
cd build-fuzz
exec ./tests/fuzz/dns_fuzzer -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=1024 \
  "$@" dns-corpus ../tests/fuzz/dns-corpus
