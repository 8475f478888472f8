#!/usr/bin/env bash
# hostName from the UTS namespace, through the real binary: a shell in a new
# UTS namespace renames it; the cat it then runs is reported with that name,
# while the sensor's own namespace keeps the host's name.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root
require_commands jq
start_sensor main -e openat,sched_process_exec -o "json:$EVENTS" --duration 20s
unshare -u sh -c 'hostname test-uts-ns; cat /etc/hostname' >/dev/null
cat /etc/hostname >/dev/null
sleep 0.3
stop_sensor INT
names=$(jq -r 'select(.eventName == "openat" and .processName == "cat" and .args[1].value == "/etc/hostname") | .hostName' "$EVENTS" | sort | uniq)
log "hostNames of the cats: $(echo $names)"
grep -qx test-uts-ns <<<"$names" || die "the cat in the new UTS namespace is not named test-uts-ns"
grep -qx "$(hostname)" <<<"$names" || die "the host's cat is not named $(hostname)"
pass "uts hostName"
finish
