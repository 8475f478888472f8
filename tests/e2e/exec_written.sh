#!/usr/bin/env bash
# sched_process_exec's written_since_start and stdin_type, through the real
# binary: a copy of /bin/true dropped after the sensor started is marked
# written; /bin/true itself (untouched since install) is not. stdin is a pipe
# for one and /dev/null for the other.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root
require_commands jq
start_sensor main -e sched_process_exec -o "json:$EVENTS" --duration 20s
cp /bin/true "$WORK/dropped" || die "cannot copy /bin/true"
echo | "$WORK/dropped"
/bin/true </dev/null
sleep 0.3
stop_sensor INT
arg() { # event pathname, argument name
  jq -r --arg p "$1" --arg a "$2" 'select(.eventName == "sched_process_exec" and .args[1].value == $p)
    | .args[] | select(.name == $a) | .value' "$EVENTS" | head -1
}
true_path=$(readlink -f /bin/true)
[[ $(arg "$WORK/dropped" written_since_start) == true ]] || die "dropped binary not marked written"
[[ $(arg "$true_path" written_since_start) == false ]] || die "$true_path marked written"
[[ $(arg "$WORK/dropped" stdin_type) == S_IFIFO ]] || die "dropped: stdin $(arg "$WORK/dropped" stdin_type)"
[[ $(arg "$true_path" stdin_type) == S_IFCHR ]] || die "true: stdin $(arg "$true_path" stdin_type)"
pass "exec enrichment"
finish
