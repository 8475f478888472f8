#!/usr/bin/env bash
# --metrics-file: Prometheus text counters, rewritten while running and at
# stop; the emitted total equals the lines the JSON sink received, and a
# filtered selection counts its kernel-side drops.
set -euo pipefail
VIGIL=$1
[[ $(id -u) == 0 ]] || { echo "needs root"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$VIGIL" -e "openat.data.pathname=$tmp/*" -o "json:$tmp/events.json" --metrics-file "$tmp/vigil.prom" \
  --ready-file "$tmp/ready" --duration 30s 2>"$tmp/stderr" &
sensor=$!
for _ in $(seq 200); do [[ -f $tmp/ready ]] && break; sleep 0.05; done
[[ -f $tmp/ready ]] || { cat "$tmp/stderr"; exit 1; }
for i in $(seq 20); do : >"$tmp/file-$i"; cat /etc/hostname >/dev/null; done
sleep 1.5
[[ -s $tmp/vigil.prom ]] || { echo "metrics file not written while running"; exit 1; }
kill -INT "$sensor"; wait "$sensor"
metric() { awk -v m="$1" '$1 == m {print $2}' "$tmp/vigil.prom"; }
emitted=$(metric vigil_events_emitted_total)
lines=$(wc -l <"$tmp/events.json")
[[ $emitted == "$lines" && $lines -ge 20 ]] || { echo "emitted_total $emitted, JSON lines $lines"; exit 1; }
kernel=$(metric 'vigil_events_filtered_total{where="kernel"}')
((kernel >= 20)) || { echo "filtered in the kernel: $kernel, want >= 20 (the /etc/hostname opens)"; exit 1; }
[[ $(metric 'vigil_events_lost_total{reason="ring_buffer_full"}') == 0 ]] || { echo "losses"; exit 1; }
grep -q '^# TYPE vigil_events_lost_total counter$' "$tmp/vigil.prom" || { echo "no TYPE line"; exit 1; }
echo "metrics ok: emitted $emitted, filtered in the kernel $kernel"
