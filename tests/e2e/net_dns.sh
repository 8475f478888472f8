#!/usr/bin/env bash
# net_packet_dns_request / _response / net_packet_dns with real traffic: a
# local DNS responder (dns_responder.py) on 127.0.0.1:53 and [::1]:53, queried
# over UDP and TCP by dns_client.py; each event names the client process, its
# decoded question and answer. Then the client connects to the address it
# resolved: security_socket_connect carries dst_dns, the name it asked for.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root
require_commands jq python3
here=$(dirname "$(readlink -f "$0")")

for host in 127.0.0.1 ::1; do
  python3 "$here/dns_responder.py" "$host" >"$WORK/responder.$host" 2>&1 &
  BACKGROUND+=($!)
done
for host in 127.0.0.1 ::1; do
  for ((i = 0; i < 100; i++)); do grep -q ready "$WORK/responder.$host" 2>/dev/null && break; sleep 0.05; done
  grep -q ready "$WORK/responder.$host" || die "DNS responder on $host did not start: $(cat "$WORK/responder.$host")"
done

start_sensor main -e net_packet_dns_request,net_packet_dns_response,net_packet_dns,security_socket_connect \
  -o "json:$EVENTS" --duration 60s

client() { # NAME HOST PROTO QUERY [PORT]: runs the client, records its pid as NAME
  python3 "$here/dns_client.py" "$2" "$3" "$4" ${5:+"$5"} >"$WORK/$1.out" 2>&1 &
  local pid=$!
  echo "$1 $pid" >>"$WORK/pids"
  wait "$pid" || fail "client $1: $(cat "$WORK/$1.out")"
}
client udp4 127.0.0.1 udp udp4.vigil.test
client tcp4 127.0.0.1 tcp tcp4.vigil.test
client udp6 ::1 udp udp6.vigil.test
client tcp6 ::1 tcp tcp6.vigil.test
client conn 127.0.0.1 udp connect.vigil.test 80
sleep 0.5
sensor=$SENSOR_PID
stop_sensor INT

exchange() { # NAME QUERY PROTO SRC_IP
  local pid
  pid=$(pid_of "$1")
  check "$1: the request names the client and its question" "any(.[];
    .eventName == \"net_packet_dns_request\" and .processId == $pid and .processName == \"python3\"
    and .args[0].name == \"metadata\" and .args[0].value.dst_port == 53 and .args[0].value.protocol == $3
    and .args[0].value.src_ip == \"$4\"
    and .args[1].name == \"dns_questions\"
    and .args[1].value == [{\"query\":\"$2\",\"query_type\":\"A\",\"query_class\":\"IN\"}])"
  check "$1: the response reaches the client, with its answer" "any(.[];
    .eventName == \"net_packet_dns_response\" and .processId == $pid
    and .args[0].value.src_port == 53 and .args[0].value.protocol == $3
    and .args[1].name == \"dns_response\"
    and .args[1].value[0].query_data.query == \"$2\"
    and .args[1].value[0].dns_answer == [{\"answer_type\":\"A\",\"ttl\":300,\"answer\":\"203.0.113.7\"}])"
  check "$1: net_packet_dns carries the whole message, both ways" "
    ([.[] | select(.eventName == \"net_packet_dns\" and .processId == $pid
       and .args[1].value.questions[0].name == \"$2\") | .args[1].value.QR] | sort) == [0, 1]"
}
exchange udp4 udp4.vigil.test 17 127.0.0.1
exchange tcp4 tcp4.vigil.test 6 127.0.0.1
exchange udp6 udp6.vigil.test 17 ::1
exchange tcp6 tcp6.vigil.test 6 ::1

conn=$(pid_of conn)
check "the connection to the resolved address carries dst_dns" "any(.[];
  .eventName == \"security_socket_connect\" and .processId == $conn
  and .args[2].value.sin_addr == \"203.0.113.77\"
  and (.args[] | select(.name == \"dst_dns\") | .value) == \"connect.vigil.test\")"
check "connections to unresolved addresses carry no dst_dns" "all(.[];
  .eventName != \"security_socket_connect\" or .args[2].value.sin_addr == \"203.0.113.77\"
  or all(.args[]; .name != \"dst_dns\"))"
check "the sensor's own traffic is not reported" "all(.[]; .hostProcessId != $sensor)"
finish
