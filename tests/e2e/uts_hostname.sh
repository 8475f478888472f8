#!/usr/bin/env bash
# hostName from the UTS namespace, through the real binary: a shell in a new
# UTS namespace renames it; the cat it then runs is reported with that name,
# while the sensor's own namespace keeps the host's name.
set -euo pipefail
VIGIL=$1
[[ $(id -u) == 0 ]] || { echo "needs root"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$VIGIL" -e openat,sched_process_exec -o "json:$tmp/events.json" --ready-file "$tmp/ready" --duration 20s 2>"$tmp/stderr" &
sensor=$!
for _ in $(seq 200); do [[ -f $tmp/ready ]] && break; sleep 0.05; done
[[ -f $tmp/ready ]] || { cat "$tmp/stderr"; echo "sensor not ready"; exit 1; }
unshare -u sh -c 'hostname test-uts-ns; cat /etc/hostname' >/dev/null
cat /etc/hostname >/dev/null
sleep 0.3
kill -INT "$sensor"; wait "$sensor"
names=$(jq -r 'select(.eventName == "openat" and .processName == "cat" and .args[1].value == "/etc/hostname") | .hostName' "$tmp/events.json" | sort | uniq)
echo "hostNames of the cats: $(echo $names)"
grep -qx test-uts-ns <<<"$names" || { echo "the cat in the new UTS namespace is not named test-uts-ns"; exit 1; }
grep -qx "$(hostname)" <<<"$names" || { echo "the host's cat is not named $(hostname)"; exit 1; }
echo "uts hostName ok"
