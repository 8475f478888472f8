#!/usr/bin/env bash
# Issue 3, test 2: during load and attach the control thread's effective set is
# Base ∪ EBPF, and it is back to Base afterwards, as the kernel itself saw it
# (`vigil caps audit`, from the capability:cap_capable tracepoint):
#  - in phases "load", "attach" and "ring-buffer set-up" a check is granted
#    exactly when its capability is in Base ∪ EBPF, and every capability of the
#    kernel's eBPF privilege was checked and granted there;
#  - in "steady state" a check is granted exactly when its capability is in Base.
#
#   caps_audit_rings.sh VIGIL [SELECTION]   (default: openat,execve)
source "$(dirname "$0")/caps_lib.sh"

SELECTION=${2:-openat,execve}
PLAN=$(plan_json -e "$SELECTION")
BASE=$(plan_base "$PLAN")
EBPF=$(plan_ebpf "$PLAN")
RAISED=$((BASE | EBPF))
PRIVILEGE=$(plan_mask "$PLAN" '[.rings.ebpf[] | select(any(.needed_by[]; startswith("kernel:"))) | .cap]')
log "plan: base=$(names_of "$BASE") ebpf=$(names_of "$EBPF") kernel eBPF privilege=$(names_of "$PRIVILEGE")"
((PRIVILEGE != 0)) || die "the plan names no kernel eBPF privilege in the ebpf ring: $PLAN"

# -o keeps the events out of stdout, which holds the report (see caps_audit_stdout.sh).
run_vigil audit "$VIGIL" caps audit -e "$SELECTION" --duration 3s --format json -o "json:$WORK/audit-events.json"
expect_rc "caps audit -e $SELECTION" 0 || finish
jq -e '.checks | type == "array"' "$OUT" >/dev/null || die "caps audit --format json: stdout is not the report: $(head -c 2000 "$OUT")"
REPORT=$(cat "$OUT")

lost=$(jq '.lost' <<<"$REPORT")
[[ "$lost" == 0 ]] || fail "the audit lost $lost capability checks; the phases below may be incomplete"
# (Steady state may legitimately make no check at all; when it does, the check below applies.)
for phase in load attach; do
  jq -e --arg p "$phase" 'any(.checks[]; .phase == $p)' <<<"$REPORT" >/dev/null ||
    fail "the audit recorded no capability check in phase '$phase'"
done

# check_phase PHASES_JSON_ARRAY RING_MASK RING_NAME
check_phase() {
  local phases=$1 ring=$2 ring_name=$3 cap granted count phase num
  while IFS=$'\t' read -r phase cap granted count; do
    [[ -z "$phase" ]] && continue
    num=${CAP_NUM[$cap]:-}
    [[ -n "$num" ]] || { fail "audit names an unknown capability '$cap'"; continue; }
    if (((ring >> num) & 1)); then
      if [[ $granted == true ]]; then
        pass "$phase: $cap granted ($count) — in $ring_name"
      else
        fail "$phase: $cap denied $count time(s), but it is in $ring_name ($(names_of "$ring")): the ring was not in force"
      fi
    else
      if [[ $granted == true ]]; then
        fail "$phase: $cap granted $count time(s), but it is not in $ring_name ($(names_of "$ring")): the effective set held more than the ring"
      else
        pass "$phase: $cap denied ($count) — outside $ring_name"
      fi
    fi
  done < <(jq -r --argjson ps "$phases" \
    '.checks[] | select(.phase as $p | $ps | index($p)) | [.phase, .capability, .granted, .count] | @tsv' <<<"$REPORT")
}

check_phase '["load","attach","ring-buffer set-up"]' "$RAISED" "Base ∪ EBPF"
check_phase '["steady state"]' "$BASE" "Base"

# The privilege was really used while raised (not merely never checked).
for cap in $(jq -r '[.rings.ebpf[] | select(any(.needed_by[]; startswith("kernel:"))) | .cap] | .[]' <<<"$PLAN"); do
  if jq -e --arg c "$cap" \
      'any(.checks[]; (.phase == "load" or .phase == "attach") and .capability == $c and .granted)' \
      <<<"$REPORT" >/dev/null; then
    pass "$cap checked and granted during load/attach"
  else
    fail "$cap (kernel eBPF privilege) was never granted during load or attach"
  fi
done
# ... and attach in particular raised the ring (attach happens after load, in its
# own scope; attaching syscall tracepoints goes through perf_event_open).
jq -e --argjson names "$(jq -c '[.rings.ebpf[].cap]' <<<"$PLAN")" \
  'any(.checks[]; .phase == "attach" and .granted and (.capability as $c | $names | index($c)))' \
  <<<"$REPORT" >/dev/null || fail "no EBPF-ring capability was granted during attach"
finish
