#!/usr/bin/env bash
# net_packet_http_request / _response / net_packet_http and net_packet_icmp /
# net_packet_icmpv6 with real traffic. HTTP: a python3 http.server on a random
# port (not 80: recognised from the payload) and a client with its own
# User-Agent; the request leaves the client and the response reaches it, both
# with the client's pid. A TLS ClientHello to the same server is no HTTP event.
# ICMP: `ping -c1 127.0.0.1` and `ping -c1 ::1` (as root: raw sockets); the
# echo request and the reply that reaches ping name ping; the reply the kernel
# sends names no process.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root
require_commands jq python3 ping

mkdir -p "$WORK/www/docs"
echo "hello from vigil" >"$WORK/www/docs/hello.txt"
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$WORK/www" >"$WORK/server.out" 2>&1 &
server=$!
BACKGROUND+=("$server")
port=
for ((i = 0; i < 100; i++)); do
  port=$(sed -n 's/^Serving HTTP on [^ ]* port \([0-9]*\) .*/\1/p' "$WORK/server.out")
  [[ -n $port ]] && break
  sleep 0.05
done
[[ -n $port ]] || die "the HTTP server did not start: $(cat "$WORK/server.out")"
[[ $port != 80 ]] || die "the HTTP server got port 80; the test wants another port"

start_sensor main -e net_packet_http_request,net_packet_http_response,net_packet_http,net_packet_icmp,net_packet_icmpv6 \
  -o "json:$EVENTS" --duration 60s

# The client: one GET with a User-Agent of its own; it checks the body.
python3 - "$port" >"$WORK/client.out" 2>&1 <<'EOF' &
import sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/docs/hello.txt?x=1",
                             headers={"User-Agent": "vigil-e2e-agent/1.0"})
body = urllib.request.urlopen(req, timeout=10).read()
sys.exit(0 if body == b"hello from vigil\n" else 1)
EOF
client=$!
wait "$client" || fail "HTTP client: $(cat "$WORK/client.out")"

# One segment holding a POST's head and a 4000-byte body: only the head is
# read (no truncation); then a head longer than the capture (truncated).
python3 - "$port" >"$WORK/raw.out" 2>&1 <<'EOF' &
import socket, sys
port = int(sys.argv[1])
def send(data):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    try:
        s.recv(4096)
    except OSError:
        pass
    s.close()
send(b"POST /upload HTTP/1.1\r\nHost: vigil.test\r\nUser-Agent: vigil-post\r\nContent-Length: 4000\r\n\r\n" + b"B" * 4000)
send(b"GET /big HTTP/1.1\r\nHost: vigil.test\r\nUser-Agent: vigil-big\r\nX-Big: " + b"x" * 3000 + b"\r\n\r\n")
EOF
raw=$!
wait "$raw" || fail "raw HTTP client: $(cat "$WORK/raw.out")"

# TLS, to the same port: a ClientHello is no HTTP message.
python3 - "$port" >"$WORK/tls.out" 2>&1 <<'EOF' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
hello = bytes([0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03]) + bytes(32) + b"\x00\x00\x02\x13\x01\x01\x00"
s.sendall(hello)
try:
    s.recv(4096)
except OSError:
    pass
EOF
tls=$!
wait "$tls" || fail "TLS client: $(cat "$WORK/tls.out")"

ping -c1 -W5 127.0.0.1 >"$WORK/ping4.out" 2>&1 &
ping4=$!
wait "$ping4" || fail "ping 127.0.0.1: $(cat "$WORK/ping4.out")"
ping -c1 -W5 ::1 >"$WORK/ping6.out" 2>&1 &
ping6=$!
wait "$ping6" || fail "ping ::1: $(cat "$WORK/ping6.out")"
sleep 0.5
stop_sensor INT

# --- HTTP
check "the request leaves the client, decoded" "any(.[];
  .eventName == \"net_packet_http_request\" and .processId == $client and .processName == \"python3\"
  and .args[0].name == \"metadata\" and .args[0].value.dst_port == $port and .args[0].value.protocol == 6
  and .args[0].value.src_ip == \"127.0.0.1\"
  and .args[1].name == \"http_request\" and .args[1].type == \"trace.ProtoHTTPRequest\"
  and .args[1].value.method == \"GET\" and .args[1].value.protocol == \"HTTP/1.1\"
  and .args[1].value.host == \"127.0.0.1:$port\" and .args[1].value.uri_path == \"/docs/hello.txt\"
  and .args[1].value.headers[\"User-Agent\"] == [\"vigil-e2e-agent/1.0\"]
  and .args[1].value.content_length == 0)"
