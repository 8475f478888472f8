#!/usr/bin/env bash
# Tracee's detections on real behaviour (issue 10): one sensor with
# -e tag=signatures, every behaviour done for real on this machine (host or
# a fake docker cgroup for the container-scoped ones), each checked for the
# detection's process, parent, metadata and triggering event.
#
#   detections_tracee.sh VIGIL
#
# kernel_module_loading, syscall_hooking and proc_fops_hooking cannot fire on
# this kernel; detections_rules.sh checks how they are cancelled.
# system_request_key_mod cannot either: this kernel is built without
# CONFIG_MAGIC_SYSRQ (no /proc/sys/kernel/sysrq, no /proc/sysrq-trigger) and
# the rule names the two paths exactly.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root
# shellcheck source=detections/common.sh
source "$(dirname "$0")/detections/common.sh"
make_container
CREATED=()  # files made outside $WORK, removed at exit
at_exit() {
  local f
  for f in "${CREATED[@]}"; do rm -rf "$f"; done
  remove_container
  cleanup
}
trap at_exit EXIT

CAT=$(readlink -f /usr/bin/cat)
BASH_EXE=$(readlink -f /usr/bin/bash)
SED=$(readlink -f /usr/bin/sed)
PY=$(readlink -f "$(python3 -c 'import sys; print(sys.executable)')")
SELF=$(cat /proc/$$/comm)  # the drivers' parent
DD=$(readlink -f /usr/bin/dd)
TRUE=$(readlink -f /usr/bin/true)
NUM=$(printf '%05d' $$)

start_sensor main -e tag=signatures -o "json:$EVENTS"

# ---- host
drive p_antidbg "$(as t_antidbg "$ACT") traceme"
drive p_aslr "$(as t_aslr "$CAT") /proc/sys/kernel/randomize_va_space >/dev/null"
drive p_memrd "$(as t_memrd "$CAT") /proc/self/mem >/dev/null"
drive p_memwr "$(as t_memwr "$ACT") memwrite"
drive p_vmwr "$(as t_vmwr "$ACT") vmwrite"
drive p_poke "$(as t_poke "$ACT") poke"
drive p_mprot "$(as t_mprot "$ACT") mprotect"
drive p_memfd "$(as t_memfd "$ACT") memfd $TRUE"
# A hidden ELF written through a shell redirect (dd writes; GNU cat copies in
# the kernel with copy_file_range, which is no write).
drive p_hidden "$(as t_hidden "$DD") if=$TRUE status=none > $WORK/.hidden-$NUM"
# LD_PRELOAD in the environment, and ld.so.preload opened for writing by a
# relative path (fd.name is the path the kernel resolved).
drive p_ldenv "LD_PRELOAD=/nonexistent-$NUM.so $(as t_ldenv "$TRUE")"
mkdir -p "$WORK/root/etc"
drive p_ldfile "cd $WORK/root && echo >> etc/ld.so.preload"
# The default loader: a new ld*.so under /lib (a symlink to /usr/lib) created and removed.
loader=/lib/x86_64-linux-gnu/ld-vigil-e2e-$NUM.so.2
CREATED+=("$loader")
drive p_loader "echo > $loader; rm -f $loader"
# rc.d, cron and sudoers: new files in the real directories (removed at exit),
# written by a redirect and replaced the way sed -i does (write a temporary
# file in the same directory, rename it over the target).
mkdir -p /etc/init.d /etc/cron.d
[[ -d /etc/sudoers.d ]] || CREATED+=(/etc/sudoers.d)
mkdir -p /etc/sudoers.d
rcd=/etc/init.d/vigil-e2e-$NUM cron=/etc/cron.d/vigil-e2e-$NUM sudo=/etc/sudoers.d/vigil-e2e-$NUM
CREATED+=("$rcd" "$cron" "$sudo")
drive p_rcd "echo '# vigil e2e' > $rcd"
drive p_cron "echo '# vigil e2e' > $cron"
drive p_cronsed "$(as t_cronsed "$SED") -i -e 's/e2e/e2e test/' $cron"
drive p_sudo "echo '# vigil e2e' > $sudo"
drive p_sudosed "$(as t_sudosed "$SED") -i -e 's/e2e/e2e test/' $sudo"
# A web server's shell.
drive p_web "$(as nginx "$BASH_EXE") -c '/bin/sh -c \"true\"; true'"
# Kubernetes' TLS keys read by an unexpected program.
pki=/etc/kubernetes/pki
[[ -d /etc/kubernetes ]] || CREATED+=(/etc/kubernetes)
mkdir -p $pki && echo key >"$pki/vigil-e2e-$NUM.key"
CREATED+=("$pki/vigil-e2e-$NUM.key")
drive p_k8scert "$(as t_k8scert "$CAT") $pki/vigil-e2e-$NUM.key >/dev/null"
# stdio onto a connected socket (a listener on loopback, for the connect to succeed).
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(8); print(s.getsockname()[1], flush=True); time.sleep(20)' >"$WORK/port" &
BACKGROUND+=($!)
for _ in $(seq 50); do [[ -s $WORK/port ]] && break; sleep 0.05; done
drive p_stdio "$(as t_stdio "$ACT") stdio 127.0.0.1 $(cat "$WORK/port")"

