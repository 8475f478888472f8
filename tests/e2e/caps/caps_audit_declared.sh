#!/usr/bin/env bash
# Issue 3, test 5: `vigil caps audit` over a selection reports no
# used-but-undeclared capability on this kernel, and every declared capability
# (each ring of `vigil caps plan` for the same selection) was either observed
# (granted in some phase) or is listed in declared_unused with a reason.
#
#   caps_audit_declared.sh VIGIL [EVENTS [no-tracefs]]
#     EVENTS      -e EVENTS; empty or "default": the default selection (no -e)
#     no-tracefs  in a private mount namespace without tracefs and bpffs, so that
#                 the Specific ring (mounting tracefs) is declared as well
source "$(dirname "$0")/caps_lib.sh"

SEL=()
[[ -n "${2:-}" && ${2:-} != default ]] && SEL=(-e "$2")
[[ ${3:-} == no-tracefs ]] && reexec_without_tracefs
PLAN=$(plan_json "${SEL[@]}")
DECLARED=$(jq -r '[.rings.base[].cap, .rings.ebpf[].cap, .rings.specific[].cap] | unique | .[]' <<<"$PLAN")
log "selection $(jq -r .selection <<<"$PLAN"): declared $(echo $DECLARED)"
[[ -n "$DECLARED" ]] || die "the plan declares no capability at all: $PLAN"

# -o keeps the events out of stdout, which holds the report (see caps_audit_stdout.sh).
run_vigil audit "$VIGIL" caps audit "${SEL[@]}" --duration 3s --format json -o "json:$WORK/events.json"
expect_rc "caps audit ${SEL[*]:-(default selection)}" 0 || finish
REPORT=$(cat "$OUT")
jq -e '(.checks | type == "array") and (.used_undeclared | type == "array") and (.declared_unused | type == "array")' \
  <<<"$REPORT" >/dev/null || die "caps audit --format json: not the report: $(head -c 2000 "$OUT")"
[[ $(jq -r .selection <<<"$REPORT") == $(jq -r .selection <<<"$PLAN") ]] ||
  fail "audit selection '$(jq -r .selection <<<"$REPORT")' differs from the plan's '$(jq -r .selection <<<"$PLAN")'"
(($(jq '.checks | length' <<<"$REPORT") > 0)) || fail "the audit recorded no capability check at all"

lost=$(jq '.lost' <<<"$REPORT")
[[ "$lost" == 0 ]] && pass "no capability check lost" ||
  fail "the audit lost $lost of the kernel's capability checks, so its verdict is incomplete (checks recorded: $(jq .checks_recorded <<<"$REPORT"); phases seen: $(jq -c '[.checks[].phase] | unique' <<<"$REPORT"))"

used=$(jq -c .used_undeclared <<<"$REPORT")
[[ $used == "[]" ]] && pass "no used-but-undeclared capability" || fail "used but undeclared: $used"

for cap in $DECLARED; do
  if jq -e --arg c "$cap" 'any(.checks[]; .capability == $c and .granted)' <<<"$REPORT" >/dev/null; then
    pass "declared $cap was observed (granted)"
    if jq -e --arg c "$cap" 'any(.declared_unused[]; startswith($c))' <<<"$REPORT" >/dev/null; then
      fail "$cap was granted but is also listed as declared-but-unused: $(jq -c .declared_unused <<<"$REPORT")"
    fi
  else
    entry=$(jq -r --arg c "$cap" '.declared_unused[] | select(startswith($c + " ") or . == $c)' <<<"$REPORT")
    if [[ -z "$entry" ]]; then
      fail "declared $cap was neither observed nor listed in declared_unused: $(jq -c .declared_unused <<<"$REPORT")"
    elif [[ ! $entry =~ ^$cap\ .*:\ [^[:space:]] ]]; then
      fail "declared_unused lists $cap without a reason: '$entry'"
    else
      pass "declared $cap unused here, explained: $entry"
    fi
  fi
done
finish
