#!/usr/bin/env bash
# The capability rings must not cost the events their enrichment. Run as root
# with its default rings, the sensor's permitted set is far smaller than a root
# process's, so reading that process's /proc/PID/exe needs CAP_SYS_PTRACE
# (ptrace_may_access: the target's permitted set must be a subset of the
# caller's). executable.path must be there all the same (from the kernel's
# lifecycle records, or from /proc under a declared ring).
#
# The processes below are root and stay alive until their event has been read:
#  - one started before the sensor, with every capability (its path can only
#    come from /proc, read at start-up),
#  - one started after, with no capabilities at all (control: readable without any),
#  - one started after, as root normally (with every capability).
source "$(dirname "$0")/caps_lib.sh"

SH=$(readlink -f /bin/sh)
EARLY_TARGET="$WORK/started-before-the-sensor"
: >"$EARLY_TARGET"
"$SH" -c "i=0; while [ ! -e '$WORK/go' ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i+1)); done; : < '$EARLY_TARGET'; sleep 3; :" &
EARLY_PID=$!
start_sensor exe -- -e openat --duration 60s

# open_and_linger NAME PREFIX...: a shell (under PREFIX) opens a unique path and
# lives on for 3s, so /proc/PID/exe is there when the sensor drains the event.
open_and_linger() {
  local name=$1
  shift
  local target="$WORK/$name-$$-$RANDOM"
  : >"$target"  # exists, so the shell's redirection succeeds and it lives on
  chmod 0644 "$target"
  "$@" "$SH" -c ": < '$target'; sleep 3; :" &
  local pid=$!
  check_event "$name" "$pid" "$target"
  wait "$pid"
}

# check_event NAME PID TARGET: the openat of TARGET by PID carries executable.path $SH.
check_event() {
  local name=$1 pid=$2 target=$3 i line=""
  for ((i = 0; i < 40; i++)); do
    line=$(grep -F -- "$target" "$SENSOR_OUT" 2>/dev/null |
      jq -c --arg p "$target" --argjson pid "$pid" \
        'select(.eventName == "openat" and .hostProcessId == $pid and any(.args[]; .name == "pathname" and .value == $p))' |
      head -n 1)
    [[ -n $line ]] && break
    sleep 0.25
  done
  if [[ -z $line ]]; then
    fail "$name: no openat event for $target from pid $pid"
    return
  fi
  local path
  path=$(jq -r '.executable.path' <<<"$line")
  if [[ $path == "$SH" ]]; then
    pass "$name: executable.path is $SH"
  else
    fail "$name: executable.path is '$path', expected '$SH' (pid $pid, uid $(jq -r .userId <<<"$line"))"
  fi
}

touch "$WORK/go"
check_event "root with capabilities, started before the sensor" "$EARLY_PID" "$EARLY_TARGET"
wait "$EARLY_PID"
open_and_linger "root without capabilities" setpriv --bounding-set=-all --inh-caps=-all
open_and_linger "root with its capabilities"
stop_sensor
finish
