#!/usr/bin/env bash
# sched_process_exec's written_since_start and stdin_type, through the real
# binary: a copy of /bin/true dropped after the sensor started is marked
# written; /bin/true itself (untouched since install) is not. stdin is a pipe
# for one and /dev/null for the other.
set -euo pipefail
VIGIL=$1
[[ $(id -u) == 0 ]] || { echo "needs root"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$VIGIL" -e sched_process_exec -o "json:$tmp/events.json" --ready-file "$tmp/ready" --duration 20s 2>"$tmp/stderr" &
sensor=$!
for _ in $(seq 200); do [[ -f $tmp/ready ]] && break; sleep 0.05; done
[[ -f $tmp/ready ]] || { cat "$tmp/stderr"; echo "sensor not ready"; exit 1; }
cp /bin/true "$tmp/dropped"
echo | "$tmp/dropped"
/bin/true </dev/null
sleep 0.3
kill -INT "$sensor"; wait "$sensor"
arg() { # event pathname, argument name
  jq -r --arg p "$1" --arg a "$2" 'select(.eventName == "sched_process_exec" and .args[1].value == $p)
    | .args[] | select(.name == $a) | .value' "$tmp/events.json" | head -1
}
true_path=$(readlink -f /bin/true)
[[ $(arg "$tmp/dropped" written_since_start) == true ]] || { echo "dropped binary not marked written"; exit 1; }
[[ $(arg "$true_path" written_since_start) == false ]] || { echo "$true_path marked written"; exit 1; }
[[ $(arg "$tmp/dropped" stdin_type) == S_IFIFO ]] || { echo "dropped: stdin $(arg "$tmp/dropped" stdin_type)"; exit 1; }
[[ $(arg "$true_path" stdin_type) == S_IFCHR ]] || { echo "true: stdin $(arg "$true_path" stdin_type)"; exit 1; }
echo "exec enrichment ok"
