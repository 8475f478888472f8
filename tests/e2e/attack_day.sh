#!/usr/bin/env bash
# End-to-end "attack day": the real vigil binary with the default policy
# (-p policies/default.yaml), while a script does what an intruder would:
#
#   1. drops an executable in /tmp and runs it
#   2. reads /etc/shadow
#   3. connects over TCP to a listener on 127.0.0.1
#   4. ptraces another process (PTRACE_ATTACH)
#   5. executes a memfd (fileless execution)
#   6. changes its capabilities (capset)
#
# Every step must be in the JSON with the process that did it, its parent
# (the attacker's shell) and the decoded arguments.
#
#   attack_day.sh VIGIL POLICY
#
# Exit status: 0 pass, 1 fail, 77 skipped (ctest's SKIP_RETURN_CODE) with
# the reason on stderr.
POLICY=${2:?usage: attack_day.sh VIGIL POLICY}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
[[ -r "$POLICY" ]] || die "no policy file: $POLICY"
need_root
require_commands jq
command -v python3 >/dev/null || skip "python3 is needed for the ptrace and memfd steps"

# ------------------------------------------------------------ the attacker's tools

cat >"$WORK/listener.py" <<'EOF'
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept()
c.recv(100)
EOF

# PTRACE_ATTACH (16), wait for the stop, PTRACE_DETACH (17).
cat >"$WORK/tracer.py" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
pid = int(sys.argv[1])
if libc.ptrace(16, pid, None, None) != 0:
    sys.exit("PTRACE_ATTACH: errno %d" % ctypes.get_errno())
os.waitpid(pid, 0)
libc.ptrace(17, pid, None, None)
EOF

# A binary copied into anonymous memory and executed from there.
cat >"$WORK/memfd.py" <<'EOF'
import os
fd = os.memfd_create("attack-memfd", 0)
with open("/bin/true", "rb") as f:
    os.write(fd, f.read())
os.execve("/proc/self/fd/%d" % fd, ["memfd-payload"], {})
EOF

# The attack itself. Every step is a direct child of this shell, started in
# the background so that its pid is known.
cat >"$WORK/attack.sh" <<'EOF'
#!/bin/bash
W=$1
P=$W/pids
echo "shell $$" >>"$P"

# 1. A dropped executable, run from /tmp.
cp /bin/true "$W/dropped-payload"
chmod 755 "$W/dropped-payload"
"$W/dropped-payload" --version >/dev/null &
echo "dropper $!" >>"$P"
wait

# 2. Password hashes.
/bin/cat /etc/shadow >/dev/null &
echo "cat $!" >>"$P"
wait

# 3. An outbound TCP connection to a local listener.
python3 "$W/listener.py" "$W/port" &
echo "listener $!" >>"$P"
for _ in $(seq 100); do [[ -s "$W/port" ]] && break; sleep 0.05; done
port=$(cat "$W/port")
echo "port $port" >>"$P"
bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; echo hello >&3; exec 3>&-" &
echo "client $!" >>"$P"
wait

# 4. One process ptraces another.
sleep 30 &
target=$!
echo "target $target" >>"$P"
python3 "$W/tracer.py" "$target" &
echo "tracer $!" >>"$P"
wait $!
kill "$target"
wait

# 5. Fileless execution.
python3 "$W/memfd.py" &
echo "memfd $!" >>"$P"
wait

# 6. A capability change.
if command -v setpriv >/dev/null; then
  setpriv --inh-caps=-all true &
elif command -v capsh >/dev/null; then
  capsh --caps=cap_net_raw+eip -- -c true &
fi
echo "capset $!" >>"$P"
wait
EOF

# ------------------------------------------------------------ run

start_sensor main -p "$POLICY" -o "json:$EVENTS"
log "running $(grep -o 'running [0-9]* events' "$SENSOR_ERR")"

bash "$WORK/attack.sh" "$WORK" || die "the attack script failed"
sleep 0.5  # records reach the sink within ~100 ms
stop_sensor INT

SHELL_PID=$(pid_of shell)
PORT=$(pid_of port)
for step in dropper cat listener client target tracer memfd capset; do
  [[ -n $(pid_of "$step") ]] || die "the attack script did not record its $step step"
done
[[ -s "$EVENTS" ]] || die "no events were written"
log "$(wc -l <"$EVENTS") events; attacker shell $SHELL_PID"

# expect DESCRIPTION JQ_CONDITION: some event (as `.`) satisfies the
# condition. The condition may use arg("NAME") and the pids as $shell,
# $dropper, ... (numbers), $port (number) and $work (string).
expect() {
  local what=$1 cond=$2
  if jq -e -s \
    --argjson shell "$SHELL_PID" --argjson dropper "$(pid_of dropper)" --argjson cat "$(pid_of cat)" \
    --argjson listener "$(pid_of listener)" --argjson client "$(pid_of client)" \
    --argjson target "$(pid_of target)" --argjson tracer "$(pid_of tracer)" \
    --argjson memfd "$(pid_of memfd)" --argjson capset "$(pid_of capset)" --argjson port "$PORT" \
    --arg work "$WORK" '
      def arg($n): first(.args[] | select(.name == $n) | .value);
      def policy($p): .matchedPolicies | index($p) != null;
      def child_of_shell: .hostParentProcessId == $shell;
      any(.[]; '"$cond"')' "$EVENTS" >/dev/null; then
    pass "$what"
  else
    fail "$what"
  fi
}

