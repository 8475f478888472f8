#!/usr/bin/env bash
# Detections (issue 10) as a user selects and tunes them:
#
#   detections_rules.sh VIGIL CASE [DEFAULT_POLICY]
#
#   inputs_internal  -e anti_debugging emits the detection but not its ptrace
#                    input; -e anti_debugging,ptrace emits both
#   cancelled        the detections this kernel cannot feed are cancelled at
#                    start with the reason, and the rest runs and fires
#   tracee_policy    Tracee's signature_events example policy loads unchanged
#   broken_rules     a broken --rules file: exit 2, file:line:column, no bpf()
#   override         --rules replaces a built-in by name and enabled: false
#                    turns one off
#   false_positives  a benign workload under the default policy: no detection
#                    of severity medium (2) or above
#   reload           SIGHUP re-reads --rules: a changed condition applies to the
#                    next event; a broken file or a new detection keeps the
#                    running rules, with the reason
#   reload_memory    repeated SIGHUPs free each replaced rule engine: the
#                    sensor's RSS stays bounded however many reloads
#   kernel_prefilter under the default policy, opens no rule can match die in
#                    the kernel (filtered counter) while a built-in still
#                    fires; a --rules rule on a file name is fed (its name is
#                    in the kernel's tables); an irreducible one gets every open
CASE=${2:?usage: detections_rules.sh VIGIL CASE [DEFAULT_POLICY]}
DEFAULT_POLICY=${3:-}
TEST_NAME=detections.$CASE
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

# act_setup: the C helper and the symlink helpers (common.sh), for cases that act.
act_setup() {
  # shellcheck source=detections/common.sh
  source "$HERE/detections/common.sh"
}

case_inputs_internal() {
  need_root
  act_setup
  start_sensor only -e anti_debugging -o "json:$WORK/only.json"
  drive p_only "$(as t_only "$ACT") traceme"
  sleep 0.5
  stop_sensor INT
  check "-e anti_debugging: the detection" \
    'any(.[]; .eventName == "anti_debugging" and .processName == "t_only")' "$WORK/only.json"
  check "-e anti_debugging: no ptrace event reaches the output" \
    'all(.[]; .eventName != "ptrace")' "$WORK/only.json"
  check "-e anti_debugging: nothing but detections" \
    'all(.[]; .eventName == "anti_debugging")' "$WORK/only.json"

  start_sensor both -e anti_debugging,ptrace -o "json:$WORK/both.json"
  drive p_both "$(as t_both "$ACT") traceme"
  sleep 0.5
  stop_sensor INT
  check "-e anti_debugging,ptrace: the detection" \
    'any(.[]; .eventName == "anti_debugging" and .processName == "t_both")' "$WORK/both.json"
  check "-e anti_debugging,ptrace: the ptrace event too" \
    'any(.[]; .eventName == "ptrace" and .processName == "t_both" and
              any(.args[]; .name == "request" and .value == "PTRACE_TRACEME"))' "$WORK/both.json"
  finish
}

# The start-up log says which detections are cancelled and why.
expect_cancellations() {
  local err=$1
  grep -Eq 'event syscall_hooking cancelled: its input hooked_syscall .*kernel symbol' "$err" &&
    pass "syscall_hooking cancelled with the reason" || fail "no cancellation of syscall_hooking in $(cat "$err")"
  grep -Eq 'event proc_fops_hooking cancelled: its input hooked_proc_fops .*kernel symbol' "$err" &&
    pass "proc_fops_hooking cancelled with the reason" || fail "no cancellation of proc_fops_hooking"
  grep -Eq 'event kernel_module_loading cancelled: its input (init_module|finit_module|module_load)' "$err" &&
    pass "kernel_module_loading cancelled" || fail "no cancellation of kernel_module_loading"
  grep -Eq 'event init_module not watched: this kernel has no syscalls/sys_enter_init_module tracepoint' "$err" &&
    pass "why: this kernel has no init_module tracepoint" || fail "no reason for init_module"
  local others
  others=$(grep -E 'event [a-z0-9_]+ cancelled' "$err" | grep -vE 'event (syscall_hooking|proc_fops_hooking|kernel_module_loading) cancelled')
  [[ -z $others ]] && pass "no other cancellation" || fail "unexpected cancellations: $others"
  grep -Eq 'running [0-9]+ events \(.*anti_debugging' "$err" && pass "the rest runs" ||
    fail "no 'running ... anti_debugging' line"
}

