#!/usr/bin/env bash
# Builds one of vigil's libFuzzer targets with clang (libFuzzer + ASan, the
# libraries instrumented too) in build-fuzz/, then runs it.
#   tools/fuzz.sh TARGET [SECONDS] [extra libFuzzer flags...]   (default 30 s)
# TARGET: policy (the policy parser), dns (the DNS decoder and cache) or
# record (the ring-buffer record decoder with the JSON and table writers).
# New inputs go to build-fuzz/TARGET-corpus (seeds in tests/fuzz are only
# read); crashes to build-fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: tools/fuzz.sh policy|dns|record [SECONDS] [libFuzzer flags...]}
seconds=${2:-30}
shift $(($# < 2 ? $# : 2))
case $target in
  policy) flags=(-dict=../tests/fuzz/policy.dict); seeds=(../tests/fuzz/corpus) ;;
  dns) flags=(-max_len=1024); seeds=(../tests/fuzz/dns-corpus) ;;
  record) flags=(-max_len=8192); seeds=() ;;
  *) echo "tools/fuzz.sh: unknown target '$target' (policy, dns or record)" >&2; exit 2 ;;
esac
command -v clang++ >/dev/null || { echo "clang++ is needed (apt-get install clang)" >&2; exit 1; }
instrument="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_BUILD_FUZZERS=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS="$instrument" -DCMAKE_CXX_FLAGS="$instrument" >/dev/null
cmake --build build-fuzz --target "${target}_fuzzer" -j"$(nproc)"
mkdir -p "build-fuzz/${target}-corpus"
cd build-fuzz
exec "./tests/fuzz/${target}_fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
  "${flags[@]}" "$@" "${target}-corpus" "${seeds[@]}"
