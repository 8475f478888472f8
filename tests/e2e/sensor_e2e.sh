#!/usr/bin/env bash
# End-to-end tests of the real vigil binary: real flags, real BPF, a script
# that runs known commands, and the JSON/table files it writes.
#
#   sensor_e2e.sh VIGIL CASE
#
# CASE is one of the functions named case_* below. Exit status: 0 pass,
# 1 fail, 77 skipped (ctest's SKIP_RETURN_CODE) with the reason on stderr.
CASE=${2:?usage: sensor_e2e.sh VIGIL CASE}
TEST_NAME=$CASE
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_commands jq

# stop_within_2s SIGNAL: a clean stop (status 0) within 2 s of the signal (SPEC).
stop_within_2s() {
  stop_sensor "$1"
  ((SENSOR_RC == 0)) && pass "exit status 0 after SIG$1"
  ((SENSOR_STOP_MS <= 2000)) && pass "stopped ${SENSOR_STOP_MS} ms after SIG$1" ||
    fail "stopped ${SENSOR_STOP_MS} ms after SIG$1 (SPEC: within 2 s)"
}

# The workload: known commands, each started in the background so that its
# pid is known, from a shell whose pid is known too.
write_workload() {
  cat >"$WORK/workload.sh" <<'EOF'
#!/bin/bash
pids=$1 touched=$2
echo "shell $$" >>"$pids"
/bin/cat /etc/hostname >/dev/null &
echo "cat $!" >>"$pids"
wait
/usr/bin/env true &
echo "env $!" >>"$pids"
wait
touch "$touched" &
echo "touch $!" >>"$pids"
wait
EOF
}

# Every line is one complete JSON object; the file ends with a newline.
check_json_lines() {
  local file=$1
  [[ -s "$file" ]] || die "$file is empty"
  if [[ $(tail -c 1 "$file" | od -An -c | tr -d ' ') == '\n' ]]; then
    pass "$file ends with a newline (no partial line)"
  else
    fail "$file ends with a partial line: $(tail -c 200 "$file")"
  fi
  local lines objects
  lines=$(wc -l <"$file")
  if objects=$(jq -R -e 'fromjson | objects | 1' "$file" 2>"$WORK/jq.err" | wc -l) && ((objects == lines)); then
    pass "all $lines lines of $file parse as JSON objects"
  else
    fail "$file: only $objects of $lines lines parse as JSON objects: $(head -c 300 "$WORK/jq.err")"
  fi
}

check_mode_0600() {
  local mode
  mode=$(stat -c %a "$1")
  [[ $mode == 600 ]] && pass "$1 has mode 0600" || fail "$1 has mode $mode, not 0600"
}

# ------------------------------------------------------------------ cases

