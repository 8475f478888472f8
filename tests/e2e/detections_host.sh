#!/usr/bin/env bash
# The host rules (rules/builtin/20-host.yaml) on real behaviour: one sensor
# with -e tag=signatures; each case acts through names of its own (see
# detections/common.sh) and is checked for the detection's process, parent,
# metadata and triggering event. Renamed tools are symlinks with another
# name: the comm changes, the executable the kernel resolves does not.
#
#   detections_host.sh VIGIL
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root
# shellcheck source=detections/common.sh
source "$(dirname "$0")/detections/common.sh"
require_commands nc modprobe shred
NUM=$(printf '%05d' $$)
LOG=/var/log/vigil-e2e-$NUM.log
SHM=/dev/shm/vigil-e2e-$NUM
trap 'rm -f "$LOG" "$SHM"; cleanup' EXIT
SELF=$(cat /proc/$$/comm)
r() { readlink -f "$(type -P "$1")"; }
CAT=$(r cat) BASH_EXE=$(r bash) SED=$(r sed) TRUE=$(r true) GREP=$(r grep) SHRED=$(r shred)
LN=$(r ln) RM=$(r rm) CHMOD=$(r chmod) CHAGE=$(r chage) NC=$(r nc) MODPROBE=$(r modprobe)
H=$WORK/home
mkdir -p "$H/.ssh"

start_sensor main -e tag=signatures -o "json:$EVENTS"

drive p_shadow "$(as t_shadow "$CAT") /etc/shadow >/dev/null"
drive p_keys "$(as t_keys "$GREP") -r 'BEGIN OPENSSH PRIVATE' $H/.ssh/"
drive p_log ": > $LOG"
echo data >"$WORK/junk"
drive p_shred "$(as wipe "$SHRED") -u $WORK/junk"
drive p_link "$(as t_link "$LN") -s /etc/shadow $WORK/shadow-link"
drive p_poke "$(as t_poke "$ACT") poke"
cp "$TRUE" "$SHM" && chmod 0755 "$SHM"
drive p_shm "$SHM"
drive p_rc "cd $H && echo 'alias ls=rm' >> .bashrc"
drive p_keyrd "echo ssh-ed25519 AAAA e2e > $H/.ssh/authorized_keys"
drive p_keysed "$(as t_keysed "$SED") -i -e 's/e2e/e2e2/' $H/.ssh/authorized_keys"
echo ls >"$H/.bash_history"
drive p_histtr ": > $H/.bash_history"
drive p_histrm "$(as t_histrm "$RM") -f $H/.bash_history"
echo x >"$WORK/suid"
drive p_suid "$(as t_suid "$CHMOD") u+s $WORK/suid"
drive p_users "$(as t_users "$CHAGE") -l root >/dev/null"
drive p_nc "$(as t_nc "$NC") -z 127.0.0.1 1"
drive p_bpf "$(as t_bpf "$ACT") bpf"
# kmod picks its command by argv[0]: modprobe cannot be renamed, so by its name.
drive p_mod "$(as modprobe "$MODPROBE") vigil-e2e-no-such-module"
drive p_tun "GLIBC_TUNABLES=glibc.malloc.check=0 $(as t_tun "$TRUE")"
drive p_scan "$(as t_scan "$ACT") connect 127.0.0.1 $(seq -s ' ' 47000 47024)"
# Near misses: the same tools doing nothing suspicious.
drive p_grep_ok "$(as t_grep_ok "$GREP") -r hello $H/"
drive p_chmod_ok "$(as t_chmod_ok "$CHMOD") 0755 $WORK/suid"
drive p_mod_ok "$BIN/modprobe -n vigil-e2e-no-such-module"
drive p_conn_ok "$(as t_conn_ok "$ACT") connect 127.0.0.1 $(seq -s ' ' 47000 47005)"

sleep 1
stop_sensor INT

expect read_sensitive_file_untrusted t_shadow "$CAT" p_shadow VGL-6050 2 security_file_open
expect search_private_keys_or_passwords t_keys "$GREP" p_keys VGL-6051 2 sched_process_exec
expect clear_log_activities p_log "$BASH_EXE" "$SELF" VGL-6052 2 security_file_open
expect remove_bulk_data_from_disk wipe "$SHRED" p_shred VGL-6053 2 sched_process_exec
expect link_over_sensitive_file t_link "$LN" p_link VGL-6054 2 symlinkat
expect ptrace_attached t_poke "$ACT" p_poke VGL-6055 2 ptrace
expect execution_from_dev_shm "vigil-e2e-$NUM" "$SHM" p_shm VGL-6056 3 sched_process_exec
expect modify_shell_configuration_file p_rc "$BASH_EXE" "$SELF" VGL-6057 2 security_file_open
expect authorized_keys_modified p_keyrd "$BASH_EXE" "$SELF" VGL-6058 2 security_file_open
expect authorized_keys_modified t_keysed "$SED" p_keysed VGL-6058 2 security_inode_rename
expect shell_history_deleted p_histtr "$BASH_EXE" "$SELF" VGL-6059 2 security_file_open
expect shell_history_deleted t_histrm "$RM" p_histrm VGL-6059 2 security_inode_unlink
expect setuid_setgid_bit_set t_suid "$CHMOD" p_suid VGL-6060 2 fchmodat
expect user_mgmt_binaries t_users "$CHAGE" p_users VGL-6061 1 sched_process_exec
expect suspicious_network_tool t_nc "$NC" p_nc VGL-6062 1 sched_process_exec
expect bpf_program_unexpected t_bpf "$ACT" p_bpf VGL-6063 1 bpf_prog_load
expect kernel_module_load_attempt modprobe "$MODPROBE" p_mod VGL-6064 2 sched_process_exec
expect glibc_tunables_env t_tun "$TRUE" p_tun VGL-6065 3 sched_process_exec
expect port_scan t_scan "$ACT" p_scan VGL-6066 2 security_socket_connect
expect_none search_private_keys_or_passwords t_grep_ok
expect_none setuid_setgid_bit_set t_chmod_ok
check "kernel_module_load_attempt: nothing for modprobe -n" "all(.[]; (.eventName == \"kernel_module_load_attempt\" and .parentProcessName == \"p_mod_ok\") | not)"
expect_none port_scan t_conn_ok
finish
