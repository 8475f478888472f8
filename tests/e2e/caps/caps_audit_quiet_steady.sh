#!/usr/bin/env bash
# Issue 9, item 16: once set-up is over the sensor makes no privileged check the
# kernel denies. Under policies/default.yaml, with a burst of activity that
# grows the sensor's heap and a stop that releases every link, `vigil caps
# audit` shows no denied check in the steady state. (The kernel's overcommit
# accounting asks for CAP_SYS_ADMIN on every private writable mapping the heap
# or a new thread stack creates: these were 33 denied checks per run. Reading
# /proc/<pid>/exe of another user's process, for a process the tree did not
# know, was a denied CAP_SYS_PTRACE check now and then.)
#
#   caps_audit_quiet_steady.sh VIGIL
source "$(dirname "$0")/caps_lib.sh"
POLICY="$(cd "$(dirname "$0")/../../.." && pwd)/policies/default.yaml"

# Activity during the steady state: a few thousand opens and execs.
# The load runs until the audit ends (start-up time varies: a cold machine
# takes longer to load the programs), so it always overlaps the steady state.
( while :; do cat /etc/hostname /etc/passwd >/dev/null; /bin/true; sleep 0.01; done ) &
LOAD=$!
run_vigil audit "$VIGIL" caps audit -p "$POLICY" --duration 4s --format json -o "json:$WORK/events.json"
kill "$LOAD" 2>/dev/null
wait "$LOAD" 2>/dev/null
expect_rc "caps audit -p default.yaml" 0 || finish
REPORT=$(cat "$OUT")
jq -e '.checks | type == "array"' <<<"$REPORT" >/dev/null || die "stdout is not the audit report: $(head -c 2000 "$OUT")"
[[ $(jq '.lost' <<<"$REPORT") == 0 ]] || fail "the audit lost capability checks"
[[ -s "$WORK/events.json" ]] || fail "the sensor emitted no event during the steady state (the test's load did not run?)"
denied=$(jq -r '[.checks[] | select(.phase == "steady state" and (.granted | not))
                 | "\(.capability) x\(.count)"] | join(", ")' <<<"$REPORT")
if [[ -z "$denied" ]]; then
  pass "steady state: no denied check"
else
  fail "steady state: denied checks: $denied"
fi
finish
