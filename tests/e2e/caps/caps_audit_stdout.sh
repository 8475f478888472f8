#!/usr/bin/env bash
# `vigil caps audit --format json` prints the report on stdout; with no -o,
# stdout must hold that report alone (one JSON document), not the event table
# of the default sink followed by the report. (-o is documented as "also write
# events", so without it no events are written.) The text format likewise
# starts with its heading.
source "$(dirname "$0")/caps_lib.sh"

run_vigil audit-json "$VIGIL" caps audit -e openat --duration 2s --format json
expect_rc "caps audit --format json (no -o)" 0 || finish
if jq -e -s 'length == 1 and (.[0].checks | type == "array")' "$OUT" >/dev/null 2>&1; then
  pass "stdout is exactly one JSON report"
else
  fail "stdout of 'caps audit --format json' is not one JSON document; it starts with:
$(head -c 600 "$OUT")"
fi

run_vigil audit-text "$VIGIL" caps audit -e openat --duration 2s
expect_rc "caps audit (text, no -o)" 0 || finish
if [[ $(head -n 1 "$OUT") == "capability audit for "* ]]; then
  pass "text report starts with its heading"
else
  fail "stdout of 'caps audit' does not start with the report; it starts with:
$(head -n 3 "$OUT")"
fi
finish