check "the response reaches the client, decoded" "any(.[];
  .eventName == \"net_packet_http_response\" and .processId == $client
  and .args[0].value.src_port == $port and .args[0].value.dst_ip == \"127.0.0.1\"
  and .args[1].name == \"http_response\" and .args[1].type == \"trace.ProtoHTTPResponse\"
  and .args[1].value.status_code == 200 and .args[1].value.status == \"200 OK\"
  and (.args[1].value.protocol | startswith(\"HTTP/1.\"))
  and .args[1].value.content_length == 17
  and (.args[1].value.headers[\"Server\"][0] | startswith(\"SimpleHTTP\")))"
check "the server's response leaves the server process" "any(.[];
  .eventName == \"net_packet_http_response\" and .processId == $server
  and .args[1].value.status_code == 200)"
check "net_packet_http carries both, with Tracee's src/dst/ports and direction" "
  ([.[] | select(.eventName == \"net_packet_http\" and .processId == $client)
     | [.args[0].name, .args[1].name, .args[2].name, .args[3].name, .args[4].value.direction,
        .args[5].value.direction, .args[5].value.method, .args[5].value.status_code]]
   | sort) == [[\"src\",\"dst\",\"src_port\",\"dst_port\",\"egress\",\"request\",\"GET\",0],
               [\"src\",\"dst\",\"src_port\",\"dst_port\",\"ingress\",\"response\",\"\",200]]"
check "only heads are read: the body is in no event" "all(.[]; tostring | contains(\"hello from vigil\") | not)"
check "a head and its body in one segment: the head is read, the body is not" "any(.[];
  .eventName == \"net_packet_http_request\" and .processId == $raw and .args[1].value.method == \"POST\"
  and .args[1].value.uri_path == \"/upload\" and .args[1].value.content_length == 4000
  and .args[1].value.headers[\"User-Agent\"] == [\"vigil-post\"] and .truncated != true)"
check "a head longer than 2048 bytes is cut and says so" "any(.[];
  .eventName == \"net_packet_http_request\" and .processId == $raw and .args[1].value.uri_path == \"/big\"
  and .args[1].value.host == \"vigil.test\" and .truncated == true)"
check "a TLS ClientHello is no HTTP request" "all(.[]; .processId != $tls
  or (.eventName != \"net_packet_http_request\"
      and (.eventName != \"net_packet_http\" or .args[5].value.direction != \"request\")))"

# --- ICMP
icmp_checks() { # EVENT ARG PID ADDR
  local ev=$1 arg=$2 pid=$3 addr=$4
  check "$ev: ping's echo request, type/code, id and seq" "any(.[];
    .eventName == \"$ev\" and .processId == $pid and .processName == \"ping\"
    and .args[0].name == \"src\" and .args[0].value == \"$addr\" and .args[1].value == \"$addr\"
    and .args[2].value.direction == \"egress\"
    and .args[3].name == \"$arg\" and .args[3].value.typeCode == \"EchoRequest\" and .args[3].value.seq == 1)"
  check "$ev: the echo reply reaches ping, same id" "
    [.[] | select(.eventName == \"$ev\" and .processId == $pid) | .args[3].value] as \$m
    | any(\$m[]; .typeCode == \"EchoReply\" and .seq == 1)
      and ([\$m[] | .id] | unique | length) == 1"
  check "$ev: the reply the kernel sends names no process" "
    [.[] | select(.eventName == \"$ev\" and .args[2].value.direction == \"egress\"
        and .args[3].value.typeCode == \"EchoReply\")] as \$r
    | (\$r | length) >= 1 and all(\$r[]; .processId == 0)"
}
icmp_checks net_packet_icmp proto_icmp "$ping4" 127.0.0.1
icmp_checks net_packet_icmpv6 proto_icmpv6 "$ping6" ::1
finish
