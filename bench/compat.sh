#!/usr/bin/env bash
# What watching compat (ia32) syscalls costs beside per-syscall tracepoints:
# vg_compat_sys_enter/exit run on every syscall of the host and return at once
# for tasks not in a compat syscall. The open/close loop (the shared
# workload, `open N`) with no sensor, under `vigil -e openat` (tracepoints +
# the compat programs) and, when given, under another vigil binary without
# them (e.g. the tree before the compat change); runs alternate. Then the
# compat programs' own run time per call (kernel.bpf_stats_enabled).
#   bench/compat.sh [-r REPS] [-n OPENS] [-b BASELINE_VIGIL]
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=5 N=200000 BASE=
while getopts "r:n:b:" o; do
  case $o in r) REPS=$OPTARG ;; n) N=$OPTARG ;; b) BASE=$OPTARG ;; *) exit 2 ;; esac
done
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
WORKLOAD=
for w in ../shared/bench/workload ../../shared/bench/workload; do [[ -x $w ]] && WORKLOAD=$w && break; done
[[ -n $WORKLOAD ]] || { echo "the shared workload (../shared/bench/workload) is missing" >&2; exit 1; }
OUT=bench-out/compat-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/vigil-compat-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

loop() {  # seconds of one open loop, as the workload measures it
  "$WORKLOAD" -q open "$N" | grep -oE 'elapsed_s=[0-9.]+' | cut -d= -f2
}
under() {  # VIGIL: one loop under `VIGIL -e openat` (tracepoints, the auto hook)
  rm -f "$TMP/ready"
  "$1" -e openat -o "json:$TMP/events.json" --ready-file "$TMP/ready" --log-level error &
  local pid=$! _
  for _ in $(seq 1200); do [[ -s $TMP/ready ]] && break; sleep 0.05; done
  [[ -s $TMP/ready ]] || { echo "$1 not ready within 60 s" >&2; kill -KILL "$pid"; exit 1; }
  loop
  kill -INT "$pid"; wait "$pid" || true
  rm -f "$TMP/events.json"
}

printf 'rep\tnone\tvigil\tbaseline\n' >"$OUT/loop.tsv"
for r in $(seq "$REPS"); do
  a=$(loop); b=$(under ./build/vigil); c=-
  [[ -n $BASE ]] && c=$(under "$BASE")
  printf '%s\t%s\t%s\t%s\n' "$r" "$a" "$b" "$c" >>"$OUT/loop.tsv"
done

# The compat programs' run time: bpf_stats over one loop under this tree's vigil.
old=$(sysctl -n kernel.bpf_stats_enabled)
pid=
trap '[[ -n $pid ]] && kill -INT "$pid" 2>/dev/null; sysctl -qw kernel.bpf_stats_enabled="$old"; rm -rf "$TMP"' EXIT
sysctl -qw kernel.bpf_stats_enabled=1
rm -f "$TMP/ready"
./build/vigil -e openat -o "json:$TMP/events.json" --ready-file "$TMP/ready" --log-level error &
pid=$!
for _ in $(seq 1200); do [[ -s $TMP/ready ]] && break; sleep 0.05; done
"$WORKLOAD" -q open "$N" >/dev/null
bpftool -j prog show | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name", "").startswith("vg_compat_sys") or p.get("name") == "vg_tp_sys_exit":
        cnt, ns = p.get("run_cnt", 0), p.get("run_time_ns", 0)
        name = p["name"]
        if cnt: print(f"{name}: {cnt} runs, {ns / cnt:.1f} ns per run")
' | tee "$OUT/bpf_stats.txt"
kill -INT "$pid"; wait "$pid" || true
pid=
sysctl -qw kernel.bpf_stats_enabled="$old"

python3 - "$OUT/loop.tsv" "$N" <<'PY' | tee "$OUT/summary.txt"
import statistics, sys
rows = [l.split('\t') for l in open(sys.argv[1]).read().split('\n')[1:] if l]
med = lambda i: statistics.median(float(r[i]) for r in rows)
base = med(1)
line = (f"open loop, {sys.argv[2]} opens, medians of {len(rows)}: no sensor {base:.3f}s; "
        f"vigil -e openat {med(2):.3f}s ({med(2)/base:.3f}x)")
if rows[0][3].strip() != "-":
    line += f"; baseline vigil -e openat {med(3):.3f}s ({med(3)/base:.3f}x)"
print(line)
PY
echo "results in $OUT"
