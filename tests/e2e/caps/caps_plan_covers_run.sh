#!/usr/bin/env bash
# `vigil caps plan` describes the run: every capability the kernel granted the
# sensor once it had hardened (any phase but plain "start-up", which is before
# the rings are in force) is in one of the plan's rings for the same selection
# and the same process. Otherwise the plan (and the grant it prints) hides a
# capability the sensor really raises.
#
#   caps_plan_covers_run.sh VIGIL [EVENTS]   (default: openat)
source "$(dirname "$0")/caps_lib.sh"

EVENTS=${2:-openat}
PLAN=$(plan_json -e "$EVENTS")
RINGS=$(( $(plan_base "$PLAN") | $(plan_ebpf "$PLAN") | $(plan_specific "$PLAN") ))
log "caps plan -e $EVENTS: rings hold $(names_of "$RINGS")"

run_vigil audit "$VIGIL" caps audit -e "$EVENTS" --duration 2s --format json -o "json:$WORK/events.json"
expect_rc "caps audit -e $EVENTS" 0 || finish
REPORT=$(cat "$OUT")
jq -e '.checks | type == "array"' <<<"$REPORT" >/dev/null || die "not the audit report: $(head -c 1000 "$OUT")"

while IFS=$'\t' read -r phase cap count; do
  [[ -z "$phase" ]] && continue
  n=${CAP_NUM[$cap]:-}
  [[ -n "$n" ]] || { fail "unknown capability '$cap' in the audit"; continue; }
  if (((RINGS >> n) & 1)); then
    pass "$phase: granted $cap is in the plan"
  else
    fail "$phase: the kernel granted $cap ($count checks), but 'vigil caps plan -e $EVENTS' lists it in no ring ($(names_of "$RINGS"))"
  fi
done < <(jq -r '.checks[] | select(.granted and .phase != "start-up") | [.phase, .capability, .count] | @tsv' <<<"$REPORT")
finish
