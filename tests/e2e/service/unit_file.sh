#!/usr/bin/env bash
# packaging/vigil.service grants exactly what `vigil caps plan` prints for the
# shipped config (so they cannot drift), keeps the directives the service
# relies on, and scores at most 2.0 in `systemd-analyze security`.
#   unit_file.sh VIGIL SOURCE_DIR
set -euo pipefail
VIGIL=$1
SRC=$2
UNIT=$SRC/packaging/vigil.service
FAILED=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
# The shipped config names /etc/vigil/policies, which the package fills with
# policies/default.yaml; here the source tree's copy stands in for it.
plan=$("$VIGIL" caps plan --config "$SRC/packaging/vigil.yaml" -p "$SRC/policies/default.yaml" --format systemd)
for key in CapabilityBoundingSet AmbientCapabilities NoNewPrivileges; do
  want=$(grep -E "^$key=" <<<"$plan")
  got=$(grep -E "^$key=" "$UNIT")
  [[ -n $want && $got == "$want" ]] && pass "$got" ||
    fail "vigil.service has '$got', vigil caps plan prints '$want' (regenerate it: vigil caps plan --config packaging/vigil.yaml --format systemd)"
done
for d in Type=notify User=vigil 'ExecStart=/usr/bin/vigil --config /etc/vigil/vigil.yaml' \
  'ExecReload=/bin/kill -HUP $MAINPID' LogsDirectory=vigil UMask=0077 ProtectSystem=strict; do
  grep -qxF "$d" "$UNIT" && pass "$d" || fail "vigil.service lacks $d"
done
grep -qE '^WatchdogSec=[0-9]+' "$UNIT" && pass "$(grep -E '^WatchdogSec=' "$UNIT")" || fail "no WatchdogSec="
if command -v systemd-analyze >/dev/null; then
  score=$(systemd-analyze security --offline=true "$UNIT" 2>&1 | sed -n 's/.*Overall exposure level for vigil.service: \([0-9.]*\).*/\1/p')
  [[ -n $score ]] && awk -v s="$score" 'BEGIN {exit !(s <= 2.0)}' && pass "systemd-analyze security: $score" ||
    fail "systemd-analyze security: '${score}' (want <= 2.0)"
  verify=$(systemd-analyze verify "$UNIT" 2>&1 | grep -v -e 'vigil: command /usr/bin/vigil is not executable' \
    -e 'Failed to prepare filename' -e 'No such file or directory' || true)
  [[ -z $verify ]] || echo "note: systemd-analyze verify: $verify"
else
  fail "systemd-analyze is missing (apt install systemd)"
fi
exit "$FAILED"