# ---- in the container
ci=$WORK/c
mkdir -p "$ci/proc/sys/kernel" "$ci/secrets/kubernetes.io/serviceaccount" "$ci/mnt"
echo tok >"$ci/secrets/kubernetes.io/serviceaccount/token"
in_container c_notify "echo 1 > $ci/notify_on_release"
in_container c_agent "echo /x > $ci/release_agent"
in_container c_core "echo core > $ci/proc/sys/kernel/core_pattern"
# This kernel has no /proc/kcore: the rule matches the path by its end.
mkdir -p "$ci/proc" && echo > "$ci/proc/kcore"
in_container c_kcore "$(as t_kcore "$CAT") $ci/proc/kcore >/dev/null"
in_container c_token "$(as t_token "$CAT") $ci/secrets/kubernetes.io/serviceaccount/token >/dev/null"
in_container c_drop "$(as t_drop "$DD") if=$TRUE status=none > $ci/dropped"
# tmpfs ignores its device name: a harmless mount "of /dev/...".
in_container c_mount "$(as t_mount "$(readlink -f /usr/bin/mount)") -t tmpfs /dev/vigil-e2e $ci/mnt && umount $ci/mnt"
python3 -c 'import socket,time; s=socket.socket(socket.AF_UNIX); s.bind("'"$ci"'/docker.sock"); s.listen(8); time.sleep(20)' &
BACKGROUND+=($!)
for _ in $(seq 50); do [[ -S $ci/docker.sock ]] && break; sleep 0.05; done
in_container c_docker "$(as t_docker "$ACT") unix $ci/docker.sock"

sleep 1
stop_sensor INT

expect anti_debugging t_antidbg "$ACT" p_antidbg TRC-102 1 ptrace
expect aslr_inspection t_aslr "$CAT" p_aslr TRC-109 0 security_file_open
expect proc_mem_access t_memrd "$CAT" p_memrd TRC-1023 3 security_file_open
expect proc_mem_code_injection t_memwr "$ACT" p_memwr TRC-1024 3 security_file_open
expect process_vm_write_inject t_vmwr "$ACT" p_vmwr TRC-1025 3 process_vm_writev
expect ptrace_code_injection t_poke "$ACT" p_poke TRC-103 3 ptrace
expect dynamic_code_loading t_mprot "$ACT" p_mprot TRC-104 2 mem_prot_alert
expect fileless_execution memfd:vigil-e2e /memfd:vigil-e2e p_memfd TRC-105 3 sched_process_exec
expect hidden_file_created t_hidden "$DD" p_hidden TRC-1015 2 magic_write
expect ld_preload t_ldenv "$TRUE" p_ldenv TRC-107 2 sched_process_exec
expect ld_preload p_ldfile "$BASH_EXE" $SELF TRC-107 2 security_file_open
expect default_loader_mod p_loader "$BASH_EXE" $SELF TRC-1012 3 security_file_open
expect rcd_modification p_rcd "$BASH_EXE" $SELF TRC-1026 2 security_file_open
expect scheduled_task_mod p_cron "$BASH_EXE" $SELF TRC-1027 2 security_file_open
expect scheduled_task_mod t_cronsed "$SED" p_cronsed TRC-1027 2 security_inode_rename
expect sudoers_modification p_sudo "$BASH_EXE" $SELF TRC-1028 2 security_file_open
expect sudoers_modification t_sudosed "$SED" p_sudosed TRC-1028 2 security_inode_rename
expect illegitimate_shell sh "$(readlink -f /bin/sh)" nginx TRC-1016 2 sched_process_exec
expect k8s_cert_theft t_k8scert "$CAT" p_k8scert TRC-1018 3 security_file_open
expect stdio_over_socket t_stdio "$ACT" p_stdio TRC-101 3 dup2

expect cgroup_notify_on_release c_notify "$BASH_EXE" $SELF TRC-106 3 security_file_open container
expect cgroup_release_agent c_agent "$BASH_EXE" $SELF TRC-1010 3 security_file_open container
expect core_pattern_modification c_core "$BASH_EXE" $SELF TRC-1011 3 security_file_open container
expect proc_kcore_read t_kcore "$CAT" c_kcore TRC-1021 2 security_file_open container
expect k8s_service_account_token t_token "$CAT" c_token TRC-108 0 security_file_open container
expect dropped_executable t_drop "$DD" c_drop TRC-1022 2 magic_write container
expect disk_mount t_mount "$(readlink -f /usr/bin/mount)" c_mount TRC-1014 3 mount container
expect docker_abuse t_docker "$ACT" c_docker TRC-1019 2 security_socket_connect container

# Near misses of the container-scoped rules: the same acts on the host.
drive h_notify "echo 1 > $WORK/notify_on_release"
expect_none cgroup_notify_on_release h_notify
finish
