#!/usr/bin/env bash
# Issue 3, test 3 (cancellation): root with the bounding set reduced to the
# kernel's eBPF privilege (bpf, perfmon). An event that declares CAP_NET_ADMIN or
# CAP_SYS_PTRACE (base or ebpf) is cancelled with SPEC §3's message
#   event NAME cancelled: needs CAP_X (ring), which this process does not have (permitted: ...)
# (and so are the events that depend on it), while the rest of the selection
# runs; when it is the only event selected, the exit status is 1.
# The event is taken from `vigil list --json`; until the registry has one, this
# test is skipped (exit 77) saying so.
source "$(dirname "$0")/caps_lib.sh"

LIST=$("$VIGIL" list --json) || die "vigil list --json failed"
jq -e 'type == "array" and length > 0 and all(.[]; .capabilities.base and .capabilities.ebpf)' <<<"$LIST" >/dev/null ||
  die "vigil list --json: unexpected shape (expected [{name, capabilities: {base, ebpf}}])"

# name <TAB> ring <TAB> cap, for every declaration of CAP_NET_ADMIN/CAP_SYS_PTRACE.
norm='ascii_downcase | if startswith("cap_") then . else "cap_" + . end'
DECLS=$(jq -r "
  .[] | .name as \$n
  | (.capabilities.base[] | ($norm) | select(. == \"cap_net_admin\" or . == \"cap_sys_ptrace\") | [\$n, \"base\", .]),
    (.capabilities.ebpf[] | ($norm) | select(. == \"cap_net_admin\" or . == \"cap_sys_ptrace\") | [\$n, \"ebpf\", .])
  | @tsv" <<<"$LIST")
if [[ -z "$DECLS" ]]; then
  skip "no event in the registry declares CAP_NET_ADMIN/CAP_SYS_PTRACE yet"
fi
IFS=$'\t' read -r EVENT RING CAP <<<"$(head -n 1 <<<"$DECLS")"
log "event $EVENT declares ${CAP^^} in its $RING capabilities"
[[ $EVENT != openat ]] || die "openat itself declares ${CAP^^}; this test needs it as the event that keeps running"

REDUCED=(setpriv --bounding-set=-all,+bpf,+perfmon --inh-caps=-all)
PERMITTED=$(mask_of cap_bpf cap_perfmon)

# check_cancel_message EVENT STDERR_FILE: SPEC §3's message for EVENT, naming CAP in RING.
check_cancel_message() {
  local ev=$1 file=$2 line
  line=$(grep -F "event $ev cancelled: needs " "$file" | head -n 1)
  if [[ -z "$line" ]]; then
    fail "no 'event $ev cancelled: needs ...' message; stderr:
$(cat "$file")"
    return
  fi
  line=${line#*event "$ev" cancelled: }
  local re='^needs ([A-Z_,]+) \((base|ebpf)\)( and ([A-Z_,]+) \(ebpf\))?, which this process does not have \(permitted: ([a-z_,]+)\)$'
  if [[ ! $line =~ $re ]]; then
    fail "cancellation of $ev does not have SPEC §3's form: 'event $ev cancelled: $line'"
    return
  fi
  local first=${BASH_REMATCH[1]} first_ring=${BASH_REMATCH[2]} second=${BASH_REMATCH[4]} permitted=${BASH_REMATCH[5]}
  pass "cancellation of $ev has SPEC §3's form"
  local named_in_ring=$first
  [[ $RING == ebpf && $first_ring == base ]] && named_in_ring=$second
  [[ $RING == base && $first_ring != base ]] && named_in_ring=""
  if [[ ",$named_in_ring," == *",${CAP^^},"* ]]; then
    pass "cancellation of $ev names ${CAP^^} ($RING)"
  else
    fail "cancellation of $ev does not name ${CAP^^} as missing from its $RING capabilities: 'event $ev cancelled: $line'"
  fi
  # shellcheck disable=SC2046
  expect_mask "permitted set named in the cancellation of $ev" "$(mask_of $(tr ',' ' ' <<<"$permitted"))" "$PERMITTED"
}

# --- the event is cancelled, openat keeps running
start_sensor cancel "${REDUCED[@]}" -- -e "$EVENT,openat" --duration 60s
check_cancel_message "$EVENT" "$SENSOR_ERR"
expect_open_event "$WORK/cancel-open"
stop_sensor
grep -q "running .*openat" "$SENSOR_ERR" || fail "openat is not reported as running: $(cat "$SENSOR_ERR")"

# --- its dependents go with it
DEPENDENTS=$(jq -r --arg n "$EVENT" --argjson id "$(jq --arg n "$EVENT" '.[] | select(.name == $n) | .id' <<<"$LIST")" \
  '.[] | select(any(.dependencies[]?; (. == $n) or (. == $id) or (.name? == $n) or (.id? == $id))) | .name' <<<"$LIST" | head -n 3)
for dep in $DEPENDENTS; do
  run_vigil "dependent-$dep" "${REDUCED[@]}" "$VIGIL" -e "$dep,openat" --duration 1s -o "json:$WORK/dep-$dep.json"
  expect_rc "-e $dep,openat with $EVENT cancelled" 0
  expect_stderr "$dep (depends on $EVENT) is cancelled too" "event $dep cancelled"
done

# --- nothing left: exit 1
run_vigil alone "${REDUCED[@]}" "$VIGIL" -e "$EVENT" --duration 5s -o "json:$WORK/alone.json"
expect_rc "-e $EVENT alone, cancelled" 1
check_cancel_message "$EVENT" "$ERR"
finish
