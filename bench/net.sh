#!/usr/bin/env bash
# What the network events cost the traffic they watch, in one run: a UDP DNS
# query loop and a TCP connect loop (bench/net_loop.c, local servers), with
# no sensor and with vigil selecting the network events.
#   bench/net.sh [N]     (needs root and a built tree; default N=20000)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
n=${1:-20000}
loop=./build/bench/net_loop
events=net_packet_dns_request,net_packet_dns_response,net_packet_dns,security_socket_connect,net_tcp_connection
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
printf 'workload\tno sensor (ns/op)\tvigil -e %s (ns/op)\n' "$events"
for mode in dns connect; do
  printf '%s\t%s\t%s\n' "$mode" "$(under "$mode")" "$(under "$mode" -e "$events")"
done
