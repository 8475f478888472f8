#!/usr/bin/env bash
# vigil's benchmarks, side by side with peers and a no-sensor baseline, in one run.
#   bench/run.sh [-r REPS] [-q]      (-q: vigil only, no peers; quicker)
# Needs root, a built tree (./tools/build.sh) and, for the peers:
#   apt-get install bpftrace libbpf-tools auditd linux-perf time jq
# Results: bench-out/<timestamp>/ (peers/summary.md, syscall_loop.tsv, decode.txt, env.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=5 QUICK=0
while getopts "r:q" o; do case $o in r) REPS=$OPTARG ;; q) QUICK=1 ;; *) exit 2 ;; esac; done
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
PEERS=../shared/bench/peers.sh
[[ -x $PEERS ]] || PEERS=$(dirname "$0")/../../shared/bench/peers.sh
OUT=bench-out/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
{ uname -r; nproc; grep -m1 'model name' /proc/cpuinfo; free -g | sed -n 2p; ./build/vigil version; } >"$OUT/env.txt"

# 1. Workload slowdown, capture and losses against peers (the shared harness).
contestants="vigil vigil-raw vigil-idle vigil-nomatch vigil-pathfilter vigil-default"
((QUICK)) || contestants+=" bpftrace libbpf-tools"
bash "$PEERS" -p bench/contestants.sh -r "$REPS" -o "$OUT/peers" \
    -m "exec:2000 open:200000 open:400000:2 exec:2000:2" $contestants || true

# 2. What selecting openat costs every other syscall: loops of getppid (the
#    cheapest syscall) and 4 KiB preads, no sensor vs vigil -e openat
#    (per-syscall tracepoints) vs the raw dispatcher. Runs alternate.
loop=./build/bench/syscall_loop
run_loop_under() {  # MODE N [vigil ARGS] (no ARGS: no sensor)
    local mode=$1 n=$2; shift 2
    if (($# == 0)); then "$loop" "$mode" "$n"; return; fi
    rm -f /tmp/vigil-bench.ready
    ./build/vigil "$@" --output json:/dev/null --ready-file /tmp/vigil-bench.ready --log-level error &
    local pid=$!
    for _ in $(seq 200); do [[ -f /tmp/vigil-bench.ready ]] && break; sleep 0.05; done
    "$loop" "$mode" "$n"
    kill -INT "$pid"; wait "$pid" || true
}
for mode in getppid read; do
    n=3000000; [[ $mode == read ]] && n=1000000
    printf 'rep\tnone\topenat_tracepoints\topenat_raw\n' >"$OUT/loop_$mode.tsv"
    for r in $(seq "$REPS"); do
        a=$(run_loop_under $mode $n); b=$(run_loop_under $mode $n -e openat)
        c=$(run_loop_under $mode $n -e openat --syscall-hook raw)
        printf '%s\t%s\t%s\t%s\n' "$r" "$a" "$b" "$c" >>"$OUT/loop_$mode.tsv"
    done
    python3 - "$OUT/loop_$mode.tsv" "$mode" "$n" <<'PY' | tee -a "$OUT/syscall_loop.txt"
import statistics, sys
rows = [l.split('\t') for l in open(sys.argv[1]).read().split('\n')[1:] if l]
med = lambda i: statistics.median(float(r[i]) for r in rows)
base = med(1)
print(f"{sys.argv[2]} loop, {sys.argv[3]} calls, medians of {len(rows)}: none {base:.3f}s; "
      f"openat via tracepoints {med(2):.3f}s ({med(2)/base:.3f}x); openat via raw_syscalls {med(3):.3f}s ({med(3)/base:.3f}x)")
PY
done

# 3. User-space decode + JSON rendering on one core.
taskset -c 0 ./build/bench/decode_bench 1000000 2>/dev/null | tee "$OUT/decode.txt"
# 4. The whole user-space path (decode, enrich, default policy, every built-in detection, JSON).
taskset -c 0 ./build/bench/pipeline_bench 1000000 | tee "$OUT/pipeline.txt"
echo "results in $OUT"