case_cancelled() {
  need_root
  act_setup
  start_sensor all -e tag=signatures -o "json:$EVENTS"
  drive p_rest "$(as t_rest "$ACT") traceme"
  sleep 0.5
  stop_sensor INT
  expect_cancellations "$SENSOR_ERR"
  check "a running detection fires" 'any(.[]; .eventName == "anti_debugging" and .processName == "t_rest")'
  finish
}

case_tracee_policy() {
  need_root
  # tests/e2e/fixtures/tracee_signature_events.yaml is byte-identical to
  # aquasecurity/tracee examples/policies/yaml/k8s/signature_events.yaml
  # (commit cbc5af9dcc7e): all 30 names, with Tracee's trailing spaces.
  local policy=$HERE/fixtures/tracee_signature_events.yaml
  [[ $(sha256sum <"$policy") == 703cd53d3d8b1e13a84c3e8e66d14b16571e7ed784801e08d772f85b9b0d50f6* ]] &&
    pass "the fixture is Tracee's file, unchanged" || fail "the fixture differs from Tracee's file"
  [[ $(grep -c '^    - event: ' "$policy") == 30 ]] && pass "it names 30 events" || fail "not 30 events"
  run_vigil tracee "$VIGIL" -p "$policy" --duration 1s -o "json:$WORK/tracee.json"
  expect_rc "vigil -p signature_events.yaml --duration 1s" 0
  expect_cancellations "$ERR"
  expect_no_stderr "no error or unknown event" 'error|unknown'
  finish
}

