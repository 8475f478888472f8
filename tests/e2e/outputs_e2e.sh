#!/usr/bin/env bash
# End-to-end tests of the outputs (issue 12, issue 9 items 10, 11, 14): the
# real binary writing to files someone tampered with, to pipes that stall or
# close, to a full disk, and to real servers started here on loopback:
# rsyslog, an HTTP server (python3), librdkafka's mock Kafka cluster.
#
#   outputs_e2e.sh VIGIL SUPPORT_DIR CASE
#
# SUPPORT_DIR holds the built helpers (kafka_mock). Exit: 0 pass, 1 fail, 77 skipped.
set -uo pipefail

VIGIL=${1:?usage: outputs_e2e.sh VIGIL SUPPORT_DIR CASE}
SUPPORT=${2:?usage: outputs_e2e.sh VIGIL SUPPORT_DIR CASE}
CASE=${3:?usage: outputs_e2e.sh VIGIL SUPPORT_DIR CASE}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }

WORK=$(mktemp -d /tmp/vigil-outputs.XXXXXX)
chmod 755 "$WORK"
SENSOR_PID=
BACKGROUND=()
FAILURES=0
cleanup() {
  if [[ -n "$SENSOR_PID" ]] && kill -0 "$SENSOR_PID" 2>/dev/null; then kill -KILL "$SENSOR_PID"; fi
  for p in "${BACKGROUND[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  mountpoint -q "$WORK/small" 2>/dev/null && umount "$WORK/small"
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "[$CASE] $*" >&2; }
fail() {
  echo "[$CASE] FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}
pass() { echo "[$CASE] ok: $*" >&2; }
die() {
  fail "$*"
  finish
}
skip() {
  echo "[$CASE] SKIPPED: $*" >&2
  exit 77
}
finish() {
  if ((FAILURES > 0)); then
    log "$FAILURES check(s) failed"
    exit 1
  fi
  log "passed"
  exit 0
}
need_root() { [[ $(id -u) == 0 ]] || skip "the sensor loads BPF programs and needs root"; }
expect() {  # expect DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ms_now() { date +%s%3N; }
listening() { python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null; }

# Events come from opens of files under $WORK/gen only.
mkdir -p "$WORK/gen"
SELECT=(-e "openat.data.pathname=$WORK/gen/*")
# make_events N [PREFIX [PAUSE_S]]: N opens (creating gen/PREFIX-i), each one event, PAUSE_S apart.
make_events() {
  python3 - "$WORK/gen" "$1" "${2:-f}" "${3:-0}" <<'PY'
import os, sys, time
d, n, prefix, pause = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
for i in range(n):
    os.close(os.open(f"{d}/{prefix}-{i}", os.O_WRONLY | os.O_CREAT, 0o600))
    if pause:
        time.sleep(pause)
PY
}

# start_sensor ARGS...: vigil in the background, waits until it is ready.
start_sensor() {
  rm -f "$WORK/ready"
  "$VIGIL" "${SELECT[@]}" "$@" --ready-file "$WORK/ready" 2>"$WORK/stderr" &
  SENSOR_PID=$!
  local deadline=$((SECONDS + 30))
  while [[ ! -s $WORK/ready ]]; do
    if ! kill -0 "$SENSOR_PID" 2>/dev/null; then
      wait "$SENSOR_PID"
      die "vigil exited ($?) before it was ready: $(tail -n 20 "$WORK/stderr")"
    fi
    ((SECONDS < deadline)) || die "vigil not ready after 30 s: $(tail -n 20 "$WORK/stderr")"
    sleep 0.05
  done
}
# stop_sensor [SIGNAL] [MAX_MS]: stops it and checks that it exits in time (default 2 s) with 0.
stop_sensor() {
  local sig=${1:-INT} max=${2:-2000} t0 rc
  t0=$(ms_now)
  kill -"$sig" "$SENSOR_PID"
  wait "$SENSOR_PID"
  rc=$?
  local took=$(($(ms_now) - t0))
  SENSOR_PID=
  ((rc == 0)) && pass "vigil exited 0 after SIG$sig" || fail "vigil exited $rc after SIG$sig: $(tail -n 5 "$WORK/stderr")"
  ((took <= max)) && pass "stopped in $took ms (<= $max)" || fail "stop took $took ms (> $max)"
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
json_field_count() { jq -s "$1" "$2"; }

# ------------------------------------------------------------ files (issue 9 item 10)

case_bad_targets() {  # no BPF: outputs are opened before anything loads
  local t out
  for t in "syslog:udp://127.0.0.1" "webhook:ftp://x/" "kafka:127.0.0.1:9092" "nope:1" "json:"; do
    out=$("$VIGIL" -e openat -o "$t" 2>&1)
    local rc=$?
    [[ $rc == 2 && $out == *"$t"* ]] && pass "-o $t: exit 2 naming it" || fail "-o $t: exit $rc: $out"
  done
  out=$("$VIGIL" -e openat -o json --output-filter webhook:detections 2>&1)
  [[ $? == 2 && $out == *"no -o output is of kind 'webhook'"* ]] && pass "--output-filter for a missing output: exit 2" ||
    fail "--output-filter webhook without a webhook: $out"
  out=$("$VIGIL" -e openat -o json --output-filter "json:severity>=7" 2>&1)
  [[ $? == 2 && $out == *"Severity from 0"* ]] && pass "--output-filter severity>=7: exit 2" || fail "severity>=7: $out"
  out=$("$VIGIL" -e openat -o kafka:127.0.0.1:1/t --kafka-opt no.such.setting=1 2>&1)
  [[ $? == 2 && $out == *"no.such.setting"* ]] && pass "--kafka-opt unknown setting: exit 2 naming it" || fail "--kafka-opt: $out"
  out=$("$VIGIL" -e openat -o webhook:http://127.0.0.1:1/ --webhook-format xml 2>&1)
  [[ $? == 2 && $out == *"expected json or falco"* ]] && pass "--webhook-format xml: exit 2" || fail "--webhook-format: $out"
  finish
}

case_symlink() {
  need_root
  echo "precious" >"$WORK/victim"
  chmod 0644 "$WORK/victim"
  ln -s "$WORK/victim" "$WORK/events.json"
  local out rc
  out=$("$VIGIL" "${SELECT[@]}" -o "json:$WORK/events.json" --duration 1s 2>&1)
  rc=$?
  [[ $rc == 2 && $out == *"symbolic link"* ]] && pass "a symlink at the path: exit 2, named" || fail "symlink: exit $rc: $out"
  [[ $(cat "$WORK/victim") == precious && $(stat -c %a "$WORK/victim") == 644 ]] &&
    pass "the symlink's target is neither truncated nor chmod'ed" || fail "victim changed: $(stat -c %a "$WORK/victim")"
  finish
}

case_planted() {
  need_root
  install -m 0666 -o 65534 -g 65534 /dev/null "$WORK/events.json"
  local out rc
  out=$("$VIGIL" "${SELECT[@]}" -o "json:$WORK/events.json" --duration 1s 2>&1)
  rc=$?
  [[ $rc == 2 && $out == *"owned by uid 65534"* ]] && pass "a file planted by another user: exit 2, named" ||
    fail "planted: exit $rc: $out"
  [[ $(stat -c %a:%u "$WORK/events.json") == 666:65534 && ! -s $WORK/events.json ]] &&
    pass "the planted file got no event and kept its mode" || fail "planted file changed: $(stat -c %a:%u "$WORK/events.json")"
  finish
}

case_fifo() {
  need_root
  mkfifo "$WORK/events.json"
  local t0 out rc
  t0=$(ms_now)
  out=$(timeout 10 "$VIGIL" "${SELECT[@]}" -o "json:$WORK/events.json" --duration 1s 2>&1)
  rc=$?
  [[ $rc == 2 && $out == *"FIFO"* ]] && pass "a FIFO: exit 2, named" || fail "FIFO: exit $rc: $out"
  (($(ms_now) - t0 < 2000)) && pass "start-up did not hang on the FIFO" || fail "took $(($(ms_now) - t0)) ms"
  finish
}

case_devnull() {
  need_root
  local before after
  before=$(stat -c %a /dev/null)
  start_sensor -o json:/dev/null
  make_events 20
  stop_sensor INT
  after=$(stat -c %a /dev/null)
  [[ $before == "$after" ]] && pass "/dev/null keeps mode $before" || fail "/dev/null mode $before -> $after"
  grep -q 'json:/dev/null sent 20' "$WORK/stderr" && pass "20 events sent to /dev/null" ||
    fail "stop summary: $(grep stopped "$WORK/stderr")"
  finish
}

case_append() {
  need_root
  echo '{"previous":"run"}' >"$WORK/events.json"
  chmod 0600 "$WORK/events.json"
  start_sensor -o "json:$WORK/events.json" -o "json:$WORK/new.json"
  make_events 10
  stop_sensor INT
  [[ $(head -n 1 "$WORK/events.json") == '{"previous":"run"}' ]] && pass "the previous run's line survives (append, no truncation)" ||
    fail "first line: $(head -n 1 "$WORK/events.json")"
  (($(wc -l <"$WORK/events.json") == 11)) && pass "10 events appended" || fail "$(wc -l <"$WORK/events.json") lines"
  [[ $(stat -c %a "$WORK/new.json") == 600 ]] && pass "a new file is created 0600" || fail "new file mode $(stat -c %a "$WORK/new.json")"
  finish
}

case_filter() {  # --output-filter by position and by kind
  need_root
  start_sensor -o "json:$WORK/all.json" -o "json:$WORK/detections.json" -o "table:$WORK/cli.table" \
    --output-filter 2:detections --output-filter table:policy=cli
  make_events 20
  sleep 0.3
  stop_sensor INT
  (($(wc -l <"$WORK/all.json") == 20)) && pass "the unfiltered output got all 20 events" || fail "all: $(wc -l <"$WORK/all.json")"
  [[ ! -s $WORK/detections.json ]] && pass "the detections-only output got no plain event" || fail "detections.json not empty"
  (($(wc -l <"$WORK/cli.table") == 21)) && pass "policy=cli: header + 20 events" || fail "cli.table: $(wc -l <"$WORK/cli.table")"
  grep -q "output json:$WORK/detections.json: detections" "$WORK/stderr" && pass "the filter is announced" ||
    fail "no announcement: $(grep output "$WORK/stderr" | head -3)"
  finish
}

case_detections() {  # filters and severities with a real detection (anti_debugging: Severity 1, low)
  need_root
  start_http
  start_sensor -e anti_debugging -o "json:$WORK/all.json" -o "json:$WORK/detections.json" \
    -o "json:$WORK/high.json" -o "webhook:http://127.0.0.1:$HTTP_PORT/" --webhook-format falco \
    --output-filter 2:detections --output-filter "3:severity>=2" --output-filter webhook:detections
  make_events 5 plain
  python3 -c 'import ctypes; ctypes.CDLL(None).ptrace(0, 0, 0, 0)'  # PTRACE_TRACEME
  sleep 1.5
  stop_sensor INT
  check() { jq -s -e "$1" "$2" >/dev/null 2>&1; }
  check 'any(.[]; .eventName == "anti_debugging") and any(.[]; .eventName == "openat")' "$WORK/all.json" &&
    pass "the unfiltered output has the detection and the events" || fail "all.json: $(jq -c .eventName "$WORK/all.json" | sort | uniq -c)"
  check 'length >= 1 and all(.[]; .eventName == "anti_debugging")' "$WORK/detections.json" &&
    pass "detections-only: only the detection" || fail "detections.json: $(jq -c .eventName "$WORK/detections.json" | sort | uniq -c)"
  [[ ! -s $WORK/high.json ]] && pass "severity>=2 drops a Severity 1 detection" || fail "high.json not empty"
  python3 - "$WORK/requests.jsonl" <<'PY' && pass "the Falco payload carries the rule, priority Warning and the rule's tags" || fail "Falco payload of the detection"
import json, sys
ps = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])]
assert ps and all(p["rule"] == "anti_debugging" for p in ps), [p["rule"] for p in ps]
assert all(p["priority"] == "Warning" for p in ps), [p["priority"] for p in ps]
assert ps[0]["output"].split(": ", 1)[1].startswith("Warning A process used anti-debugging"), ps[0]["output"]
PY
  finish
}

# ------------------------------------------------------------ never stalling (item 11)

case_head_pipe() {  # vigil -o json | head -1 while a flood of events comes
  need_root
  rm -f "$WORK/ready"
  ("$VIGIL" "${SELECT[@]}" -o json -o "json:$WORK/all.json" --ready-file "$WORK/ready" 2>"$WORK/stderr" &
    echo $! >"$WORK/pid"
    wait $!
    echo $? >"$WORK/rc") | head -n 1 >"$WORK/first" &
  local pipeline=$!
  for _ in $(seq 300); do [[ -s $WORK/ready ]] && break; sleep 0.05; done
  SENSOR_PID=$(cat "$WORK/pid")
  [[ -s $WORK/ready ]] || die "not ready: $(tail "$WORK/stderr")"
  local base peak=0 r
  base=$(rss_kib "$SENSOR_PID")
  make_events 1 first
  for round in 1 2 3 4; do
    make_events 25000 "r$round"
    r=$(rss_kib "$SENSOR_PID")
    ((r > peak)) && peak=$r
  done
  sleep 0.5
  r=$(rss_kib "$SENSOR_PID")
  ((r > peak)) && peak=$r
  log "RSS: $base KiB at start, $peak KiB at most"
  jq -e . "$WORK/first" >/dev/null && pass "head got one whole JSON line" || fail "head got: $(head -c 200 "$WORK/first")"
  ((peak - base < 40 * 1024)) && pass "memory stayed bounded (+$(((peak - base) / 1024)) MiB for 100k events)" ||
    fail "RSS grew by $(((peak - base) / 1024)) MiB"
  # vigil is not this shell's child: its status comes from the subshell.
  local t0=$(ms_now)
  kill -TERM "$SENSOR_PID"
  wait "$pipeline" 2>/dev/null
  local took=$(($(ms_now) - t0))
  SENSOR_PID=
  [[ $(cat "$WORK/rc") == 0 ]] && pass "vigil exited 0 after SIGTERM" || fail "vigil exited $(cat "$WORK/rc")"
  ((took <= 2000)) && pass "stopped in $took ms" || fail "stop took $took ms"
  local warnings
  warnings=$(grep -c 'EPIPE' "$WORK/stderr")
  ((warnings >= 1 && warnings <= 10)) && pass "the closed pipe is logged ($warnings lines, at most one a second)" ||
    fail "$warnings EPIPE lines"
  grep -q "json:stdout sent [0-9]*, dropped [1-9]" "$WORK/stderr" && pass "stdout's drops are in the stop summary" ||
    fail "summary: $(grep stopped "$WORK/stderr")"
  (($(wc -l <"$WORK/all.json") > 1000)) && pass "the file output kept receiving events ($(wc -l <"$WORK/all.json"))" ||
    fail "the other output got $(wc -l <"$WORK/all.json") events"
  finish
}

case_stalled_pipe() {  # a reader that never reads: stop within 2 s anyway
  need_root
  mkfifo "$WORK/pipe"
  sleep 60 <"$WORK/pipe" &
  BACKGROUND+=($!)
  exec 9>"$WORK/pipe"
  rm -f "$WORK/ready"
  "$VIGIL" "${SELECT[@]}" -o json --ready-file "$WORK/ready" >&9 2>"$WORK/stderr" &
  SENSOR_PID=$!
  exec 9>&-
  for _ in $(seq 300); do [[ -s $WORK/ready ]] && break; sleep 0.05; done
  make_events 20000
  sleep 0.5
  stop_sensor TERM 2500
  grep -q "events not sent at stop" "$WORK/stderr" && pass "unsent events reported at stop" ||
    fail "no unsent report: $(tail -n 3 "$WORK/stderr")"
  finish
}

case_full_disk() {
  need_root
  mkdir -p "$WORK/small"
  mount -t tmpfs -o size=1m tmpfs "$WORK/small" || skip "cannot mount a tmpfs"
  start_sensor -o "json:$WORK/small/events.json" --metrics-file "$WORK/metrics.prom"
  local base peak=0 r started=$SECONDS
  base=$(rss_kib "$SENSOR_PID")
  for round in 1 2 3; do
    make_events 20000 "r$round"
    r=$(rss_kib "$SENSOR_PID")
    ((r > peak)) && peak=$r
  done
  sleep 1.5
  ((peak - base < 40 * 1024)) && pass "memory bounded on a full disk (+$(((peak - base) / 1024)) MiB)" ||
    fail "RSS grew by $(((peak - base) / 1024)) MiB"
  stop_sensor INT
  local warnings elapsed=$((SECONDS - started + 1))
  warnings=$(grep -c 'No space left on device' "$WORK/stderr")
  ((warnings >= 1 && warnings <= elapsed)) && pass "ENOSPC logged $warnings times in $elapsed s (at most once a second)" ||
    fail "$warnings ENOSPC lines in $elapsed s"
  local dropped
  dropped=$(awk -F' ' '/vigil_output_events_total\{output="json:.*state="dropped"\}/ {print $2}' "$WORK/metrics.prom")
  ((dropped > 0)) && pass "dropped events counted in the metrics ($dropped)" || fail "dropped=$dropped"
  grep -q 'vigil_output_errors_total{output="json:' "$WORK/metrics.prom" && pass "errors in the metrics" || fail "no errors metric"
  finish
}

# ------------------------------------------------------------ table escaping (item 14)

case_table_escape() {
  need_root
  start_sensor -o "table:$WORK/events.table"
  python3 - "$WORK/gen/esc" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NAME = 15
assert libc.prctl(PR_SET_NAME, b"\x1b[1A\x1b[2K", 0, 0, 0) == 0
os.close(os.open(os.fsencode(sys.argv[1]) + b"\x1b]0;title\x07\xc2\x9b", os.O_WRONLY | os.O_CREAT, 0o600))
PY
  sleep 0.3
  stop_sensor INT
  python3 - "$WORK/events.table" <<'PY' && pass "no control character (C0, DEL, C1) reaches the table" || fail "control characters in the table"
import sys
data = open(sys.argv[1], "rb").read()
bad = [i for i, b in enumerate(data) if (b < 0x20 and b != 0x0a) or b == 0x7f]
text = data.decode("utf-8", "replace")
bad += [i for i, ch in enumerate(text) if 0x80 <= ord(ch) < 0xa0]
sys.exit(1 if bad else 0)
PY
  grep -qF '\x1b[1A\x1b[2K' "$WORK/events.table" && pass "comm shown escaped" || fail "comm not found escaped: $(cat "$WORK/events.table")"
  grep -qF '\x1b]0;title\x07\u009b' "$WORK/events.table" && pass "the pathname shown escaped" || fail "pathname not escaped"
  finish
}

# ------------------------------------------------------------ syslog (rsyslog on loopback)

start_rsyslog() {  # sets TCP_PORT, UDP_PORT, LOG_SOCK; rsyslog writes $WORK/received.log
  command -v rsyslogd >/dev/null || skip "rsyslogd is not installed (apt install rsyslog)"
  TCP_PORT=${TCP_PORT:-$(free_port)} UDP_PORT=$(free_port) LOG_SOCK=$WORK/log.sock
  mkdir -p "$WORK/rsyslog"
  cat >"$WORK/rsyslog.conf" <<EOF
global(workDirectory="$WORK/rsyslog" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
module(load="imtcp")
module(load="imudp")
input(type="imuxsock" Socket="$LOG_SOCK" CreatePath="on")
input(type="imtcp" port="$TCP_PORT" address="127.0.0.1")
input(type="imudp" port="$UDP_PORT" address="127.0.0.1" rcvbufSize="8m")
template(name="fields" type="list") {
  property(name="pri") constant(value="|") property(name="protocol-version") constant(value="|")
  property(name="hostname") constant(value="|") property(name="app-name") constant(value="|")
  property(name="procid") constant(value="|") property(name="msgid") constant(value="|")
  property(name="inputname") constant(value="|") property(name="msg" droplastlf="on") constant(value="\n")
}
*.* action(type="omfile" file="$WORK/received.log" template="fields")
EOF
  rsyslogd -n -f "$WORK/rsyslog.conf" -i "$WORK/rsyslog.pid" 2>"$WORK/rsyslog.err" &
  BACKGROUND+=($!)
  for _ in $(seq 100); do
    [[ -S $LOG_SOCK ]] && listening "$TCP_PORT" && break
    sleep 0.05
  done
  [[ -S $LOG_SOCK ]] || die "rsyslog did not start: $(cat "$WORK/rsyslog.err")"
}

# check_syslog INPUTNAME COUNT PREFIX: COUNT messages from that input, each well formed.
check_syslog() {
  local input=$1 count=$2 prefix=$3
  python3 - "$WORK/received.log" "$input" "$count" "$prefix" "$(hostname)" "$SENSOR_LAST_PID" <<'PY'
import json, sys
path, inp, count, prefix, host, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
seen = []
for line in open(path, encoding="utf-8"):
    pri, ver, hostname, app, procid, msgid, inputname, msg = line.rstrip("\n").split("|", 7)
    if inputname != inp:
        continue
    ev = json.loads(msg)  # the message is the whole JSON event
    name = next(a["value"] for a in ev["args"] if a["name"] == "pathname")
    if f"/{prefix}-" not in name:
        continue
    assert pri == "30", f"PRI {pri}: want daemon.info (30)"
    assert app == "vigil", app
    assert procid == pid, (procid, pid)
    if inp != "imuxsock":
        assert ver == "1", f"not RFC 5424: version {ver!r}"
        assert hostname == host, (hostname, host)
        assert msgid == ev["eventName"] == "openat", msgid
    seen.append(name)
assert len(seen) == count and len(set(seen)) == count, f"{len(seen)} messages ({len(set(seen))} distinct), want {count}"
PY
}

case_syslog() {
  need_root
  start_rsyslog
  local t
  for t in tcp udp unix; do
    local target
    case $t in
      tcp) target=tcp://127.0.0.1:$TCP_PORT ;;
      udp) target=udp://127.0.0.1:$UDP_PORT ;;
      unix) target=unix:$LOG_SOCK ;;
    esac
    start_sensor -o "syslog:$target"
    SENSOR_LAST_PID=$SENSOR_PID
    make_events 200 "$t" 0.002  # UDP may drop a burst that outruns rsyslog; paced, none should be lost
    sleep 0.5
    stop_sensor INT
    sleep 0.5  # rsyslog writes asynchronously
    local input=imtcp
    [[ $t == udp ]] && input=imudp
    [[ $t == unix ]] && input=imuxsock
    if check_syslog "$input" 200 "$t" 2>"$WORK/check.err"; then
      pass "syslog over $t: 200 well-formed messages (RFC 5424 + octet counting over TCP), each the JSON event"
    else
      fail "syslog over $t: $(tail -n 3 "$WORK/check.err")"
    fi
  done
  finish
}

