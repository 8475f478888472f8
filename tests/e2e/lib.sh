# The e2e tests' shared helpers (sourced, not run):
#
#   source "$(dirname "$0")/lib.sh"    # from a script called as `script VIGIL [ARGS...]`
#
# Sets VIGIL (the binary, absolute), TEST_NAME (log prefix; the script's name
# unless set before sourcing), WORK (a scratch directory, removed at exit unless
# KEEP_WORK=1) and EVENTS ($WORK/events.json, check's default file). A script
# exits 0 (pass), 1 (fail) or 77 (skipped, ctest's SKIP_RETURN_CODE, with the
# reason on stderr); finish decides between the first two.

set -uo pipefail

VIGIL=${1:-}
if [[ -z "$VIGIL" || ! -x "$VIGIL" ]]; then
  echo "usage: $0 PATH_TO_VIGIL [ARGS...] (got '$VIGIL', not an executable)" >&2
  exit 2
fi
VIGIL=$(readlink -f "$VIGIL")

TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
# The capability environment of whoever runs the tests must not leak in.
unset CAPABILITIES_BYPASS CAPABILITIES_ADD CAPABILITIES_DROP
FAILURES=0
SENSOR_PID=
SENSOR_ERR=
BACKGROUND=()  # pids killed at exit

WORK=$(mktemp -d "/tmp/vigil-${TEST_NAME}.XXXXXX")
chmod 0755 "$WORK"  # uid 65534 must reach the files the tests put there
EVENTS=$WORK/events.json