# -e execve,openat -o json:FILE while a script runs known commands; SIGINT.
case_json_output() {
  need_root
  local out=$WORK/events.json touched=$WORK/touched-$RANDOM$RANDOM
  # A pre-existing file is appended to and keeps its mode (vigil never chmods
  # a file it did not create), with a warning that it is readable by others.
  install -m 0644 /dev/null "$out"
  write_workload
  local t0
  t0=$(now_ns)
  start_sensor main -e execve,openat -o "json:$out"
  bash "$WORK/workload.sh" "$WORK/pids" "$touched"
  [[ -e "$touched" ]] || fail "the workload did not create $touched"
  sleep 0.3  # events reach the file within ~100 ms of the action
  stop_within_2s INT
  local t1
  t1=$(now_ns)

  [[ $(stat -c %a "$out") == 644 ]] && pass "the pre-existing $out keeps its mode 0644" ||
    fail "$out has mode $(stat -c %a "$out"), changed from 0644"
  grep -q "is accessible to other users" "$SENSOR_ERR" && pass "a warning names the loose mode" ||
    fail "no warning about the loose mode: $(tail -n 3 "$SENSOR_ERR")"
  check_json_lines "$out"
  grep -q 'lost' "$SENSOR_ERR" && pass "lost-event totals on stderr" ||
    fail "no lost-event totals on stderr: $(tail -n 3 "$SENSOR_ERR")"

  local shell cat env touch vigil
  shell=$(pid_of shell) cat=$(pid_of cat) env=$(pid_of env) touch=$(pid_of touch)
  vigil=$(head -n 1 "$SENSOR_READY" 2>/dev/null || echo 0)
  log "pids: shell=$shell cat=$cat env=$env touch=$touch"

  check "only execve and openat events" 'all(.[]; .eventName == "execve" or .eventName == "openat")' "$out"
  check "every event has SPEC 2.1's fields with their types" '
    all(.[]; (.timestamp|type) == "number" and (.processorId|type) == "number" and
             (.processId|type) == "number" and (.threadId|type) == "number" and
             (.parentProcessId|type) == "number" and (.hostProcessId|type) == "number" and
             (.hostThreadId|type) == "number" and (.hostParentProcessId|type) == "number" and
             (.userId|type) == "number" and (.mountNamespace|type) == "number" and
             (.pidNamespace|type) == "number" and (.processName|type) == "string" and
             (.executable.path|type) == "string" and (.hostName|type) == "string" and
             (.cgroupId|type) == "number" and (.container.id|type) == "string" and
             (.eventId|type) == "string" and (.eventName|type) == "string" and
             (.matchedPolicies|type) == "array" and (.argsNum|type) == "number" and
             (.returnValue|type) == "number" and (.syscall|type) == "string" and
             (.args|type) == "array" and .argsNum == (.args|length) and
             all(.args[]; (.name|type) == "string" and (.type|type) == "string" and has("value")))' "$out"
  check "timestamps are epoch ns within the run" "all(.[]; .timestamp >= $t0 - 1000000000 and .timestamp <= $t1 + 1000000000)" "$out"
  check "the sensor's own process is never reported" "all(.[]; .hostProcessId != $vigil)" "$out"
  check "hostName is this host's name" "all(.[]; .hostName == \"$(cat /proc/sys/kernel/hostname)\")" "$out"

  # /bin/cat /etc/hostname
  check "execve of /bin/cat with its argv, by the workload's shell" "
    any(.[]; .eventName == \"execve\" and .eventId == \"59\" and .hostProcessId == $cat and
             .hostParentProcessId == $shell and .processName == \"bash\" and .userId == $(id -u) and
             (.args[] | select(.name == \"pathname\") | .value) == \"/bin/cat\" and
             (.args[] | select(.name == \"argv\") | .value) == [\"/bin/cat\", \"/etc/hostname\"])" "$out"
  check "openat of /etc/hostname by cat, read-only, fd returned" "
    any(.[]; .eventName == \"openat\" and .eventId == \"257\" and .syscall == \"openat\" and
             .hostProcessId == $cat and .processId == $cat and .threadId == $cat and
             .hostParentProcessId == $shell and .processName == \"cat\" and .argsNum == 4 and
             [.args[].name] == [\"dirfd\", \"pathname\", \"flags\", \"mode\"] and
             [.args[].type] == [\"int\", \"const char*\", \"int\", \"mode_t\"] and
             .args[0].value == -100 and .args[1].value == \"/etc/hostname\" and
             .args[2].value == \"O_RDONLY\" and .args[3].value == 0 and
             .returnValue >= 3 and .matchedPolicies == [\"cli\"])" "$out"
  check "cat's events name its executable /usr/bin/cat" "
    any(.[]; .eventName == \"openat\" and .hostProcessId == $cat and .executable.path == \"/usr/bin/cat\")" "$out"

  check "the execve of cat names its caller's executable ($(readlink -f /bin/bash)), not cat's" "
    any(.[]; .eventName == \"execve\" and .hostProcessId == $cat and .executable.path == \"$(readlink -f /bin/bash)\")" "$out"

  # /usr/bin/env true: env's execve, then env's own execve of true (found through PATH)
  check "execve of /usr/bin/env with argv [/usr/bin/env, true]" "
    any(.[]; .eventName == \"execve\" and .hostProcessId == $env and
             (.args[] | select(.name == \"pathname\") | .value) == \"/usr/bin/env\" and
             (.args[] | select(.name == \"argv\") | .value) == [\"/usr/bin/env\", \"true\"])" "$out"
  check "env executes true with argv [true]" "
    any(.[]; .eventName == \"execve\" and .hostProcessId == $env and .processName == \"env\" and
             ((.args[] | select(.name == \"pathname\") | .value) | endswith(\"/true\")) and
             (.args[] | select(.name == \"argv\") | .value) == [\"true\"])" "$out"

  # touch of a unique path
  check "openat by touch creating $touched (O_CREAT, mode 0666, fd returned)" "
    any(.[]; .eventName == \"openat\" and .hostProcessId == $touch and .processName == \"touch\" and
             (.args[] | select(.name == \"pathname\") | .value) == \"$touched\" and
             ((.args[] | select(.name == \"flags\") | .value) | split(\"|\") | (.[0] == \"O_WRONLY\" and any(.[]; . == \"O_CREAT\"))) and
             (.args[] | select(.name == \"mode\") | .value) == \"0666\" and .returnValue >= 0)" "$out"
  check "events of one process are in time order" "
    [.[] | select(.hostProcessId == $cat)] | [.[].timestamp] as \$t | \$t == (\$t | sort)" "$out"
  finish
}

# -o table:FILE2 -o json:FILE3: both sinks get every event.
case_two_sinks() {
  need_root
  local table=$WORK/events.table json=$WORK/events.json touched=$WORK/touched-$RANDOM$RANDOM
  write_workload
  start_sensor main -e execve,openat -o "table:$table" -o "json:$json"
  bash "$WORK/workload.sh" "$WORK/pids" "$touched"
  sleep 0.3
  stop_within_2s TERM
  check_mode_0600 "$table"
  check_mode_0600 "$json"
  check_json_lines "$json"
  local table_lines json_lines
  table_lines=$(wc -l <"$table") json_lines=$(wc -l <"$json")
  ((table_lines == json_lines + 1)) && pass "the table has a header and the same $json_lines events" ||
    fail "table has $table_lines lines, JSON $json_lines events (expected a header + the same events)"
  head -n 1 "$table" | grep -q 'COMM' && head -n 1 "$table" | grep -q 'EVENT' && pass "table header" ||
    fail "table header: $(head -n 1 "$table")"
  grep -E "\bcat\b.*\bopenat\b.*/etc/hostname" "$table" >/dev/null && pass "the table shows cat's openat of /etc/hostname" ||
    fail "no table line for cat's openat of /etc/hostname"
  grep -E "\bexecve\b.*/usr/bin/env" "$table" >/dev/null && pass "the table shows the execve of /usr/bin/env" ||
    fail "no table line for the execve of /usr/bin/env"
  local cat
  cat=$(pid_of cat)
  check "the JSON sink has cat's openat too" "any(.[]; .eventName == \"openat\" and .hostProcessId == $cat and .args[1].value == \"/etc/hostname\")" "$json"
  [[ $(tail -c 1 "$table" | od -An -c | tr -d ' ') == '\n' ]] && pass "table ends with a newline" || fail "table ends with a partial line"
  finish
}

# JSON to stdout stays JSON even with debug logs: logs go to stderr only.
case_stdout_json_with_debug_logs() {
  need_root
  "$VIGIL" -e openat -o json --log-level debug --duration 4s --ready-file "$WORK/ready" >"$WORK/stdout" \
    2>"$WORK/stderr" &
  SENSOR_PID=$!
  # The opens must come after set-up (about a second here), or none is seen.
  local i=0
  while [[ ! -s "$WORK/ready" ]] && ((i++ < 200)); do sleep 0.05; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do /bin/cat /etc/hostname >/dev/null; sleep 0.1; done
  wait "$SENSOR_PID"
  local rc=$?
  SENSOR_PID=
  ((rc == 0)) && pass "exit 0 after --duration" || fail "exit status $rc: $(tail -n 5 "$WORK/stderr")"
  [[ -s "$WORK/stderr" ]] && pass "logs on stderr" || fail "no logs on stderr at --log-level debug"
  check_json_lines "$WORK/stdout"
  check "stdout has cat's openat of /etc/hostname" 'any(.[]; .eventName == "openat" and .processName == "cat" and .args[1].value == "/etc/hostname")' "$WORK/stdout"
  finish
}

case_bad_flag() {
  "$VIGIL" --no-such-flag >"$WORK/stdout" 2>"$WORK/stderr"
  local rc=$?
  ((rc == 2)) && pass "exit 2 for an unknown flag" || fail "exit $rc for an unknown flag (expected 2)"
  grep -q -- '--no-such-flag' "$WORK/stderr" && pass "the message names the flag" ||
    fail "stderr does not name --no-such-flag: $(cat "$WORK/stderr")"
  "$VIGIL" --duration forever -e openat >"$WORK/stdout" 2>"$WORK/stderr"
  rc=$?
  ((rc == 2)) && pass "exit 2 for a bad --duration" || fail "exit $rc for --duration forever (expected 2)"
  grep -q -- 'forever' "$WORK/stderr" && pass "the message names the bad value" || fail "stderr: $(cat "$WORK/stderr")"
  "$VIGIL" -e openat -o xml:/tmp/x >"$WORK/stdout" 2>"$WORK/stderr"
  rc=$?
  ((rc == 2)) && pass "exit 2 for an unknown output format" || fail "exit $rc for -o xml (expected 2)"
  grep -q 'xml' "$WORK/stderr" && pass "the message names the format" || fail "stderr: $(cat "$WORK/stderr")"
  finish
}

case_unknown_event() {
  "$VIGIL" -e openat,no_such_event -o json >"$WORK/stdout" 2>"$WORK/stderr"
  local rc=$?
  ((rc == 2)) && pass "exit 2 for an unknown event" || fail "exit $rc for an unknown event (expected 2)"
  grep -q 'no_such_event' "$WORK/stderr" && pass "the message names the event" ||
    fail "stderr does not name no_such_event: $(cat "$WORK/stderr")"
  [[ ! -s "$WORK/stdout" ]] && pass "nothing on stdout" || fail "stdout: $(head -c 300 "$WORK/stdout")"
  "$VIGIL" -e tag=no_such_set >"$WORK/stdout" 2>"$WORK/stderr"
  rc=$?
  ((rc == 2)) && pass "exit 2 for an unknown set" || fail "exit $rc for tag=no_such_set (expected 2)"
  grep -q 'no_such_set' "$WORK/stderr" && pass "the message names the set" || fail "stderr: $(cat "$WORK/stderr")"
  finish
}

case_duration() {
  need_root
  local start elapsed_ms rc
  start=$(now_ns)
  timeout 30 "$VIGIL" -e openat -o "json:$WORK/events.json" --duration 1s 2>"$WORK/stderr"
  rc=$?
  elapsed_ms=$((($(now_ns) - start) / 1000000))
  ((rc == 0)) && pass "exit 0 after --duration 1s" || fail "exit $rc after --duration 1s: $(tail -n 5 "$WORK/stderr")"
  ((elapsed_ms >= 1000)) && pass "ran ${elapsed_ms} ms (at least 1 s)" || fail "stopped after ${elapsed_ms} ms, before 1 s"
  ((elapsed_ms <= 10000)) && pass "stopped within 10 s of starting" || fail "took ${elapsed_ms} ms for --duration 1s"
  [[ ! -s "$WORK/events.json" ]] || check_json_lines "$WORK/events.json"
  finish
}

case_max_events() {
  need_root
  local out=$WORK/events.json rc
  # Background load so that openat events keep coming.
  (while :; do /bin/cat /etc/hostname >/dev/null; sleep 0.01; done) &
  local load=$!
  timeout 30 "$VIGIL" -e openat -o "json:$out" --max-events 5 2>"$WORK/stderr"
  rc=$?
  kill "$load" 2>/dev/null
  wait "$load" 2>/dev/null
  ((rc == 0)) && pass "exit 0 after --max-events 5" || fail "exit $rc after --max-events 5: $(tail -n 5 "$WORK/stderr")"
  local lines
  lines=$(wc -l <"$out")
  ((lines == 5)) && pass "exactly 5 events" || fail "$lines events written for --max-events 5"
  check_json_lines "$out"
  finish
}

case_list() {
  local out=$WORK/list rc
  "$VIGIL" list >"$out" 2>"$WORK/stderr"
  rc=$?
  ((rc == 0)) && pass "vigil list exits 0" || fail "vigil list exit $rc"
  local lines
  lines=$(wc -l <"$out")
  ((lines >= 330)) && pass "vigil list has $lines lines" || fail "vigil list has $lines lines (expected >= 330)"
  for ev in read openat execve connect clone3 sched_process_exec sched_process_fork sched_process_exit; do
    grep -Eq "^[0-9]+ +$ev " "$out" && pass "vigil list shows $ev" || fail "vigil list has no line for $ev"
  done
  grep -E '^257 +openat ' "$out" | grep -q 'pathname' && pass "openat's line shows its args" ||
    fail "openat's line: $(grep -E ' openat ' "$out")"

  "$VIGIL" list --json >"$out.json" 2>"$WORK/stderr"
  rc=$?
  ((rc == 0)) && pass "vigil list --json exits 0" || fail "vigil list --json exit $rc"
  local n
  n=$(jq length "$out.json")
  ((n >= 333)) && pass "vigil list --json has $n events" || fail "vigil list --json has ${n:-no} events (expected >= 333)"
  check "syscall events are named after their syscall, with ids" \
    '.[0] as $all | [$all[] | select(.sets | index("syscalls"))] | length >= 330' "$out.json"
  check "openat: id 257, args dirfd/pathname/flags/mode, probes and capabilities" '
    .[0][] | select(.name == "openat") | .id == 257 and
      [.args[].name] == ["dirfd", "pathname", "flags", "mode"] and
      [.args[].type] == ["int", "const char*", "int", "mode_t"] and
      (.probes | length) > 0 and (.capabilities | has("base") and has("ebpf"))' "$out.json"
  check "the lifecycle events are listed with their args" '
    [.[0][] | select(.name | startswith("sched_process_")) | select((.args | length) > 0) | .name] | sort ==
      ["sched_process_exec", "sched_process_exit", "sched_process_fork"]' "$out.json"
  check "names and ids are unique" '.[0] | (map(.name) | unique | length) == length and (map(.id) | unique | length) == length' "$out.json"
  check "detections are listed with their inputs, signature, MITRE id and severity" '
    .[0][] | select(.name == "anti_debugging") | (.sets | index("signatures")) != null and
      .dependencies == ["ptrace"] and .detection.signatureID == "TRC-102" and
      .detection.external_id == "T1622" and .detection.severity == 1 and .detection.unavailable == ""' "$out.json"
  check "a detection this build cannot feed says why" '
    .[0][] | select(.name == "syscall_hooking") | .detection.unavailable | test("kernel symbol")' "$out.json"
  grep -E '^6000 +anti_debugging ' "$out" | grep -q 'inputs:ptrace TRC-102 T1622 low' &&
    pass "the table shows a detection's inputs, ids and severity" || fail "anti_debugging's line: $(grep -E ' anti_debugging ' "$out")"
  finish
}

run_case