case_syslog_unreachable() {  # not fatal at start; retried until the server comes up
  need_root
  TCP_PORT=$(free_port)
  start_sensor -o "syslog:tcp://127.0.0.1:$TCP_PORT"
  SENSOR_LAST_PID=$SENSOR_PID
  make_events 50 late
  sleep 1
  grep -q "connect 127.0.0.1:$TCP_PORT: Connection refused; retrying" "$WORK/stderr" && pass "the unreachable server is reported" ||
    fail "no report: $(tail -n 3 "$WORK/stderr")"
  start_rsyslog  # now on that port
  sleep 3  # the backoff is at most a few seconds this early
  stop_sensor INT
  sleep 0.5
  if check_syslog imtcp 50 late 2>"$WORK/check.err"; then pass "all 50 events delivered once the server was up"; else
    fail "$(tail -n 3 "$WORK/check.err")"
  fi
  finish
}

# ------------------------------------------------------------ webhook (python3 http.server)

# start_http [https]: sets HTTP_PORT; requests are appended to $WORK/requests.jsonl;
# what it answers is read from $WORK/mode at each request: a status code, "hang" or "close".
start_http() {
  HTTP_PORT=${HTTP_PORT:-$(free_port)}
  echo 200 >"$WORK/mode"
  python3 - "$HTTP_PORT" "$WORK" "${1:-http}" >"$WORK/http.log" 2>&1 <<'PY' &
import http.server, json, os, ssl, sys, time
port, work, scheme = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = open(f"{work}/mode").read().strip()
        with open(f"{work}/requests.jsonl", "a") as f:
            f.write(json.dumps({"path": self.path, "type": self.headers.get("Content-Type"), "mode": mode,
                                "body": body.decode()}) + "\n")
        if mode == "hang":
            time.sleep(30)
            return
        if mode == "close":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.send_response(int(mode))
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
if scheme == "https":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{work}/cert.pem", f"{work}/key.pem")
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
  HTTP_PID=$!
  BACKGROUND+=($HTTP_PID)
  for _ in $(seq 100); do listening "$HTTP_PORT" && return; sleep 0.05; done
  die "the HTTP server did not start: $(cat "$WORK/http.log")"
}
# delivered PREFIX: distinct gen/PREFIX-* paths received in 2xx-answered JSON-lines requests.
delivered() {
  python3 - "$WORK/requests.jsonl" "$1" "${2:-json}" <<'PY'
import json, sys
names = []
try:
    lines = open(sys.argv[1]).read().splitlines()
except FileNotFoundError:
    lines = []
for line in lines:
    r = json.loads(line)
    if not r["mode"].startswith("2"):
        continue
    if sys.argv[3] == "falco":
        names.append(json.loads(r["body"])["output_fields"]["evt.arg.pathname"])
    else:
        names += [next(a["value"] for a in json.loads(l)["args"] if a["name"] == "pathname")
                  for l in r["body"].splitlines()]
names = [n for n in names if f"/{sys.argv[2]}-" in n]
print(len(names), len(set(names)))
PY
}
metric() { awk -v m="$1" '$1 == m {print $2}' "$WORK/metrics.prom"; }