cleanup() {
  if [[ -n "$SENSOR_PID" ]] && kill -0 "$SENSOR_PID" 2>/dev/null; then
    kill -TERM "$SENSOR_PID" 2>/dev/null
    local i
    for ((i = 0; i < 50; i++)); do kill -0 "$SENSOR_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SENSOR_PID" 2>/dev/null
    wait "$SENSOR_PID" 2>/dev/null
  fi
  local pid
  for pid in "${BACKGROUND[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  if [[ "${KEEP_WORK:-0}" != 1 ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- outcomes

log() { echo "[$TEST_NAME] $*" >&2; }
pass() { echo "[$TEST_NAME] ok: $*" >&2; }
# Records a failed check and carries on, so one run reports every broken property.
fail() {
  echo "[$TEST_NAME] FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}
# Exits 1 or 0 by the checks so far.
finish() {
  if ((FAILURES > 0)); then
    log "$FAILURES check(s) failed"
    if [[ -n "$SENSOR_ERR" && -s "$SENSOR_ERR" ]]; then
      log "stderr of the last sensor run ends:"
      tail -n 5 "$SENSOR_ERR" >&2
    fi
    exit 1
  fi
  log "passed"
  exit 0
}
# A failure that makes the rest meaningless: stops the test now.
die() {
  fail "$*"
  finish
}
skip() {
  echo "[$TEST_NAME] SKIPPED: $*" >&2
  exit 77
}

need_root() {
  [[ $(id -u) == 0 ]] || skip "the sensor loads BPF programs and needs root"
}
# require_commands CMD...: each must be installed.
require_commands() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || die "$c is not installed (tools/install-deps.sh installs it)"
  done
}

now_ns() { date +%s%N; }

# check DESCRIPTION JQ_FILTER [FILE]: the filter, over the whole file (default
# $EVENTS) as an array of events (jq -s), must be true.
check() {
  local what=$1 filter=$2 file=${3:-$EVENTS}
  if jq -s -e "$filter" "$file" >/dev/null 2>"$WORK/jq.err"; then
    pass "$what"
  else
    fail "$what $(head -c 300 "$WORK/jq.err")"
  fi
}

# pid_of NAME [FILE]: the pid a workload wrote as "NAME PID" into FILE ($WORK/pids).
pid_of() { awk -v w="$1" '$1 == w { print $2 }' "${2:-$WORK/pids}"; }

# run_child VAR CMD...: runs CMD (a command or a function that execs) as a
# child of this script, sets VAR to its pid and waits for it to end.
run_child() {
  local -n child_pid_=$1
  shift
  "$@" &
  child_pid_=$!
  wait "$child_pid_"
}

# run_case: a script of several cases runs the function case_$CASE.
run_case() {
  declare -F "case_$CASE" >/dev/null || die "unknown case: $CASE"
  "case_$CASE"
}

# ---------------------------------------------------------------- the sensor

# start_sensor NAME [PREFIX... --] VIGIL_ARGS...
# Starts `PREFIX... $VIGIL VIGIL_ARGS... --ready-file ...` in the background,
# from $WORK (PREFIX is e.g. a setpriv command line, which execs, so the pid
# is the sensor's), and waits up to 30 s until it is ready. Sets SENSOR_PID,
# SENSOR_ERR (its stderr) and SENSOR_READY. Unless VIGIL_ARGS name an output
# (-o), the events go to SENSOR_OUT ($WORK/NAME.events.json, JSON lines).
start_sensor() {
  local name=$1
  shift
  local prefix=() args=("$@") i
  for ((i = 0; i < ${#args[@]}; i++)); do
    if [[ ${args[i]} == -- ]]; then
      prefix=("${args[@]:0:i}")
      args=("${args[@]:i+1}")
      break
    fi
  done
  SENSOR_ERR=$WORK/$name.stderr
  SENSOR_READY=$WORK/$name.ready
  SENSOR_OUT=$WORK/$name.events.json
  local has_output=0 a
  for a in "${args[@]}"; do [[ $a == -o || $a == --output || $a == --output=* ]] && has_output=1; done
  ((has_output)) || args+=(-o "json:$SENSOR_OUT")
  rm -f "$SENSOR_ERR" "$SENSOR_READY"
  (cd "$WORK" && exec "${prefix[@]}" "$VIGIL" "${args[@]}" --ready-file "$SENSOR_READY" 2>"$SENSOR_ERR") &
  SENSOR_PID=$!
  local deadline=$((SECONDS + 30)) rc
  while [[ ! -s "$SENSOR_READY" ]]; do
    if ! kill -0 "$SENSOR_PID" 2>/dev/null; then
      wait "$SENSOR_PID"
      rc=$?
      SENSOR_PID=
      die "sensor ($name) exited with status $rc before it was ready; stderr:
$(tail -n 40 "$SENSOR_ERR")"
    fi
    ((SECONDS < deadline)) || die "sensor ($name) not ready within 30 s; stderr:
$(tail -n 40 "$SENSOR_ERR")"
    sleep 0.05
  done
  local ready_pid
  ready_pid=$(head -n 1 "$SENSOR_READY" | tr -d '[:space:]')
  [[ "$ready_pid" == "$SENSOR_PID" ]] ||
    fail "the ready file holds pid '$ready_pid', but the sensor started is $SENSOR_PID"
  log "sensor ($name) ready, pid $SENSOR_PID: ${args[*]}"
}

# stop_sensor [SIGNAL]: sends it (default TERM) and waits up to 10 s (dies
# if the sensor still runs); fails unless the sensor exits 0, a clean stop.
# Sets SENSOR_RC and SENSOR_STOP_MS (how long the stop took).
stop_sensor() {
  [[ -n "$SENSOR_PID" ]] || return 0
  local sig=${1:-TERM} start
  start=$(now_ns)
  kill -"$sig" "$SENSOR_PID" 2>/dev/null
  local deadline=$((SECONDS + 10))
  while kill -0 "$SENSOR_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.01; done
  SENSOR_STOP_MS=$((($(now_ns) - start) / 1000000))
  kill -0 "$SENSOR_PID" 2>/dev/null && die "the sensor still runs 10 s after SIG$sig"
  wait "$SENSOR_PID"
  SENSOR_RC=$?
  SENSOR_PID=
  if ((SENSOR_RC != 0)); then
    fail "sensor exited with status $SENSOR_RC after SIG$sig (expected 0); stderr:
$(tail -n 20 "$SENSOR_ERR")"
  fi
}

# ---------------------------------------------------------------- one-shot runs

# run_vigil NAME CMD...: runs CMD (usually "$VIGIL" ...) from $WORK to completion
# (60 s at most); sets RC, OUT (its stdout file) and ERR (its stderr file).
run_vigil() {
  local name=$1
  shift
  OUT="$WORK/$name.stdout"
  ERR="$WORK/$name.stderr"
  (cd "$WORK" && exec timeout 60 "$@" >"$OUT" 2>"$ERR")
  RC=$?
}

# expect_rc WHAT EXPECTED: checks RC from run_vigil, showing stderr on mismatch.
expect_rc() {
  if [[ "$RC" != "$2" ]]; then
    fail "$1: exit status $RC, expected $2; stderr:
$(cat "$ERR")"
    return 1
  fi
  pass "$1: exit status $2"
}

# expect_stderr WHAT ERE: the last run's stderr matches the extended regex.
expect_stderr() {
  if grep -Eq -- "$2" "$ERR"; then
    pass "$1"
  else
    fail "$1: stderr does not match /$2/; stderr:
$(cat "$ERR")"
  fi
}

expect_no_stderr() {
  if grep -Eq -- "$2" "$ERR"; then
    fail "$1: stderr unexpectedly matches /$2/; stderr:
$(cat "$ERR")"
  else
    pass "$1"
  fi
}

# policy FILE NAME SCOPE_LINES RULE_LINES: appends one policy document in
# Tracee's format (one scope expression per line of SCOPE_LINES; RULE_LINES
# as written under `rules:`).
policy() {
  local file=$1 name=$2 scope=$3 rules=$4
  [[ -s "$file" ]] && echo "---" >>"$file"
  {
    echo "apiVersion: tracee.aquasec.com/v1beta1"
    echo "kind: Policy"
    echo "metadata:"
    echo "  name: $name"
    echo "  annotations:"
    echo "    description: $TEST_NAME test"
    echo "spec:"
    echo "  scope:"
    sed 's/^/    - /' <<<"$scope"
    echo "  rules:"
    echo "$rules"
  } >>"$file"
}