# 1. The dropped binary.
expect "1. exec of the file dropped in /tmp, by the process that ran it, child of the attacker's shell" \
  '.eventName == "sched_process_exec" and .hostProcessId == $dropper and child_of_shell
   and arg("pathname") == ($work + "/dropped-payload") and .processName == "dropped-payload"
   and arg("argv") == [($work + "/dropped-payload"), "--version"] and policy("process-lifecycle")'
expect "1. execve of it from the shell, with its argv" \
  '.eventName == "execve" and .hostProcessId == $dropper and child_of_shell
   and arg("pathname") == ($work + "/dropped-payload") and .returnValue == 0'

# 2. /etc/shadow.
expect "2. /etc/shadow opened by cat, child of the shell (credential-files)" \
  '.eventName == "openat" and .hostProcessId == $cat and .processName == "cat" and child_of_shell
   and arg("pathname") == "/etc/shadow" and (arg("flags") | startswith("O_RDONLY")) and .returnValue >= 0
   and policy("credential-files")'

# 3. The TCP connection, seen from the syscall, the socket and the connection.
expect "3. connect(2) to 127.0.0.1:PORT by the client, child of the shell (outbound-connections)" \
  '.eventName == "connect" and .hostProcessId == $client and child_of_shell
   and arg("addr").sa_family == "AF_INET" and arg("addr").sin_addr == "127.0.0.1"
   and arg("addr").sin_port == ($port | tostring) and policy("outbound-connections")'
expect "3. security_socket_connect with the remote address and socket type" \
  '.eventName == "security_socket_connect" and .hostProcessId == $client and child_of_shell
   and arg("remote_addr").sin_addr == "127.0.0.1" and arg("remote_addr").sin_port == ($port | tostring)
   and arg("type") == "SOCK_STREAM" and .returnValue == 0 and policy("network-connections")'
expect "3. net_tcp_connection outbound, attributed to the client" \
  '.eventName == "net_tcp_connection" and .hostProcessId == $client and child_of_shell
   and arg("direction") == "outbound" and arg("dst").sin_port == ($port | tostring)
   and arg("old_state") == "TCP_SYN_SENT" and arg("new_state") == "TCP_ESTABLISHED"'
expect "3. net_tcp_connection inbound, attributed to the listener" \
  '.eventName == "net_tcp_connection" and .hostProcessId == $listener and child_of_shell
   and arg("direction") == "inbound" and arg("src").sin_port == ($port | tostring)
   and arg("old_state") == "TCP_SYN_RECV"'
expect "3. security_socket_listen on 127.0.0.1:PORT by the listener" \
  '.eventName == "security_socket_listen" and .hostProcessId == $listener and child_of_shell
   and arg("local_addr").sin_addr == "127.0.0.1" and arg("local_addr").sin_port == ($port | tostring)'

# 4. ptrace.
expect "4. ptrace(PTRACE_ATTACH, target) by the tracer, child of the shell (kernel-and-injection)" \
  '.eventName == "ptrace" and .hostProcessId == $tracer and child_of_shell
   and arg("request") == "PTRACE_ATTACH" and arg("pid") == $target and .returnValue == 0
   and policy("kernel-and-injection")'

# 5. The memfd.
expect "5. memfd_create(\"attack-memfd\") by the process that then runs it" \
  '.eventName == "memfd_create" and .hostProcessId == $memfd and child_of_shell
   and arg("name") == "attack-memfd" and .returnValue >= 0 and policy("kernel-and-injection")'
expect "5. execve of /proc/self/fd/N by the same process" \
  '.eventName == "execve" and .hostProcessId == $memfd and child_of_shell
   and (arg("pathname") | test("^/proc/self/fd/[0-9]+$")) and arg("argv") == ["memfd-payload"]'
expect "5. sched_process_exec names the memfd it ran" \
  '.eventName == "sched_process_exec" and .hostProcessId == $memfd and child_of_shell
   and arg("pathname") == "/memfd:attack-memfd" and (arg("cmdpath") | startswith("/proc/self/fd/"))'

# 6. Capabilities.
expect "6. capset by the capability-changing tool, child of the shell (privilege-changes)" \
  '.eventName == "capset" and .hostProcessId == $capset and child_of_shell
   and .returnValue == 0 and policy("privilege-changes")'

# The sensor itself never appears.
if jq -e -s --argjson sensor "$(awk '{print $1}' "$SENSOR_READY")" \
  'any(.[]; .hostProcessId == $sensor)' "$EVENTS" >/dev/null; then
  fail "the sensor reported its own process"
else
  pass "nothing from the sensor's own process"
fi

if ((FAILURES > 0)); then
  log "events of the attack:"
  jq -c --argjson shell "$SHELL_PID" 'select(.hostParentProcessId == $shell or .hostProcessId == $shell)
    | [.eventName, .hostProcessId, .processName, [.args[] | .value]]' "$EVENTS" >&2
fi
finish