case_webhook() {
  need_root
  start_http
  local url=http://127.0.0.1:$HTTP_PORT/events
  start_sensor -o "webhook:$url" --metrics-file "$WORK/metrics.prom"
  make_events 1200 ok
  sleep 2.5
  read -r n distinct < <(delivered ok)
  [[ $n == 1200 && $distinct == 1200 ]] && pass "1200 events delivered once each" || fail "delivered $n ($distinct distinct)"
  python3 -c '
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert all(r["type"] == "application/x-ndjson" and r["path"] == "/events" for r in rs), "content type/path"
assert max(len(r["body"].splitlines()) for r in rs) <= 500, "batch over 500"
assert len(rs) >= 3, f"{len(rs)} requests: 1200 events need 3 batches of at most 500"
' "$WORK/requests.jsonl" && pass "JSON lines in batches of at most 500" || fail "batches"

  # 500s: retried with backoff until the server recovers.
  echo 503 >"$WORK/mode"
  make_events 100 retry
  sleep 2
  echo 200 >"$WORK/mode"
  sleep 4
  read -r n distinct < <(delivered retry)
  [[ $n == 100 && $distinct == 100 ]] && pass "after 503s, every event delivered once" || fail "after 503s: $n ($distinct)"
  (($(metric 'vigil_output_retries_total{output="webhook:'"$url"'"}') >= 1)) && pass "retries counted" || fail "retries: $(grep retries "$WORK/metrics.prom")"

  # 4xx: not retried, counted and logged.
  echo 400 >"$WORK/mode"
  local before
  before=$(wc -l <"$WORK/requests.jsonl")
  make_events 10 refused
  sleep 3
  (($(wc -l <"$WORK/requests.jsonl") - before == 1)) && pass "a 400 is not retried (one request)" ||
    fail "$(($(wc -l <"$WORK/requests.jsonl") - before)) requests after a 400"
  grep -q "HTTP 400; the server refused the events, not retried" "$WORK/stderr" && pass "the 400 is logged" || fail "400 not logged"
  (($(metric 'vigil_output_events_total{output="webhook:'"$url"'",state="dropped"}') == 10)) && pass "10 refused events counted as dropped" ||
    fail "dropped: $(grep dropped "$WORK/metrics.prom")"

  # Going away: the server dies; its events wait (bounded) and go once it is back.
  echo 200 >"$WORK/mode"
  kill "$HTTP_PID"
  wait "$HTTP_PID" 2>/dev/null
  make_events 50 away
  sleep 2
  start_http
  sleep 5
  read -r n distinct < <(delivered away)
  [[ $n == 50 && $distinct == 50 ]] && pass "events queued while the server was away are delivered" || fail "away: $n ($distinct)"

  # Hanging: a request that never answers does not hold up stop.
  echo hang >"$WORK/mode"
  make_events 10 hang
  sleep 1.5
  stop_sensor TERM
  grep -q "webhook:$url: 10 events not sent at stop" "$WORK/stderr" && pass "the hung batch is reported unsent at stop" ||
    fail "unsent: $(grep -E 'not sent|stopped' "$WORK/stderr")"
  finish
}