case_broken_rules() {
  local bad=$WORK/bad.yaml
  printf '%s\n' '- rule: bad one' '  desc: a broken condition' \
    '  condition: evt.name = ptrace and and proc.name = x' '  priority: warning' >"$bad"
  local trace=()
  command -v strace >/dev/null && trace=(strace -f -qq -e trace=bpf -o "$WORK/bpf.trace")
  run_vigil broken "${trace[@]}" "$VIGIL" -e anti_debugging --rules "$bad" --duration 1s -o "json:$WORK/b.json"
  expect_rc "a broken --rules file" 2
  expect_stderr "the message names file:line:column and what was expected" \
    "$bad:3:36: expected a field, a macro, 'not' or '\(' \(found 'and'\)"
  if ((${#trace[@]})); then
    [[ -f $WORK/bpf.trace ]] && ! grep -q 'bpf(' "$WORK/bpf.trace" && pass "no bpf() call was made" ||
      fail "bpf() was called before the rules were rejected: $(head -n 3 "$WORK/bpf.trace")"
  else
    log "strace is not installed: the no-bpf() check is not run"
  fi
  # An unknown field names itself, at its place.
  printf '%s\n' '- rule: unknown field' '  desc: x' '  condition: evt.name = ptrace and proc.nope = 1' \
    '  priority: warning' >"$bad"
  run_vigil unknown "$VIGIL" -e anti_debugging --rules "$bad" --duration 1s -o "json:$WORK/b.json"
  expect_rc "an unknown field" 2
  expect_stderr "it names the field and its place" "$bad:3:[0-9]+:.*proc\.nope"
  finish
}

case_override() {
  need_root
  act_setup
  local rules=$WORK/tune.yaml
  cat >"$rules" <<'YAML'
# anti_debugging replaced: only for t_ovr, critical
- rule: anti_debugging
  desc: PTRACE_TRACEME by the e2e program only
  condition: evt.name = ptrace and evt.arg.request = PTRACE_TRACEME and proc.name = t_ovr
  output: "overridden: %proc.name"
  severity: critical
- rule: aslr_inspection
  enabled: false
YAML
  start_sensor tuned -e tag=signatures --rules "$rules" -o "json:$EVENTS"
  drive p_ovr "$(as t_ovr "$ACT") traceme"
  drive p_other "$(as t_other "$ACT") traceme"
  drive p_aslr "$(as t_aslr /usr/bin/cat) /proc/sys/kernel/randomize_va_space >/dev/null"
  sleep 0.5
  stop_sensor INT
  check "the override fires, with its severity and output and the built-in's id" \
    'any(.[]; .eventName == "anti_debugging" and .processName == "t_ovr" and .eventId == "6000"
         and .metadata.Properties.Severity == 4 and any(.args[]; .name == "output" and .value == "overridden: t_ovr"))'
  check "the built-in condition is gone (t_other does the same)" \
    'all(.[]; (.eventName == "anti_debugging" and .processName == "t_other") | not)'
  check "enabled: false: aslr_inspection does not fire" 'all(.[]; .eventName != "aslr_inspection")'
  grep -Eq 'running [0-9]+ events \(.*aslr_inspection' "$SENSOR_ERR" &&
    fail "aslr_inspection still runs" || pass "aslr_inspection is not among the running events"
  # Selected by name, the disabled rule says so (not "unknown event").
  run_vigil disabled "$VIGIL" -e aslr_inspection --rules "$rules" --duration 1s -o "json:$WORK/d.json"
  expect_rc "only a disabled detection selected: nothing to run" 1
  expect_stderr "it says the rule is disabled and how to enable it" \
    "aslr_inspection cancelled: rule 'aslr_inspection' .* is disabled \(enabled: false\); enable it"
  # Without the override file the same acts fire the built-ins (else the checks above prove nothing).
  start_sensor builtin -e anti_debugging,aslr_inspection -o "json:$WORK/builtin.json"
  drive p_other2 "$(as t_other2 "$ACT") traceme"
  drive p_aslr2 "$(as t_aslr2 /usr/bin/cat) /proc/sys/kernel/randomize_va_space >/dev/null"
  sleep 0.5
  stop_sensor INT
  check "built-in anti_debugging fires for any process" \
    'any(.[]; .eventName == "anti_debugging" and .processName == "t_other2")' "$WORK/builtin.json"
  check "built-in aslr_inspection fires" \
    'any(.[]; .eventName == "aslr_inspection" and .processName == "t_aslr2")' "$WORK/builtin.json"
  finish
}

# await_log PATTERN: until the sensor's stderr matches (at most 10 s).
await_log() {
  for ((i = 0; i < 100; i++)); do grep -Eq -- "$1" "$SENSOR_ERR" && return 0; sleep 0.1; done
  return 1
}

case_reload() {
  need_root
  act_setup
  local rules=$WORK/reload.yaml
  write_rule() {
    cat >"$rules" <<YAML
- rule: anti_debugging
  desc: PTRACE_TRACEME by one e2e program
  condition: evt.name = ptrace and evt.arg.request = PTRACE_TRACEME and proc.name = $1
  output: "reloaded: %proc.name"
  severity: high
YAML
  }
  write_rule t_before
  start_sensor reload -e anti_debugging --rules "$rules" -o "json:$EVENTS"
  drive p1 "$(as t_before "$ACT") traceme"
  write_rule t_after
  kill -HUP "$SENSOR_PID"
  await_log 'reload: rules re-read' && pass "SIGHUP: the rules are re-read" ||
    fail "no rules reload in the log: $(tail -n 5 "$SENSOR_ERR")"
  drive p2 "$(as t_before "$ACT") traceme"
  drive p3 "$(as t_after "$ACT") traceme"
  # A broken file: the error names its place, the running rules stay.
  printf -- '- rule: anti_debugging\n  condition: evt.name = ptrace and proc.nope = 1\n' >"$rules"
  kill -HUP "$SENSOR_PID"
  await_log "reload: rules: $rules:2:[0-9]+: .*proc\.nope.*the running rules stay" &&
    pass "a broken file on reload: file:line:column, the running rules stay" ||
    fail "no error for the broken file: $(tail -n 5 "$SENSOR_ERR")"
  drive p4 "$(as t_after "$ACT") traceme"
  # A new detection needs new inputs in the kernel: a restart.
  write_rule t_after
  cat >>"$rules" <<'YAML'
- rule: brand new
  desc: d
  condition: evt.name = ptrace and proc.name = t_new
  output: "new"
  priority: warning
YAML
  kill -HUP "$SENSOR_PID"
  await_log 'reload: rules: detection brand_new .*is new \(a restart applies it\)' &&
    pass "a new detection on reload needs a restart, said so" ||
    fail "no restart notice for a new detection: $(tail -n 5 "$SENSOR_ERR")"
  sleep 0.5
  stop_sensor INT
  check "before the reload: t_before fires" \
    'any(.[]; .eventName == "anti_debugging" and .processName == "t_before" and .parentProcessName == "p1")'
  check "after the reload: t_before no longer fires" \
    'all(.[]; (.eventName == "anti_debugging" and .processName == "t_before" and .parentProcessName == "p2") | not)'
  check "after the reload: t_after fires, with the new output" \
    'any(.[]; .eventName == "anti_debugging" and .processName == "t_after" and .parentProcessName == "p3"
         and any(.args[]; .name == "output" and .value == "reloaded: t_after"))'
  check "after the broken file: the reloaded rule still runs" \
    'any(.[]; .eventName == "anti_debugging" and .processName == "t_after" and .parentProcessName == "p4")'
  finish
}

# reload_memory: a --rules file whose list makes each engine a few MB;
# reloads must not keep them. After a few warm-up reloads, 12 more may not
# grow the RSS by as much as the first reload did (a kept engine each would
# add 12 times that); the last engine still fires.
case_reload_memory() {
  need_root
  act_setup
  local rules=$WORK/big.yaml
  python3 - "$rules" <<'PY'
import sys
items = ",".join("vg_reload_item_%06d_padding_padding" % i for i in range(20000))
open(sys.argv[1], "w").write(f"""- list: vg_reload_big_list
  items: [{items}]
- rule: anti_debugging
  desc: PTRACE_TRACEME by a process outside a big list
  condition: evt.name = ptrace and evt.arg.request = PTRACE_TRACEME and not proc.name in (vg_reload_big_list)
  output: "reloaded: %proc.name"
  severity: high
""")
PY
  start_sensor memory -e anti_debugging --rules "$rules" -o "json:$EVENTS" --duration 120s
  rss() { awk '/^VmRSS:/ {print $2}' "/proc/$SENSOR_PID/status"; }
  local n=0
  hup() {
    kill -HUP "$SENSOR_PID"
    n=$((n + 1))
    for ((i = 0; i < 200; i++)); do
      (($(grep -c 'reload: rules re-read' "$SENSOR_ERR") >= n)) && return 0
      sleep 0.05
    done
    die "reload $n not logged: $(tail -n 5 "$SENSOR_ERR")"
  }
  local start first warm last
  start=$(rss)
  hup
  first=$(rss)
  hup
  hup
  warm=$(rss)
  for _ in $(seq 12); do hup; done
  last=$(rss)
  drive p_mem "$(as t_mem "$ACT") traceme"
  sleep 0.5
  stop_sensor INT
  check "after 15 reloads the last engine fires" \
    'any(.[]; .eventName == "anti_debugging" and .processName == "t_mem" and .parentProcessName == "p_mem"
         and any(.args[]; .name == "output" and .value == "reloaded: t_mem"))'
  local engine=$((first - start)) growth=$((last - warm))
  log "RSS (kB): start $start, after 1 reload $first, after 3 $warm, after 15 $last"
  ((engine > 1000)) || fail "the first reload grew the RSS by $engine kB only: the list is too small to tell"
  ((growth < engine)) && pass "15 reloads: RSS grew $growth kB over the last 12 (one engine: ~$engine kB)" ||
    fail "the last 12 reloads grew the RSS by $growth kB (one engine: ~$engine kB): replaced engines are kept"
  finish
}

