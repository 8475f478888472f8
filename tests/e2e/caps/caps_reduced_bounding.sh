#!/usr/bin/env bash
# Issue 3, test 3 (the part today's catalogue can exercise): root with a reduced
# bounding set and no inheritable capabilities.
#  - bounding set = exactly the plan's minimal grant (bpf, perfmon here): the
#    selection runs and its events arrive; the sensor still hardens what it can
#    (no capability left at rest, NoNewPrivs);
#  - bounding set = CAP_SYS_ADMIN only: the kernel accepts it instead of
#    CAP_BPF+CAP_PERFMON, so the sensor runs on it;
#  - each eBPF-privilege capability missing in turn, and none at all: exit 1
#    with a message naming exactly what is missing and how to grant it.
source "$(dirname "$0")/caps_lib.sh"

PLAN=$(plan_json -e openat)
GRANT_NAMES=$(jq -r '.minimal_grant[]' <<<"$PLAN")
PRIV_NAMES=$(jq -r '.rings.ebpf[] | select(any(.needed_by[]; startswith("kernel:"))) | .cap' <<<"$PLAN")
[[ -n "$PRIV_NAMES" ]] || die "the plan names no kernel eBPF privilege: $PLAN"
# shellcheck disable=SC2086
GRANT_SETPRIV=$(setpriv_list $GRANT_NAMES)
log "minimal grant for -e openat: $GRANT_SETPRIV"

# --- 1. exactly the minimal grant, as root
REDUCED=(setpriv "--bounding-set=-all,$GRANT_SETPRIV" --inh-caps=-all)
start_sensor reduced "${REDUCED[@]}" -- -e openat --duration 60s
s="$WORK/reduced.status"
cat "/proc/$SENSOR_PID/status" >"$s"
expect_mask "reduced bounding set: CapEff" "$(status_mask "$s" CapEff)" "$(plan_base "$PLAN")"
expect_mask "reduced bounding set: CapPrm" "$(status_mask "$s" CapPrm)" "$(plan_after_setup "$PLAN")"
# Without CAP_SETPCAP the bounding set cannot be emptied; it stays as given.
# shellcheck disable=SC2086
expect_mask "reduced bounding set: CapBnd (no CAP_SETPCAP to empty it)" "$(status_mask "$s" CapBnd)" "$(mask_of $GRANT_NAMES)"
expect_mask "reduced bounding set: CapInh" "$(status_mask "$s" CapInh)" 0
expect_mask "reduced bounding set: CapAmb" "$(status_mask "$s" CapAmb)" 0
[[ $(status_field "$s" NoNewPrivs) == 1 ]] && pass "reduced bounding set: NoNewPrivs = 1" ||
  fail "reduced bounding set: NoNewPrivs is $(status_field "$s" NoNewPrivs), expected 1"
expect_open_event "$WORK/reduced-open"
stop_sensor
grep -q "cancelled" "$SENSOR_ERR" && fail "an event was cancelled though the grant is the plan's: $(cat "$SENSOR_ERR")"

# --- 2. CAP_SYS_ADMIN alone stands in for CAP_BPF+CAP_PERFMON
start_sensor sys-admin setpriv --bounding-set=-all,+sys_admin --inh-caps=-all -- -e openat --duration 60s
expect_open_event "$WORK/sys-admin-open"
s="$WORK/sys-admin.status"
cat "/proc/$SENSOR_PID/status" >"$s"
expect_mask "sys_admin only: CapEff" "$(status_mask "$s" CapEff)" "$(plan_base "$PLAN")"
expect_mask "sys_admin only: CapPrm (cap_sys_admin dropped after set-up)" "$(status_mask "$s" CapPrm)" "$(plan_after_setup "$PLAN")"
stop_sensor

# --- 3. something missing: exit 1, naming what is missing and the way to grant it
check_missing() {
  local label=$1 missing=$2 bounding=$3
  run_vigil "missing-$label" setpriv "--bounding-set=$bounding" --inh-caps=-all "$VIGIL" -e openat --duration 5s -o "json:$WORK/missing-$label.json"
  expect_rc "bounding set $bounding (missing $missing)" 1 || return
  local c
  for c in $missing; do
    expect_stderr "missing $missing: message names $c as missing" "does not have [^(;]*$c"
  done
  for c in $PRIV_NAMES; do
    [[ " $missing " == *" $c "* ]] && continue
    expect_no_stderr "missing $missing: message does not claim $c is missing" "does not have [^(;]*$c"
  done
  # How to grant it: a grant line (setpriv's --ambient-caps, docker's --cap-add,
  # systemd's AmbientCapabilities=, or --capabilities add=) that names it.
  for c in $missing; do
    local short=${c#cap_}
    expect_stderr "missing $missing: message says how to grant $c" \
      "(--ambient-caps=[^ ]*\+$short|--cap-add=${short^^}|AmbientCapabilities=.*${c^^}|--capabilities add=[^ ]*$c)"
  done
  if grep -q "events.*cancelled\|running 1 events" "$ERR"; then
    fail "missing $missing: the sensor went on to run: $(cat "$ERR")"
  fi
}
others() { local c; for c in $PRIV_NAMES; do [[ $c == "$1" ]] || printf ',+%s' "${c#cap_}"; done; }
for c in $PRIV_NAMES; do
  check_missing "$c" "$c" "-all$(others "$c")"
done
# shellcheck disable=SC2086
check_missing none "$(echo $PRIV_NAMES)" "-all"
finish