case_webhook_unreachable() {
  need_root
  HTTP_PORT=$(free_port)
  start_sensor -o "webhook:http://127.0.0.1:$HTTP_PORT/"
  make_events 20 early
  sleep 2
  grep -q "Couldn't connect to server; retrying with backoff" "$WORK/stderr" && pass "an unreachable server at start is reported, not fatal" ||
    fail "$(tail -n 3 "$WORK/stderr")"
  start_http
  sleep 5
  read -r n distinct < <(delivered early)
  [[ $n == 20 && $distinct == 20 ]] && pass "delivered once the server came up" || fail "delivered $n ($distinct)"
  stop_sensor INT
  finish
}

case_webhook_falco() {
  need_root
  start_http
  start_sensor -o "webhook:http://127.0.0.1:$HTTP_PORT/" --webhook-format falco
  make_events 5 falco
  sleep 1.5
  stop_sensor INT
  read -r n distinct < <(delivered falco falco)
  [[ $n == 5 && $distinct == 5 ]] && pass "one Falco payload per request" || fail "delivered $n ($distinct)"
  python3 - "$WORK/requests.jsonl" "$(hostname)" <<'PY' && pass "Falco's fields: uuid, output, priority, rule, time (RFC 3339), output_fields, source, tags, hostname" || fail "Falco payload"
import datetime, json, re, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    p = json.loads(r["body"])
    assert r["type"] == "application/json"
    assert set(p) == {"uuid", "output", "priority", "rule", "time", "output_fields", "source", "tags", "hostname"}, set(p)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", p["uuid"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", p["time"]), p["time"]
    datetime.datetime.fromisoformat(p["time"][:26])
    assert p["priority"] == "Informational" and p["rule"] == "openat" and p["source"] == "syscall"
    assert p["hostname"] == sys.argv[2] and p["output_fields"]["proc.name"] == "python3"
    assert isinstance(p["tags"], list) and p["output"].startswith(p["time"])
