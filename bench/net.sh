#!/usr/bin/env bash
# What the network events cost the traffic they watch, in one run: a UDP DNS
# query loop, a TCP connect loop and an HTTP/1.1 request loop on one
# keep-alive connection (bench/net_loop.c, local servers), with no sensor and
# with vigil selecting that workload's network events; the HTTP loop once
# more with only the DNS events selected (the HTTP parser then reads nothing).
#   bench/net.sh [N] [ROUNDS]   (needs root and a built tree; default N=20000,
#                               ROUNDS=5: each figure is the median of ROUNDS
#                               runs, with and without the sensor alternating)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
n=${1:-20000}
rounds=${2:-5}
loop=./build/bench/net_loop
events=net_packet_dns_request,net_packet_dns_response,net_packet_dns,security_socket_connect,net_tcp_connection
http_events=net_packet_http_request,net_packet_http_response,net_packet_http
under() {  # MODE [vigil ARGS]
  local mode=$1
  shift
  if (($# == 0)); then "$loop" "$mode" "$n"; return; fi
  rm -f /tmp/vigil-net-bench.ready
  ./build/vigil "$@" --output json:/dev/null --ready-file /tmp/vigil-net-bench.ready --log-level error &
  local pid=$!
  for _ in $(seq 200); do [[ -f /tmp/vigil-net-bench.ready ]] && break; sleep 0.05; done
  "$loop" "$mode" "$n"
  kill -INT "$pid"
  wait "$pid" || true
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
row() {  # MODE EVENTS: the medians without and with the sensor, and their ratio
  local mode=$1 sel=$2 base=() with=() i
  for ((i = 0; i < rounds; i++)); do
    base+=("$(under "$mode")")
    with+=("$(under "$mode" -e "$sel")")
  done
  local b w
  b=$(printf '%s\n' "${base[@]}" | median)
  w=$(printf '%s\n' "${with[@]}" | median)
  printf '%s\t%s\t%s\t%s\t%s\n' "$mode" "$b" "$w" "$(awk -v b="$b" -v w="$w" 'BEGIN { printf "%.2f", w / b }')" "$sel"
}
printf 'workload\tno sensor (ns/op)\tvigil (ns/op)\tratio\tvigil -e\n'
row dns "$events"
row connect "$events"
row http "$http_events"
row http net_packet_dns_request,net_packet_dns_response
