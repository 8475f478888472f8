#!/usr/bin/env bash
# io_uring operations through the real binary under policies/default.yaml:
# an IORING_OP_OPENAT of /etc/shadow (credential-files' exact path filter,
# decided in the kernel on the kernel's copy of the name) and an
# IORING_OP_CONNECT to a local listener (outbound-connections) arrive as
# openat and connect marked "ioUring":true, from the helper's process, and
# io_uring_setup itself is reported. `vigil list` names the io_uring ops.
# usage: io_uring.sh VIGIL IOURING_OPS
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
OPS=$2
need_root
require_commands jq python3

list=$("$VIGIL" list --json) || die "vigil list failed"
[[ $(jq -r '.[] | select(.name == "openat") | .ioUring[0] | "\(.op) \(.decoded)"' <<<"$list") == "IORING_OP_OPENAT true" ]] ||
  die "vigil list: openat does not name IORING_OP_OPENAT as decoded here"
[[ $(jq -r '.[] | select(.name == "security_file_open") | [.ioUring[].op] | join(",")' <<<"$list") == \
  "IORING_OP_OPENAT,IORING_OP_OPENAT2" ]] || die "vigil list: security_file_open's io_uring ops"
pass "vigil list names the io_uring operations"

# A listener the helper connects to (its port on stdout).
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(4); print(s.getsockname()[1], flush=True); time.sleep(30)' \
  >"$WORK/port" &
LISTENER=$!
for _ in $(seq 50); do [[ -s $WORK/port ]] && break; sleep 0.1; done
port=$(cat "$WORK/port")

start_sensor main -o "json:$EVENTS" --duration 30s
"$OPS" open /etc/shadow >"$WORK/open.out" & open_pid=$!
wait $open_pid || die "io_uring open of /etc/shadow failed: $(cat "$WORK/open.out")"
"$OPS" connect "$port" >"$WORK/connect.out" & connect_pid=$!
wait $connect_pid || die "io_uring connect to 127.0.0.1:$port failed: $(cat "$WORK/connect.out")"
sleep 0.5
stop_sensor INT
kill "$LISTENER" 2>/dev/null

check "openat of /etc/shadow via io_uring, by the helper" \
  "any(.[]; .eventName == \"openat\" and .hostProcessId == $open_pid and .ioUring == true
          and (.args[] | select(.name == \"pathname\") | .value) == \"/etc/shadow\"
          and (.matchedPolicies | index(\"credential-files\") != null))"
check "connect to 127.0.0.1:$port via io_uring, by the helper" \
  "any(.[]; .eventName == \"connect\" and .hostProcessId == $connect_pid and .ioUring == true
          and (.args[] | select(.name == \"addr\") | .value.sin_port) == \"$port\")"
check "io_uring_setup by the helper" \
  "any(.[]; .eventName == \"io_uring_setup\" and .hostProcessId == $open_pid)"
n=$(jq -c "select(.hostProcessId == $open_pid and .eventName == \"openat\" and .ioUring != true
               and (.args[] | select(.name == \"pathname\") | .value) == \"/etc/shadow\")" "$EVENTS" | wc -l)
[[ $n == 0 ]] || fail "the helper's open of /etc/shadow reported as a syscall ($n): it was io_uring's"

# An op no event reports (IORING_OP_LINKAT) whose twin (linkat) is selected:
# counted in the metrics and the stop summary, three links at least three.
start_sensor undecoded -e openat,linkat -s comm=iouring_ops -o "json:$WORK/undecoded.json" \
  --metrics-file "$WORK/vigil.prom" --duration 30s
: >"$WORK/link-src"
for i in 1 2 3; do
  "$OPS" link "$WORK/link-src" "$WORK/link-$i" >"$WORK/link.out" || die "io_uring link failed: $(cat "$WORK/link.out")"
done
[[ -e $WORK/link-3 ]] || die "io_uring linkat made no link"
sleep 0.5
stop_sensor INT
undecoded=$(awk '$1 == "vigil_io_uring_requests_undecoded_total" {print $2}' "$WORK/vigil.prom")
[[ -n $undecoded ]] || die "no vigil_io_uring_requests_undecoded_total in the metrics"
((undecoded >= 3)) || fail "vigil_io_uring_requests_undecoded_total is $undecoded after 3 io_uring linkat, want >= 3"
summary=$(grep -o '[0-9]* io_uring requests not decoded' "$SENSOR_ERR" | grep -o '^[0-9]*')
[[ -n $summary ]] && ((summary >= 3)) || fail "stop summary: '$summary' io_uring requests not decoded, want >= 3"
pass "io_uring linkat counted as undecoded: metrics $undecoded, stop summary $summary"
finish
