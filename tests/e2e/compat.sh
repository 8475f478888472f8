#!/usr/bin/env bash
# Compat (ia32) syscalls of an x86-64 process, through the real binary: a
# static x86-64 program built here (fixtures/ia32_syscalls.c) calls int $0x80
# with its strings in a MAP_32BIT buffer. Its open, openat, connect (ia32 and
# through socketcall) and execve must be reported under the x86-64 events'
# names with their arguments decoded, marked contextFlags.isCompat, and the
# policy's pathname filters must apply to them; security_file_open and
# security_socket_connect must follow them. Its x32 syscall is counted as not
# decoded. An ordinary 64-bit open stays unmarked.
#
#   compat.sh VIGIL CASE     CASE: tracepoints (per-syscall tracepoints, with
#                            the dispatcher beside them for compat syscalls only)
#                            or raw (the dispatcher for every syscall)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
CASE=${2:-tracepoints}
need_root
require_commands jq cc
FIXTURE=$(dirname "$(readlink -f "$0")")/fixtures/ia32_syscalls.c

case_tracepoints() { compat_case tracepoints; }
case_raw() { compat_case raw; }

compat_case() {
  local hook=$1 prog=$WORK/ia32_syscalls p=$WORK/p.yaml
  cc -static -O1 -o "$prog" "$FIXTURE" 2>"$WORK/cc.err" || die "cc $FIXTURE failed: $(cat "$WORK/cc.err")"
  mkdir "$WORK/files" "$WORK/bin"
  echo compat >"$WORK/files/target"
  cp /bin/true "$WORK/bin/true"
  # A port nothing listens on: both connects fail (ECONNREFUSED), which the events report.
  local port=$((20000 + RANDOM % 20000))
  # The ia32 syscalls, and an x86-64 open of the same file.
  policy "$p" compat "comm=ia32_syscalls" "    - event: open
      filters:
        - data.pathname=$WORK/files/*
    - event: openat
      filters:
        - data.pathname=$WORK/files/*
    - event: execve
      filters:
        - data.pathname=$WORK/bin/*
    - event: connect
    - event: security_file_open
    - event: security_socket_connect"
  policy "$p" native "comm=cat" "    - event: openat
      filters:
        - data.pathname=$WORK/files/*"
  start_sensor main -p "$p" --syscall-hook "$hook" -o "json:$EVENTS"
  local child
  run_child child "$prog" "$WORK/files/target" /etc/hostname "$port" "$WORK/bin/true" 2>"$WORK/prog.err"
  log "ia32_syscalls ($child): $(tr '\n' ' ' <"$WORK/prog.err")"
  local cat_pid
  run_child cat_pid /bin/cat "$WORK/files/target" >/dev/null
  sleep 0.3
  stop_sensor INT
  grep -q "syscalls via $([[ $hook == raw ]] && echo raw_syscalls || echo syscall_tracepoints)" "$SENSOR_ERR" ||
    fail "the sensor did not use the $hook hook: $(grep running "$SENSOR_ERR")"

  local mine=".hostProcessId == $child and .contextFlags.isCompat == true"
  local target="$WORK/files/target"
  path_of='(.args[] | select(.name == "pathname") | .value)'
  check "ia32 open(5) of $target is reported as open, compat, with its flags" "
    any(.[]; $mine and .eventName == \"open\" and $path_of == \"$target\" and .returnValue >= 0 and
             .syscall == \"open\" and (.args[] | select(.name == \"flags\") | .value) == \"O_RDONLY\")"
  check "ia32 openat(295) of $target is reported as openat (dirfd AT_FDCWD), compat" "
    any(.[]; $mine and .eventName == \"openat\" and $path_of == \"$target\" and .args[0].value == -100)"
  check "the pathname filter applies: the ia32 open of /etc/hostname is seen (security_file_open), not as open" "
    any(.[]; $mine and .eventName == \"security_file_open\" and .args[0].value == \"/etc/hostname\") and
    all(.[]; if .eventName == \"open\" or .eventName == \"openat\" then $path_of != \"/etc/hostname\" else true end)"
  check "security_file_open follows both ia32 opens of $target, compat, naming the syscall" "
    [.[] | select($mine and .eventName == \"security_file_open\" and .args[0].value == \"$target\") |
           (.args[] | select(.name == \"syscall\") | .value)] | sort == [\"open\", \"openat\"]"
  check "ia32 connect(362) and socketcall(SYS_CONNECT) are both reported as connect to 127.0.0.1:$port" "
    [.[] | select($mine and .eventName == \"connect\" and .returnValue == -111 and
                  .args[1].value.sin_addr == \"127.0.0.1\" and .args[1].value.sin_port == \"$port\")] | length == 2"
  check "security_socket_connect follows both" "
    [.[] | select($mine and .eventName == \"security_socket_connect\" and
                  .args[2].value.sin_port == \"$port\")] | length == 2"
  check "the failed ia32 execve(11) is reported with -ENOENT and its argv (4-byte pointers) decoded" "
    any(.[]; $mine and .eventName == \"execve\" and .returnValue == -2 and
             .args[0].value == \"$WORK/bin/true-missing\" and .args[1].value == [\"$WORK/bin/true\", \"compat-argv\"])"
  check "the ia32 execve of $WORK/bin/true is reported, compat, with its argv" "
    any(.[]; $mine and .eventName == \"execve\" and .returnValue == 0 and .args[0].value == \"$WORK/bin/true\" and
             .args[1].value == [\"$WORK/bin/true\", \"compat-argv\"] and .matchedPolicies == [\"compat\"])"
  check "no event of the program is decoded through the x86-64 table (fstat=5, ...)" "
    all(.[]; .hostProcessId != $child or (.eventName | IN(\"open\", \"openat\", \"connect\", \"execve\",
                                           \"security_file_open\", \"security_socket_connect\")))"
  check "cat's x86-64 openat of $target is reported without contextFlags" "
    any(.[]; .hostProcessId == $cat_pid and .eventName == \"openat\" and $path_of == \"$target\" and
             has(\"contextFlags\") == false)"
  local undecoded
  undecoded=$(grep -oE '[0-9]+ compat syscalls not decoded' "$SENSOR_ERR" | grep -oE '^[0-9]+')
  [[ -n "$undecoded" ]] && ((undecoded >= 1)) &&
    pass "the stop summary counts the x32 syscall: $undecoded compat syscalls not decoded" ||
    fail "the stop summary does not count the x32 syscall: $(grep stopped "$SENSOR_ERR")"
  finish
}

run_case
