#!/usr/bin/env bash
# Issue 11 items 5 and 6, issue 9 item 13, with the real binary as root:
#  - started as root it leaves uid 0 after set-up (nobody, or vigil when that
#    user exists): Uid and CapEff of every thread;
#  - SIGHUP after a logrotate-style rename: new events go to the new file,
#    none is lost or written twice;
#  - GET /metrics parses with prometheus_client's text parser;
#  - GET /healthz turns 503 naming the output once its directory becomes
#    unwritable and the file cannot be reopened;
#  - --config supplies the flags (the command line wins).
set -euo pipefail
VIGIL=$1
[[ $(id -u) == 0 ]] || { echo "needs root"; exit 77; }
/usr/bin/python3 -c "import prometheus_client" 2>/dev/null || { echo "FAIL: python3-prometheus-client is missing (tools/install-deps.sh)"; exit 1; }
tmp=$(mktemp -d /tmp/vigil-reload.XXXXXX)
sensor=
trap '[[ -n $sensor ]] && kill -KILL $sensor 2>/dev/null; chmod -R u+rwx "$tmp"; rm -rf "$tmp"' EXIT
FAILED=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
user=$(getent passwd vigil >/dev/null && echo vigil || echo nobody)
uid=$(id -u "$user")
# A directory the unprivileged user may create files in (it reopens after rotation).
chown "$user" "$tmp"
chmod 0700 "$tmp"
marker=$tmp/marker
cat >"$tmp/vigil.yaml" <<YAML
events: [openat]
output: [json:$tmp/events.json]
listen: 127.0.0.1:0
log-level: warn
YAML
"$VIGIL" --config "$tmp/vigil.yaml" --log-level info -s comm=cat --ready-file "$tmp/ready" --duration 60s \
  2>"$tmp/stderr" &
sensor=$!
for _ in $(seq 200); do [[ -s $tmp/ready ]] && break; sleep 0.05; done
[[ -s $tmp/ready ]] || { cat "$tmp/stderr"; echo "FAIL: not ready"; exit 1; }
port=$(sed -n 's/.*serving \/healthz and \/metrics on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/stderr")
[[ -n $port ]] && pass "--config listen: serving on port $port (log-level info from the command line)" ||
  fail "no 'serving' line (the command line's --log-level info should win): $(cat "$tmp/stderr")"

# --- uid and capabilities of every thread
threads=0
for st in /proc/$sensor/task/*/status; do
  [[ $(awk '$1=="Uid:" {print $2 $3 $4 $5}' "$st") == "$uid$uid$uid$uid" ]] || fail "$st: $(grep Uid: "$st")"
  [[ $(awk '$1=="CapEff:" {print $2}' "$st") == 0000000000000000 ]] || fail "$st: $(grep CapEff: "$st")"
  [[ $(awk '$1=="CapPrm:" {print $2}' "$st") == 0000000000000000 ]] || fail "$st: $(grep CapPrm: "$st")"
  threads=$((threads + 1))
done
pass "$threads threads: uid $uid ($user), no capability"

# --- SIGHUP after a rename
for i in 1 2 3; do cat "$marker-before-$i" 2>/dev/null || true; done
for _ in $(seq 40); do [[ $(grep -c "marker-before" "$tmp/events.json" 2>/dev/null) == 3 ]] && break; sleep 0.1; done
mv "$tmp/events.json" "$tmp/events.json.1"
kill -HUP "$sensor"
for _ in $(seq 40); do [[ -e $tmp/events.json ]] && break; sleep 0.05; done
for i in 1 2 3; do cat "$marker-after-$i" 2>/dev/null || true; done
for _ in $(seq 40); do [[ $(grep -c "marker-after" "$tmp/events.json" 2>/dev/null) == 3 ]] && break; sleep 0.1; done
[[ $(stat -c '%a %U' "$tmp/events.json") == "600 $user" ]] && pass "reopened events.json is 0600 $user" ||
  fail "reopened events.json: $(stat -c '%a %U' "$tmp/events.json" 2>&1)"
before_old=$(grep -c "marker-before" "$tmp/events.json.1" || true)
after_new=$(grep -c "marker-after" "$tmp/events.json" || true)
before_new=$(grep -c "marker-before" "$tmp/events.json" || true)
after_old=$(grep -c "marker-after" "$tmp/events.json.1" || true)
[[ $before_old == 3 && $after_new == 3 && $before_new == 0 && $after_old == 0 ]] &&
  pass "SIGHUP: 3 events before in the old file, 3 after in the new one, none twice" ||
  fail "SIGHUP: before: $before_old old/$before_new new, after: $after_old old/$after_new new"
for f in "$tmp/events.json.1" "$tmp/events.json"; do
  jq -e . "$f" >/dev/null 2>&1 || fail "$f holds a line that is not JSON"
done
grep -q "1 of 1 outputs reopened" "$tmp/stderr" && pass "reload logged" || fail "no reload line: $(cat "$tmp/stderr")"

# --- /metrics through a real Prometheus text parser; /healthz 200
sleep 0.3  # the snapshot is republished every 250 ms
curl -sf "http://127.0.0.1:$port/metrics" >"$tmp/metrics" || fail "GET /metrics failed"
if /usr/bin/python3 - "$tmp/metrics" >"$tmp/parsed" 2>&1 <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
families = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
def value(name, **labels):
    for s in families[name].samples:
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise SystemExit(f"no sample {name} {labels}")
emitted = value("vigil_events_emitted")  # the parser drops _total from counter family names
assert emitted >= 6, emitted
assert value("vigil_reloads") == 1
assert value("vigil_events_attached") == 1
assert value("vigil_output_failing") == 0
print(f"{len(families)} families, emitted {emitted:.0f}")
PY
then pass "/metrics parsed by prometheus_client: $(cat "$tmp/parsed")"; else fail "/metrics: $(cat "$tmp/parsed") $(grep -v "^#" "$tmp/metrics")"; fi
code=$(curl -s -o "$tmp/h" -w '%{http_code}' "http://127.0.0.1:$port/healthz")
[[ $code == 200 ]] && pass "/healthz 200 $(cat "$tmp/h")" || fail "/healthz $code $(cat "$tmp/h")"

# --- the output directory becomes unwritable: the reopen fails, /healthz says so
mv "$tmp/events.json" "$tmp/events.json.2"
chmod 0500 "$tmp"
kill -HUP "$sensor"
code=
for _ in $(seq 40); do
  code=$(curl -s -o "$tmp/h" -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)
  [[ $code == 503 ]] && break
  sleep 0.1
done
[[ $code == 503 ]] && grep -q "output json:$tmp/events.json is failing" "$tmp/h" &&
  pass "/healthz 503 $(cat "$tmp/h")" || fail "/healthz after the directory became unwritable: $code $(cat "$tmp/h")"
cat "$marker-while-failing" 2>/dev/null || true
sleep 0.3
grep -q "marker-while-failing" "$tmp/events.json.2" && pass "events still reach the old file" ||
  fail "the event made while the reopen failed is lost"
chmod 0700 "$tmp"
kill -HUP "$sensor"
for _ in $(seq 40); do
  code=$(curl -s -o "$tmp/h" -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)
  [[ $code == 200 ]] && break
  sleep 0.1
done
[[ $code == 200 ]] && pass "/healthz 200 again once the output reopens" || fail "/healthz stays $code: $(cat "$tmp/h")"

kill -INT "$sensor"
rc=0
wait "$sensor" || rc=$?
sensor=
[[ $rc == 0 ]] && pass "clean stop" || fail "exit status $rc: $(tail -5 "$tmp/stderr")"
exit "$FAILED"
