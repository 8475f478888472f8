#!/usr/bin/env bash
# Path tricks against the default policy's path filters (issue 9, item 1):
# reads of /etc/shadow by a relative name after cd, with "//", through
# /proc/self/root, a symlink and a hard link; a relative name that fails
# (EACCES, as uid 65534); open(2) and creat(2) called directly as musl does;
# an openat whose path cannot be read (kept and counted, not dropped);
# and files replaced by rename (mv, sed -i) in /etc/cron.d. Every one must be
# reported under its policy. Only /etc/shadow is read; the test's own files
# (a hard link beside /etc/shadow, /etc/cron.d/vigil-test-PID*) are removed.
#   path_tricks.sh VIGIL DEFAULT_POLICY RAW_OPEN
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root
require_commands jq setpriv sed
POLICY=$2
RAW_OPEN=$3
[[ -f $POLICY && -x $RAW_OPEN ]] || die "usage: $0 VIGIL DEFAULT_POLICY RAW_OPEN"

# A hard link must be on /etc's filesystem: beside /etc/shadow unless
# $WORK is on the same one. Root may link a file it does not own even
# with fs.protected_hardlinks.
if [[ $(stat -c %d /etc) == $(stat -c %d "$WORK") ]]; then
  HARDLINK=$WORK/hardlink
else
  HARDLINK=/etc/.vigil-test-hardlink-$$
fi
CRON=/etc/cron.d/vigil-test-$$
cleanup_files() { rm -f "$HARDLINK" "$CRON" "$CRON".tmp "$CRON".creat; }
trap 'cleanup_files; cleanup' EXIT

start_sensor main -p "$POLICY" -o "json:$EVENTS" --duration 60s

pids=$WORK/pids
trick() { # NAME CMD...: runs CMD as a child, records "NAME PID"
  local name=$1 pid
  shift
  run_child pid "$@"
  echo "$name $pid" >>"$pids"
}
read_relative() { cd /etc && exec cat shadow >/dev/null; }
read_double_slash() { exec cat /etc//shadow >/dev/null; }
read_proc_root() { exec cat /proc/self/root/etc/shadow >/dev/null; }
read_symlink() { exec cat "$WORK/link/shadow-link" >/dev/null; }
read_hardlink() { exec cat "$HARDLINK" >/dev/null; }
read_relative_denied() {
  cd /etc && exec setpriv --reuid=65534 --regid=65534 --clear-groups cat shadow 2>/dev/null
}
raw_open() { exec "$RAW_OPEN" open /etc/shadow >/dev/null; }
raw_creat() { exec "$RAW_OPEN" creat "$CRON.creat" >/dev/null; }
bad_pointer() { exec "$RAW_OPEN" badptr - >/dev/null; }
rename_relative() { cd /etc/cron.d && exec mv "vigil-test-$$.tmp" "vigil-test-$$"; }
rename_sed() { exec sed -i 's/^$/# vigil test/' "$CRON"; }

mkdir -p "$WORK/link" && ln -s /etc/shadow "$WORK/link/shadow-link" || die "cannot make the symlink"
ln /etc/shadow "$HARDLINK" || die "cannot hard-link /etc/shadow at $HARDLINK"
trick relative read_relative
trick double_slash read_double_slash
trick proc_root read_proc_root
trick symlink read_symlink
trick hardlink read_hardlink
trick relative_denied read_relative_denied
trick raw_open raw_open
trick raw_creat raw_creat
trick bad_pointer bad_pointer
: >"$CRON.tmp" || die "cannot create $CRON.tmp"
trick rename_relative rename_relative
trick rename_sed rename_sed
sleep 0.5
stop_sensor INT
cleanup_files

# reported EVENT POLICY TRICK ARG VALUE RETVAL_TEST: one event of the trick's
# process with that argument, matched by that policy.
reported() {
  local event=$1 policy=$2 name=$3 arg=$4 value=$5 ret=$6 pid
  pid=$(pid_of "$name" "$pids")
  [[ -n $pid ]] || { fail "$name: no pid recorded"; return; }
  check "$name: $event of $value reported by $policy" \
    "any(.[]; .eventName == \"$event\" and .hostProcessId == $pid
      and (.matchedPolicies | index(\"$policy\"))
      and any(.args[]; .name == \"$arg\" and .value == \"$value\") and (.returnValue $ret))"
}
reported openat credential-files relative pathname shadow '>= 0'
reported openat credential-files double_slash pathname /etc//shadow '>= 0'
reported openat credential-files proc_root pathname /proc/self/root/etc/shadow '>= 0'
reported openat credential-files symlink pathname "$WORK/link/shadow-link" '>= 0'
reported openat credential-files hardlink pathname "$HARDLINK" '>= 0'
reported openat credential-files relative_denied pathname shadow '== -13'
reported open credential-files raw_open pathname /etc/shadow '>= 0'
reported creat config-changes raw_creat pathname "$CRON.creat" '>= 0'
reported security_inode_rename config-changes rename_relative new_path "$CRON" '== 0'
reported security_inode_rename config-changes rename_sed new_path "$CRON" '== 0'
# A path the kernel cannot read: kept (marked truncated) and counted, not dropped.
pid=$(pid_of bad_pointer "$pids")
check "bad_pointer: openat of an unreadable path kept under credential-files, truncated" \
  "any(.[]; .eventName == \"openat\" and .hostProcessId == $pid and .returnValue == -14
    and (.matchedPolicies | index(\"credential-files\")) and .truncated == true)"
if grep -Eq '[1-9][0-9]* unreadable user memory reads' "$SENSOR_ERR"; then
  pass "the stop summary counts the unreadable read"
else
  fail "the stop summary counts no unreadable read: $(grep -o 'truncated arguments;[^;]*' "$SENSOR_ERR")"
fi
# The kernel still drops what matches nothing: the symlink's own directory
# is not reported when listed.
check "no credential-files event for an unfiltered file" \
  '[.[] | select((.matchedPolicies | index("credential-files")) and
      any(.args[]; .name == "pathname" and (.value | test("/link$"))))] | length == 0'
finish
