#!/usr/bin/env bash
# Output figures (issue 12), in one run:
#  1. events/s each output sustains against a local server: webhook (python3
#     http.server answering 200), syslog over TCP (rsyslog writing a file),
#     Kafka (librdkafka's mock cluster), beside the JSON file output;
#  2. the open/close loop (shared workload, open 200000) with no sensor, with
#     `vigil -e openat -o json:FILE`, and with `-o kafka:...` beside it; medians of REPS, alternating.
#   bench/outputs.sh [-r REPS]        (root; a built tree: cmake --build build)
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=5
while getopts "r:" o; do case $o in r) REPS=$OPTARG ;; *) exit 2 ;; esac; done
[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
OUT=bench-out/outputs-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
W=$(mktemp -d /tmp/vigil-bench-outputs.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$W"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up() { for _ in $(seq 100); do python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1)' "$1" 2>/dev/null && return; sleep 0.05; done; echo "port $1 not up" >&2; exit 1; }
{ uname -r; nproc; grep -m1 'model name' /proc/cpuinfo; git rev-parse --short HEAD; } >"$OUT/env.txt"

# Servers.
SYSLOG_PORT=$(port) HTTP_PORT=$(port)
mkdir -p "$W/rs"
cat >"$W/rsyslog.conf" <<CONF
global(workDirectory="$W/rs" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" port="$SYSLOG_PORT" address="127.0.0.1")
*.* action(type="omfile" file="$W/syslog.log")
CONF
rsyslogd -n -f "$W/rsyslog.conf" -i "$W/rsyslog.pid" &
PIDS+=($!)
python3 - "$HTTP_PORT" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
PIDS+=($!)
mkfifo "$W/kafka.ctl"
./build/tests/support/kafka_mock vigil <"$W/kafka.ctl" >"$W/kafka.boot" 2>/dev/null &
PIDS+=($!)
exec 8>"$W/kafka.ctl"
up "$SYSLOG_PORT"; up "$HTTP_PORT"
for _ in $(seq 100); do [[ -s $W/kafka.boot ]] && break; sleep 0.05; done
BOOT=$(head -n 1 "$W/kafka.boot")

# 1. Throughput per output (one core's worth of producer; the servers share the machine).
{
  ./build/bench/output_bench -o "json:$W/bench.json" -n 500000
  ./build/bench/output_bench -o "syslog:tcp://127.0.0.1:$SYSLOG_PORT" -n 200000
  ./build/bench/output_bench -o "webhook:http://127.0.0.1:$HTTP_PORT/" -n 200000
  ./build/bench/output_bench -o "webhook:http://127.0.0.1:$HTTP_PORT/" -n 20000 --webhook-format falco
  ./build/bench/output_bench -o "kafka:$BOOT/vigil" -n 500000
} 2>&1 | grep -v '^[0-9-]*T' | tee "$OUT/throughput.txt"

# 2. The open/close loop beside the Kafka output.
gcc -O2 -o "$W/workload" ../shared/bench/workload.c 2>/dev/null || gcc -O2 -o "$W/workload" /work/shared/bench/workload.c
loop() {  # [vigil ARGS]: the loop's seconds
  if (($# == 0)); then "$W/workload" -q open 200000 | sed -n 's/.*elapsed_s=\([0-9.]*\).*/\1/p'; return; fi
  rm -f "$W/ready" "$W/events.json"
  ./build/vigil -e openat "$@" --ready-file "$W/ready" --log-level error &
  local pid=$!
  for _ in $(seq 200); do [[ -f $W/ready ]] && break; sleep 0.05; done
  "$W/workload" -q open 200000 | sed -n 's/.*elapsed_s=\([0-9.]*\).*/\1/p'
  kill -INT "$pid"; wait "$pid" || true
}
printf 'rep\tnone\tjson_file\tjson_file_and_kafka\n' >"$OUT/open_loop.tsv"
for r in $(seq "$REPS"); do
  a=$(loop) b=$(loop -o "json:$W/events.json") c=$(loop -o "json:$W/events.json" -o "kafka:$BOOT/vigil")
  printf '%s\t%s\t%s\t%s\n' "$r" "$a" "$b" "$c" >>"$OUT/open_loop.tsv"
done
python3 - "$OUT/open_loop.tsv" <<'PY' | tee "$OUT/open_loop.txt"
import statistics, sys
rows = [l.split('\t') for l in open(sys.argv[1]).read().split('\n')[1:] if l]
med = lambda i: statistics.median(float(r[i]) for r in rows)
b = med(1)
print(f"open loop (200000 open+close), medians of {len(rows)}: none {b:.3f}s; -o json:FILE {med(2):.3f}s "
      f"({med(2)/b:.2f}x); -o json:FILE -o kafka {med(3):.3f}s ({med(3)/b:.2f}x)")
PY
echo "results in $OUT"
