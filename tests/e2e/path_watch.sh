#!/usr/bin/env bash
# The open fast path (bpf/path_watch.h): an open whose file has no watched
# directory above it is decided without building its path. Every trick
# below opens a file by a relative name (so that the caller's string cannot
# match) and must still be reported: below a pattern's directory; below a
# tmpfs mounted over it; through a hard link to an exact pattern's file; in
# a pattern's directory made after the start; in one replaced (renamed away
# and made again) after the start. A file elsewhere is not reported.
#   path_watch.sh VIGIL
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root
require_commands jq mount umount
# Four trees, so that the directories watched for one (a pattern's, or
# its deepest existing one, and that one's parent) are not above another.
C=$WORK/t1/conf
L=$WORK/t2/a
E=$WORK/t3/elsewhere
G=$WORK/t4/g
mkdir -p "$C/keys" "$G/gone" "$L" "$E" || die "cannot make the test's directories"
echo k >"$C/keys/k1" && echo s >"$C/secret" && echo p >"$E/plain" || die "cannot write the test's files"
cleanup_mounts() { umount "$C/keys" 2>/dev/null; }
trap 'cleanup_mounts; cleanup' EXIT

POLICY=$WORK/watch.yaml
policy "$POLICY" watch global "    - event: openat
      filters:
        - data.pathname=$C/keys/*,$C/secret,$L/later/sub/*,$G/gone/*"
start_sensor main -p "$POLICY" -o "json:$EVENTS" --duration 60s --log-level debug
grep -q 'open fast path: ' "$SENSOR_ERR" || fail "the sensor did not set up the open fast path: $(grep -i 'fast path' "$SENSOR_ERR")"

trick() { # NAME DIR FILE: cat FILE after cd DIR, as a child; records "NAME PID"
  local name=$1 dir=$2 file=$3 pid
  run_child pid bash -c 'cd "$1" && exec cat "$2" >/dev/null' _ "$dir" "$file"
  echo "$name $pid" >>"$WORK/pids"
}
trick relative "$C/keys" k1
mount -t tmpfs vigil-test "$C/keys" || die "cannot mount a tmpfs over $C/keys"
echo o >"$C/keys/over"
trick overmount "$C/keys" over
umount "$C/keys"
ln "$C/secret" "$E/hardlink" || die "cannot hard-link $C/secret"
trick hardlink "$E" hardlink
mkdir -p "$L/later/sub" && echo l >"$L/later/sub/f"
trick made_later "$L/later/sub" f
mv "$G/gone" "$G/gone.old" && mkdir "$G/gone" && echo r >"$G/gone/x"
trick replaced "$G/gone" x
trick elsewhere "$E" plain
sleep 0.5
stop_sensor INT

reported() { # NAME VALUE: an openat of VALUE by the trick's process, matched by watch
  local pid
  pid=$(pid_of "$1")
  check "$1: openat of $2 reported" \
    "any(.[]; .eventName == \"openat\" and .hostProcessId == $pid and (.matchedPolicies | index(\"watch\"))
      and any(.args[]; .name == \"pathname\" and .value == \"$2\"))"
}
reported relative k1
reported overmount over
reported hardlink hardlink
reported made_later f
reported replaced x
pid=$(pid_of elsewhere)
check "elsewhere: a file below no watched directory is not reported" \
  "[.[] | select(.hostProcessId == $pid and .eventName == \"openat\")] | length == 0"
finish
