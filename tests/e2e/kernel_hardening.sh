#!/usr/bin/env bash
# Hardening of the kernel side (issue 9): the tricks a process can play on
# the sensor's self-exclusion and scopes, performed for real.
#
#   kernel_hardening.sh VIGIL CASE
source "$(dirname "$0")/lib.sh"
CASE=${2:-}

opens() { printf '(.eventName == "openat" and any(.args[]; .name == "pathname" and .value == "%s"))' "$1"; }

# The children of a process (their host pids), from /proc.
children_of() { cat /proc/"$1"/task/*/children 2>/dev/null | tr -s ' ' '\n' | grep .; }

# 4. Self-exclusion in a pid namespace. The sensor runs as a child of pid 1 in
# a new pid namespace, with its in-namespace pid forced (ns_last_pid) to the
# host pid of a decoy process that keeps opening a file. Excluding getpid()
# would hide the decoy and report the sensor's own opens (its metrics file,
# rewritten every second); the sensor must do neither.
case_pidns_self() {
  need_root
  require_commands unshare jq
  local decoy_file=$WORK/decoy
  : >"$decoy_file"
  bash -c 'while :; do : <"$1"; sleep 0.05; done' decoy "$decoy_file" &
  local decoy=$!
  BACKGROUND+=("$decoy")
  local ready=$WORK/ns.ready err=$WORK/ns.stderr
  SENSOR_ERR=$err
  unshare -pf --mount-proc bash -c '
    echo $(($1 - 1)) >/proc/sys/kernel/ns_last_pid || exit 3
    "$2" -e "openat.data.pathname=$3/*" -o "json:$3/events.json" --metrics-file "$3/metrics.prom" \
      --duration 6s --ready-file "$4" 2>"$5" &
    inner=$!
    echo "$inner" >"$3/inner.pid"
    wait "$inner"' ns "$decoy" "$VIGIL" "$WORK" "$ready" "$err" &
  local outer=$!
  local deadline=$((SECONDS + 30))
  while [[ ! -s "$ready" ]] && kill -0 "$outer" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
  [[ -s "$ready" ]] || die "the sensor in a pid namespace did not become ready; stderr: $(tail -n 20 "$err")"
  local inner_ns_pid sensor_host_pid ns_init
  inner_ns_pid=$(cat "$WORK/inner.pid")
  [[ "$inner_ns_pid" == "$decoy" ]] ||
    die "the sensor's pid in its namespace is $inner_ns_pid, not the decoy's host pid $decoy (ns_last_pid)"
  ns_init=$(children_of "$outer" | head -n 1)
  sensor_host_pid=$(children_of "$ns_init" | head -n 1)
  [[ -n "$sensor_host_pid" && "$sensor_host_pid" != "$decoy" ]] || die "cannot find the sensor's host pid"
  log "decoy: host pid $decoy; sensor: host pid $sensor_host_pid, pid $inner_ns_pid in its namespace"
  wait "$outer"
  local rc=$?
  ((rc == 0)) || fail "the sensor exited with status $rc; stderr: $(tail -n 20 "$err")"
  EVENTS=$WORK/events.json
  check "the decoy (host pid $decoy, the sensor's pid in its namespace) is reported opening $decoy_file" "
    any(.[]; $(opens "$decoy_file") and .hostProcessId == $decoy)"
  check "the sensor (host pid $sensor_host_pid) does not report its own opens under $WORK" "
    all(.[]; .hostProcessId != $sensor_host_pid)"
  [[ -s "$WORK/metrics.prom" ]] && pass "metrics file written" || fail "no metrics file: the sensor made no opens to hide"
  finish
}

# 4b. The capability audit, filtered to the sensor's tgid too: run as pid 1
# of a new pid namespace it must still record the sensor's own checks (by
# getpid() it recorded the host's pid 1, and none of the sensor's).
case_pidns_caps_audit() {
  need_root
  require_commands unshare
  run_vigil audit unshare -pf --mount-proc "$VIGIL" caps audit -e openat --duration 1s
  expect_rc "caps audit in a pid namespace" 0
  local checks
  checks=$(grep -oE '^[0-9]+ capability checks recorded' "$OUT" | grep -oE '^[0-9]+')
  if [[ -n "$checks" ]] && ((checks > 0)); then
    pass "the audit recorded $checks of the sensor's capability checks"
  else
    fail "the audit recorded '${checks:-no}' capability checks; stdout: $(head -n 5 "$OUT")"
  fi
  grep -Eq '^load .*cap_bpf +granted' "$OUT" && pass "the load phase used cap_bpf" ||
    fail "no granted cap_bpf in the load phase; stdout: $(head -n 12 "$OUT")"
  finish
}

# 7. A kernel table that fills is counted, in the stop summary and the
# metrics: more connects to a black hole (SYN_SENT for minutes) than
# tcp_connecting holds (8192), from a network namespace of their own.
case_table_full() {
  need_root
  require_commands unshare ip python3
  start_sensor main -e net_tcp_connection --metrics-file "$WORK/vigil.prom" --duration 60s
  unshare -n bash -c '
    ip link set lo up && ip route add 10.99.0.0/16 dev lo || exit 3
    exec python3 -c "
import errno, resource, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (9000, 9000))
held = []
for i in range(8500):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    if s.connect_ex((\"10.99.%d.%d\" % (i // 250, i % 250 + 1), 80)) != errno.EINPROGRESS:
        sys.exit(4)
    held.append(s)
time.sleep(2.5)  # the metrics file is rewritten every second
"' || fail "the black-hole connects could not be made (status $?)"
  local full
  full=$(awk '$1 == "vigil_events_lost_total{reason=\"kernel_table_full\"}" {print $2}' "$WORK/vigil.prom")
  if [[ -n "$full" ]] && ((full >= 8500 - 8192)); then
    pass "metrics: kernel_table_full $full (>= $((8500 - 8192)))"
  else
    fail "metrics: kernel_table_full '${full:-absent}', want >= $((8500 - 8192)): $(grep lost "$WORK/vigil.prom")"
  fi
  stop_sensor INT
  local summary
  summary=$(grep -oE '[0-9]+ \(kernel table full\)' "$SENSOR_ERR" | grep -oE '^[0-9]+')
  if [[ -n "$summary" ]] && ((summary >= 8500 - 8192)); then
    pass "stop summary: $summary (kernel table full)"
  else
    fail "stop summary: '${summary:-no count}' (kernel table full); stderr: $(grep stopped "$SENSOR_ERR")"
  fi
  finish
}


# 5b. tree=PID is exact: a chain of 40 processes below PID (the kernel
# walked 32 ancestors), made before the sensor started (seeded from /proc)
# or after (marked at fork), and a double-forked orphan (reparented away
# from its parent before it acts) are still PID's descendants.
case_tree_escape() {
  need_root
  require_commands ps
  local f=$WORK/tree-target p=$WORK/p.yaml go=$WORK/go pids=$WORK/pids
  echo tree >"$f"
  cat >"$WORK/tree.sh" <<'EOF'
#!/bin/bash
f=$1 go=$2 pids=$3
pre_chain() {
  if (($1 == 0)); then
    echo "predeep $BASHPID" >>"$pids"
    while [[ ! -e $go ]]; do sleep 0.05; done
    exec /bin/cat "$f" >/dev/null
  fi
  pre_chain $(($1 - 1)) &
  wait $!
}
pre_chain 40 &
while [[ ! -e $go ]]; do sleep 0.05; done
chain() {
  if (($1 == 0)); then echo "deep $BASHPID" >>"$pids"; exec /bin/cat "$f" >/dev/null; fi
  chain $(($1 - 1)) &
  wait $!
}
chain 40
# The orphan: its parent exits at once, and it opens the file only once it
# has been reparented.
( parent=$BASHPID
  ( while [[ $(ps -o ppid= -p $BASHPID | tr -d ' ') == "$parent" ]]; do sleep 0.02; done
    echo "orphan $BASHPID" >>"$pids"; exec /bin/cat "$f" >/dev/null ) & )
wait
sleep 1
EOF
  bash "$WORK/tree.sh" "$f" "$go" "$pids" &
  local root=$!
  BACKGROUND+=("$root")
  local deadline=$((SECONDS + 20))
  while ! grep -q '^predeep ' "$pids" 2>/dev/null; do
    ((SECONDS < deadline)) || die "the chain made before the sensor did not reach its depth"
    sleep 0.05
  done
  policy "$p" subtree "tree=$root" "    - event: openat
      filters:
        - data.pathname=$f"
  start_sensor main -p "$p" -o "json:$EVENTS"
  touch "$go"
  wait "$root"
  sleep 0.3
  stop_sensor INT
  local deep orphan predeep
  predeep=$(awk '$1 == "predeep" {print $2}' "$pids")
  deep=$(awk '$1 == "deep" {print $2}' "$pids")
  orphan=$(awk '$1 == "orphan" {print $2}' "$pids")
  [[ -n "$deep" && -n "$orphan" ]] || die "the tree's processes did not run: $(cat "$pids" 2>/dev/null)"
  check "the cat 41 levels below the tree's root ($deep) is reported" "
    any(.[]; $(opens "$f") and .hostProcessId == $deep and .matchedPolicies == [\"subtree\"])"
  check "the cat 41 levels below the root, made before the sensor started ($predeep), is reported" "
    any(.[]; $(opens "$f") and .hostProcessId == $predeep)"
  check "the double-forked orphan ($orphan), reparented away, is reported" "
    any(.[]; $(opens "$f") and .hostProcessId == $orphan)"
  finish
}

# 5c. uid is the real uid, as in Tracee; euid is the effective one: after
# setresuid(65534, 0, 0) a process is outside uid=0 and inside euid=0.
case_scope_euid() {
  need_root
  require_commands python3
  local f=$WORK/euid-target p=$WORK/p.yaml
  echo euid >"$f"
  chmod 0644 "$f"
  local filter="    - event: openat
      filters:
        - data.pathname=$f"
  policy "$p" real-root "uid=0" "$filter"
  policy "$p" effective-root "euid=0" "$filter"
  policy "$p" effective-low "euid<1000" "$filter"
  policy "$p" effective-nobody "euid=65534" "$filter"
  start_sensor main -p "$p" -o "json:$EVENTS"
  python3 -c 'import os, sys; os.setresuid(65534, 0, 0); open(sys.argv[1]).close()' "$f" &
  local swapped=$!
  wait "$swapped"
  python3 -c 'import os, sys; os.setresuid(0, 65534, 0); open(sys.argv[1]).close()' "$f" &
  local lowered=$!
  wait "$lowered"
  sleep 0.3
  stop_sensor INT
  check "real uid 65534, euid 0 ($swapped): euid=0 and euid<1000 match, uid=0 does not" "
    any(.[]; $(opens "$f") and .hostProcessId == $swapped and
             .matchedPolicies == [\"effective-root\", \"effective-low\"])"
  check "real uid 0, euid 65534 ($lowered): uid=0 and euid=65534 match" "
    any(.[]; $(opens "$f") and .hostProcessId == $lowered and
             .matchedPolicies == [\"real-root\", \"effective-nobody\"])"
  finish
}

# 5a. container is decided by the cgroup (what containerId says), not the
# pid namespace: `unshare -Urpf` on the host stays host; a --pid=host
# container (a docker-style cgroup, no pid namespace) is a container, whether
# its cgroup existed at start (seeded) or was made after (cgroup_mkdir),
# and so is a cgroup made below a container's.
case_scope_container() {
  need_root
  require_commands unshare
  local root f=$WORK/ctr-target p=$WORK/p.yaml
  root=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
  [[ -n $root ]] || die "no cgroup v2 mount"
  echo ctr >"$f"
  chmod 0644 "$f"
  local base=$root/vigil-kh-$$-$RANDOM id_old id_new
  id_old=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  id_new=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  local old=$base/docker-$id_old.scope new=$base/cri-containerd-$id_new.scope
  mkdir -p "$old" || die "cannot create $old"
  CLEANUP_CGROUPS=("$old/inner" "$old" "$new" "$base")
  trap 'for d in "${CLEANUP_CGROUPS[@]}"; do rmdir "$d" 2>/dev/null; done; cleanup' EXIT
  local filter="    - event: openat
      filters:
        - data.pathname=$f"
  policy "$p" ctr "container" "$filter"
  policy "$p" host "not-container" "$filter"
  start_sensor main -p "$p" -o "json:$EVENTS"
  mkdir "$new" "$old/inner" || die "cannot create the cgroups made after start"
  in_cgroup() { exec bash -c 'echo $$ >"$1/cgroup.procs" && exec /bin/cat "$2" >/dev/null' _ "$1" "$f"; }
  local sandboxed seeded made nested
  unshare -Urpf /bin/cat "$f" >/dev/null &
  sandboxed=$!
  wait "$sandboxed"
  in_cgroup "$old" &
  seeded=$!
  wait "$seeded"
  in_cgroup "$new" &
  made=$!
  wait "$made"
  in_cgroup "$old/inner" &
  nested=$!
  wait "$nested"
  sleep 0.3
  stop_sensor INT
  # unshare -f: the cat is the child of the unshare process.
  check "cat in an unshare -Urpf sandbox on the host is host, not container" "
    any(.[]; $(opens "$f") and .hostParentProcessId == $sandboxed and .matchedPolicies == [\"host\"])"
  check "a process in a container cgroup that existed at start ($seeded) is a container" "
    any(.[]; $(opens "$f") and .hostProcessId == $seeded and .matchedPolicies == [\"ctr\"])"
  check "a process in a container cgroup made after start ($made) is a container" "
    any(.[]; $(opens "$f") and .hostProcessId == $made and .matchedPolicies == [\"ctr\"])"
  check "a process in a cgroup made below a container's ($nested) is a container" "
    any(.[]; $(opens "$f") and .hostProcessId == $nested and .matchedPolicies == [\"ctr\"])"
  finish
}

run_case