case_false_positives() {
  need_root
  [[ -f $DEFAULT_POLICY ]] || die "pass policies/default.yaml as the third argument"
  require_commands cc tar git python3 apt-cache
  local w=$WORK/benign
  mkdir -p "$w"
  # The sensor runs without -e/-p: the default policy (its path is compiled
  # in; DEFAULT_POLICY is only the file the checks read).
  grep -q 'tag=signatures' "$DEFAULT_POLICY" || fail "the default policy does not select the detections"
  start_sensor default -o "json:$EVENTS"
  (
    cd "$w" || exit 1
    printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' >hello.c
    cc -O2 -o hello hello.c && ./hello >/dev/null
    # Builds happen under hidden directories too (~/.cache, ~/.local/src).
    mkdir -p .cache/build && cc -O2 -o .cache/build/hello hello.c && .cache/build/hello >/dev/null
    printf '#!/bin/sh\nfor i in 1 2 3; do echo "$i"; done | wc -l\n' >script.sh
    chmod +x script.sh && ./script.sh >/dev/null
    mkdir -p tree/sub && echo a >tree/a && echo b >tree/sub/b
    tar czf tree.tgz tree && mkdir untar && tar xzf tree.tgz -C untar
    git init -q repo && cd repo && echo hi >README && git add README &&
      git -c user.name=e2e -c user.email=e2e@example.com commit -qm init && git log --oneline >/dev/null
    cd "$w" || exit 1
    python3 -c 'import json, os; print(json.dumps(sorted(os.listdir("."))))' >/dev/null
    python3 -c 'import hashlib; print(hashlib.sha256(b"x").hexdigest())' >/dev/null
    cat /etc/passwd >/dev/null
    getent passwd root >/dev/null
    apt-cache policy bash >/dev/null 2>&1
    apt-cache show coreutils >/dev/null 2>&1
    ls -la >/dev/null && cp hello.c copy.c && mv copy.c moved.c && rm -f moved.c
    sed -i -e 's/hello/hi/' hello.c && chmod 0755 script.sh && ln -s hello.c link.c
    id >/dev/null && uname -a >/dev/null && ps aux >/dev/null && df >/dev/null
  ) >"$WORK/workload.log" 2>&1 || fail "the benign workload failed: $(tail -n 5 "$WORK/workload.log")"
  # A control: a medium detection by a child of this script is seen (else
  # the check below could pass on a sensor that detects nothing).
  act_setup
  drive p_control "$(as t_control /usr/bin/cat) /etc/shadow >/dev/null"
  sleep 1
  stop_sensor INT
  check "the control (read_sensitive_file_untrusted, medium) is detected" \
    'any(.[]; .eventName == "read_sensitive_file_untrusted" and .processName == "t_control")'
  # Only the workload's processes: descendants of this script, by pid.
  local pids
  pids=$(jq -r 'select(.metadata == null) | .hostProcessId' "$EVENTS" | sort -u | wc -l)
  ((pids > 10)) && pass "the default policy saw the workload ($pids processes)" ||
    fail "only $pids processes in the output: the workload was not seen"
  jq -c --argjson me $$ 'select(.metadata != null and .metadata.Properties.Severity >= 2 and
      (.hostParentProcessId == $me or any(.ancestors[]; .pid == $me))
      and .processName != "t_control")
    | [.eventName, .metadata.Properties.Severity, .processName, .executable.path, (.args[] | select(.name == "output") | .value)]' \
    "$EVENTS" >"$WORK/fp.txt"
  if [[ -s $WORK/fp.txt ]]; then
    fail "detections of severity >= medium on the benign workload:
$(sort "$WORK/fp.txt" | uniq -c)"
  else
    pass "no detection of severity medium or above on the benign workload"
  fi
  finish
}


# A metrics counter (metrics file).
metric() { awk -v k="$2" '$1 == k {print $2}' "$1"; }

case_kernel_prefilter() {
  need_root
  act_setup
  local m=$WORK/metrics.prom n=20000 tmp=$WORK/wlb_prefilter.tmp rules=$WORK/prefilter.yaml
  : >"$tmp"
  start_sensor default --log-level debug --metrics-file "$m" -o "json:$EVENTS"
  grep -q "kernel prefilter of security_file_open: .*basename 'shadow'" "$SENSOR_ERR" &&
    pass "the kernel prefilter is on, built from the built-in rules" ||
    fail "no kernel prefilter of security_file_open in the debug log"
  drive p_pf "$(as t_pf /usr/bin/cat) /etc/shadow >/dev/null"
  sleep 1
  stop_sensor INT
  expect read_sensitive_file_untrusted t_pf /usr/bin/cat p_pf VGL-6050 2 security_file_open

  # The detections alone, for this script's loop only (other processes on the
  # machine fail the scope): its opens of a temp file must not reach user space.
  printf '%s\n' '#include <fcntl.h>' '#include <stdlib.h>' '#include <unistd.h>' \
    'int main(int c, char **v) { for (long i = atol(v[2]); i > 0; i--) close(open(v[1], O_RDONLY)); return 0; }' \
    >"$WORK/openloop.c"
  cc -O1 -o "$WORK/openloop" "$WORK/openloop.c" || die "cannot build the open loop"
  cat >"$WORK/scoped.yaml" <<YAML
apiVersion: vigil.dev/v1
kind: Policy
metadata:
  name: scoped-detections
spec:
  scope:
    - comm=t_loop
  rules:
    - event: tag=signatures
YAML
  start_sensor scoped -p "$WORK/scoped.yaml" --metrics-file "$m" -o "json:$WORK/scoped.json"
  sleep 1.2
  local before after filtered_before filtered_after
  before=$(metric "$m" vigil_kernel_records_total)
  filtered_before=$(metric "$m" 'vigil_events_filtered_total{where="kernel"}')
  drive p_loop "$(as t_loop "$WORK/openloop") $tmp $n"
  sleep 1.5
  after=$(metric "$m" vigil_kernel_records_total)
  filtered_after=$(metric "$m" 'vigil_events_filtered_total{where="kernel"}')
  stop_sensor INT
  [[ -n $before && -n $after ]] || fail "no vigil_kernel_records_total in the metrics file"
  ((after - before < n / 10)) && pass "$n opens no rule matches: $((after - before)) records reached user space" ||
    fail "$((after - before)) records reached user space over $n opens of a file no rule matches"
  ((filtered_after - filtered_before >= n)) &&
    pass "they count as filtered in the kernel (+$((filtered_after - filtered_before)))" ||
    fail "the filtered-in-kernel counter rose by $((filtered_after - filtered_before)) over $n opens"

  # User rules change the tables: one on a file name (fed through the kernel's
  # name table), one the kernel cannot decide (every open passes).
  cat >"$rules" <<'YAML'
- rule: Prefilter e2e name
  desc: a read of wlb_prefilter.tmp, a basename the kernel tables hold
  condition: open_read and fd.filename = wlb_prefilter.tmp and proc.name = t_name
  output: "%proc.name read %fd.name"
  priority: warning
YAML
  start_sensor named --log-level debug --rules "$rules" -o "json:$WORK/named.json"
  grep -q "kernel prefilter of security_file_open: .*basename 'wlb_prefilter.tmp'" "$SENSOR_ERR" &&
    pass "a --rules rule's file name is in the kernel tables" || fail "wlb_prefilter.tmp not in the kernel tables"
  drive p_name "$(as t_name /usr/bin/cat) $tmp"
  sleep 1
  stop_sensor INT
  check "the --rules rule on a file name fires" \
    'any(.[]; .eventName == "prefilter_e2e_name" and .processName == "t_name")' "$WORK/named.json"
  cat >"$rules" <<'YAML'
- rule: Prefilter e2e comm
  desc: any open by t_comm, with no file name (the kernel passes every open)
  condition: evt.name = security_file_open and proc.name = t_comm
  output: "%proc.name opened %fd.name"
  priority: warning
YAML
  start_sensor comm --log-level debug --rules "$rules" -o "json:$WORK/comm.json"
  grep -q "kernel prefilter of security_file_open: every open passes" "$SENSOR_ERR" &&
    pass "an irreducible rule turns the prefilter to pass-all" || fail "the prefilter did not pass everything"
  drive p_comm "$(as t_comm /usr/bin/cat) $tmp"
  sleep 1
  stop_sensor INT
  check "the irreducible rule fires on an open of an unrelated file" \
    "any(.[]; .eventName == \"prefilter_e2e_comm\" and .processName == \"t_comm\"
         and .args[0].value.args[0].value == \"$(readlink -f "$tmp")\")" "$WORK/comm.json"
  finish
}

run_case