PY
  finish
}

case_webhook_tls() {
  need_root
  command -v openssl >/dev/null || skip "openssl is not installed"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null || die "openssl req failed"
  start_http https
  start_sensor -o "webhook:https://127.0.0.1:$HTTP_PORT/"
  make_events 5 untrusted
  sleep 2
  stop_sensor INT
  read -r n _ < <(delivered untrusted)
  ((n == 0)) && pass "an untrusted certificate gets no event (verification is on)" || fail "$n events sent to an untrusted server"
  grep -qi "certificate" "$WORK/stderr" && pass "the certificate failure is logged" || fail "$(grep webhook "$WORK/stderr" | tail -n 2)"
  start_sensor -o "webhook:https://127.0.0.1:$HTTP_PORT/" --webhook-ca-file "$WORK/cert.pem"
  make_events 5 trusted
  sleep 2
  stop_sensor INT
  read -r n distinct < <(delivered trusted)
  [[ $n == 5 && $distinct == 5 ]] && pass "with --webhook-ca-file the events are delivered over TLS" || fail "trusted: $n"
  finish
}

# ------------------------------------------------------------ kafka (librdkafka's mock cluster)

start_kafka() {  # sets BOOT; commands to the mock go to fd 8
  [[ -x $SUPPORT/kafka_mock ]] || die "no kafka_mock helper in $SUPPORT"
  command -v kcat >/dev/null || skip "kcat is not installed (apt install kcat)"
  mkfifo "$WORK/kafka.ctl"
  "$SUPPORT/kafka_mock" vigil <"$WORK/kafka.ctl" >"$WORK/kafka.boot" 2>"$WORK/kafka.err" &
  BACKGROUND+=($!)
  exec 8>"$WORK/kafka.ctl"
  for _ in $(seq 100); do [[ -s $WORK/kafka.boot ]] && break; sleep 0.05; done
  BOOT=$(head -n 1 "$WORK/kafka.boot")
  [[ -n $BOOT ]] || die "the mock cluster did not start: $(cat "$WORK/kafka.err")"
}
consume() { timeout 30 kcat -C -b "$BOOT" -t vigil -o beginning -e -q -f '%k\t%s\n' >"$WORK/consumed.tsv" 2>"$WORK/kcat.err"; }
# compare_kafka: what the json file output got vs what the topic holds, by timestamp.
compare_kafka() {
  python3 - "$WORK/events.json" "$WORK/consumed.tsv" "$(hostname)" <<'PY'
import json, sys
local = [json.loads(l) for l in open(sys.argv[1])]
consumed = []
for line in open(sys.argv[2]):
    key, value = line.rstrip("\n").split("\t", 1)
    ev = json.loads(value)
    assert key == ev["hostName"] == sys.argv[3], f"key {key!r}"
    consumed.append(ev["timestamp"])
want = {e["timestamp"] for e in local}
got = set(consumed)
print(f"file {len(local)}, topic {len(consumed)} ({len(got)} distinct)")
assert len(consumed) == len(got), "duplicates in the topic"
assert want == got, f"missing {len(want - got)}, extra {len(got - want)}"
PY
}

