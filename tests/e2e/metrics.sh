#!/usr/bin/env bash
# --metrics-file: Prometheus text counters, rewritten while running and at
# stop; the emitted total equals the lines the JSON sink received, and a
# filtered selection counts its kernel-side drops.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root
start_sensor main -e "openat.data.pathname=$WORK/*" -o "json:$EVENTS" --metrics-file "$WORK/vigil.prom" \
  --duration 30s
for i in $(seq 20); do : >"$WORK/file-$i"; cat /etc/hostname >/dev/null; done
sleep 1.5
[[ -s $WORK/vigil.prom ]] || die "metrics file not written while running"
stop_sensor INT
metric() { awk -v m="$1" '$1 == m {print $2}' "$WORK/vigil.prom"; }
emitted=$(metric vigil_events_emitted_total)
lines=$(wc -l <"$EVENTS")
[[ $emitted == "$lines" && $lines -ge 20 ]] || die "emitted_total $emitted, JSON lines $lines"
kernel=$(metric 'vigil_events_filtered_total{where="kernel"}')
((kernel >= 20)) || die "filtered in the kernel: $kernel, want >= 20 (the /etc/hostname opens)"
[[ $(metric 'vigil_events_lost_total{reason="ring_buffer_full"}') == 0 ]] || die "losses"
grep -q '^# TYPE vigil_events_lost_total counter$' "$WORK/vigil.prom" || die "no TYPE line"
pass "metrics: emitted $emitted, filtered in the kernel $kernel"
finish