case_kafka() {
  need_root
  start_kafka
  start_sensor -o "json:$WORK/events.json" -o "kafka:$BOOT/vigil" --kafka-opt compression.codec=zstd \
    --metrics-file "$WORK/metrics.prom"
  make_events 2000 k
  sleep 1.5
  stop_sensor INT
  consume
  local r
  r=$(compare_kafka 2>&1) && pass "every event in the topic once, key = hostName: $r" || fail "$r"
  [[ $(metric "vigil_output_events_total{output=\"kafka:$BOOT/vigil\",state=\"sent\"}") == 2000 ]] &&
    pass "2000 delivery reports counted as sent" || fail "$(grep kafka "$WORK/metrics.prom")"
  finish
}

case_kafka_fault() {  # the broker down 10 s mid-stream, then up: all delivered, none twice
  need_root
  start_kafka
  start_sensor -o "json:$WORK/events.json" -o "kafka:$BOOT/vigil" --metrics-file "$WORK/metrics.prom"
  python3 - "$WORK/gen" <<'PY' &
import os, sys, time
for i in range(1600):  # ~100 events/s for 16 s
    os.close(os.open(f"{sys.argv[1]}/s-{i}", os.O_WRONLY | os.O_CREAT, 0o600))
    time.sleep(0.01)
PY
  local gen=$!
  sleep 3
  echo down >&8
  log "broker down"
  sleep 10
  echo up >&8
  log "broker up"
  wait "$gen"
  sleep 6
  stop_sensor INT
  grep -Eq "kafka:$BOOT/vigil: .*(Connection refused|Disconnected|_TRANSPORT)" "$WORK/stderr" && pass "the broker outage was reported" ||
    fail "no outage report: $(grep kafka "$WORK/stderr" | tail -n 3)"
  consume
  local r
  r=$(compare_kafka 2>&1) && pass "after 10 s down: every event delivered, none duplicated: $r" || fail "$r"
  finish
}

# ------------------------------------------------------------ no privilege (issue 12 item 6)

case_no_caps() {
  need_root
  start_kafka
  start_http
  start_sensor -o "json:$WORK/events.json" -o "syslog:udp://127.0.0.1:$(free_port)" \
    -o "webhook:http://127.0.0.1:$HTTP_PORT/" -o "kafka:$BOOT/vigil"
  make_events 20 caps
  sleep 1.5
  local t name eff n=0 bad=0
  for t in /proc/"$SENSOR_PID"/task/*; do
    name=$(cat "$t/comm")
    [[ $name == vigil-output || $name == vigil-kafka || $name == rdk:* ]] || continue
    n=$((n + 1))
    eff=$(awk '/^CapEff/ {print $2}' "$t/status")
    [[ $eff == 0000000000000000 ]] || { bad=$((bad + 1)); log "thread $name has CapEff $eff"; }
  done
  ((n >= 5)) && pass "$n output threads found" || fail "only $n output threads"
  ((bad == 0)) && pass "every output thread runs with the empty effective set" || fail "$bad threads hold capabilities"
  stop_sensor INT
  read -r got _ < <(delivered caps)
  ((got == 20)) && pass "and the webhook still got its 20 events" || fail "webhook got $got"
  finish
}

"case_$CASE"
