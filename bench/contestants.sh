# peers.sh plugin: vigil in three configurations, for bench/run.sh.
#   vigil        -e execve,openat  (per-syscall tracepoints: the default for few syscalls)
#   vigil-raw    the same through the raw_syscalls dispatcher
#   vigil-idle   -e connect: running, but nothing of the workload's is selected
#   vigil-nomatch  -e execve,openat with a scope that matches no process (comm=)
#   vigil-fileopen -e execve,security_file_open: opens with the path resolved in the kernel
#   vigil-pathfilter -e openat with an exact and a prefix pathname filter the workload's
#                  opens never match: the in-kernel path filter's cost (caller string,
#                  inode, resolved path; bpf/vigil.bpf.c "path filters")
# Sourced by ../shared/bench/peers.sh (bash). VIGIL_BIN overrides the binary.

PLUGIN_CONTESTANTS="${PLUGIN_CONTESTANTS:-} vigil vigil-raw vigil-idle vigil-nomatch vigil-fileopen vigil-pathfilter"
VIGIL_BIN=${VIGIL_BIN:-./build/vigil}

vigil_check() { [[ -x $VIGIL_BIN ]] || { echo "$VIGIL_BIN not built (./tools/build.sh)"; return 1; }; }
vigil_spawn() {  # DIR ARGS...
    local dir=$1; shift
    rm -f "$dir/ready"
    spawn "$dir/stdout.log" "$dir/stderr.log" "$VIGIL_BIN" "$@" --ready-file "$dir/ready" \
        --output "json:$dir/events.json" || return 1
    C_OUTS=("$dir/events.json")
}
vigil_lost() {
    grep -hoE 'lost [0-9]+ \(ring buffer full\)' "$1/stderr.log" 2>/dev/null | grep -oE '[0-9]+' |
        awk '{s += $1} END {print s + 0}'
}
vigil_count() {  # DIR [OPEN_EVENT PATH_ARG_INDEX]: "EXECS OPENS" of the workload (openat, args[1])
    jq -n -r --arg ex "$WL_EXEC" --arg op "$WL_OPEN" --arg open "${2:-openat}" --argjson at "${3:-1}" '
        reduce (inputs | select(.eventName == "execve" or .eventName == $open)) as $e ({e: 0, o: 0};
            if $e.eventName == "execve" and $e.args[0].value == $ex then .e += 1
            elif $e.eventName == $open and $e.args[$at].value == $op then .o += 1 else . end)
        | "\(.e) \(.o)"' "$1/events.json" 2>/dev/null || echo "- -"
}

c_vigil_check() { vigil_check; }
c_vigil_start() { vigil_spawn "$1" --events execve,openat; }
c_vigil_count() { vigil_count "$1"; }
c_vigil_lost() { vigil_lost "$1"; }

c_vigil_raw_check() { vigil_check; }
c_vigil_raw_start() { vigil_spawn "$1" --events execve,openat --syscall-hook raw; }
c_vigil_raw_count() { vigil_count "$1"; }
c_vigil_raw_lost() { vigil_lost "$1"; }

c_vigil_idle_check() { vigil_check; }
c_vigil_idle_start() { vigil_spawn "$1" --events connect; }
c_vigil_idle_ready() { [[ -f $1/ready ]]; }
c_vigil_idle_count() { echo "0 0"; }
c_vigil_idle_lost() { vigil_lost "$1"; }

c_vigil_nomatch_check() { vigil_check; }
c_vigil_nomatch_start() { vigil_spawn "$1" --events execve,openat --scope comm=no-such-comm; }
c_vigil_nomatch_ready() { [[ -f $1/ready ]]; }
c_vigil_nomatch_count() { echo "0 0"; }
c_vigil_nomatch_lost() { vigil_lost "$1"; }

c_vigil_pathfilter_check() { vigil_check; }
c_vigil_pathfilter_start() { vigil_spawn "$1" --events 'openat.data.pathname=/etc/shadow,/etc/sudoers.d/*'; }
c_vigil_pathfilter_ready() { [[ -f $1/ready ]]; }
c_vigil_pathfilter_count() { echo "0 0"; }
c_vigil_pathfilter_lost() { vigil_lost "$1"; }

c_vigil_fileopen_check() { vigil_check; }
c_vigil_fileopen_start() { vigil_spawn "$1" --events execve,security_file_open; }
c_vigil_fileopen_count() { vigil_count "$1" security_file_open 0; }
c_vigil_fileopen_lost() { vigil_lost "$1"; }

# vigil-default: no -e/-p, the default policy (policies/default.yaml) with the
# built-in detections and their inputs (security_file_open...) consumed inside.
PLUGIN_CONTESTANTS+=" vigil-default"
c_vigil_default_check() { vigil_check; }
c_vigil_default_start() { vigil_spawn "$1"; }
c_vigil_default_ready() { [[ -f $1/ready ]]; }
c_vigil_default_count() { vigil_count "$1"; }
c_vigil_default_lost() { vigil_lost "$1"; }

# vigil-default-base: the default policy with another build (VIGIL_BASE_BIN,
# e.g. main before a change), beside vigil-default in the same run.
PLUGIN_CONTESTANTS+=" vigil-default-base"
c_vigil_default_base_check() {
    [[ -x ${VIGIL_BASE_BIN:-} ]] || { echo "set VIGIL_BASE_BIN to another vigil binary"; return 1; }
}
c_vigil_default_base_start() { VIGIL_BIN=$VIGIL_BASE_BIN vigil_spawn "$1"; }
c_vigil_default_base_ready() { [[ -f $1/ready ]]; }
c_vigil_default_base_count() { vigil_count "$1"; }
c_vigil_default_base_lost() { vigil_lost "$1"; }

# hooks-floor: empty bpftrace programs on the hooks the default policy needs
# for the open loop (raw_syscalls enter and exit, as its dispatcher; the exit
# of openat, as its security_file_open): what any sensor built on them pays
# before doing anything.
PLUGIN_CONTESTANTS+=" hooks-floor"
c_hooks_floor_check() { command -v bpftrace >/dev/null || { echo "bpftrace not installed"; return 1; }; }
c_hooks_floor_start() {
    spawn "$1/stdout.log" "$1/stderr.log" bpftrace -e \
        'tracepoint:raw_syscalls:sys_enter {} tracepoint:raw_syscalls:sys_exit {} tracepoint:syscalls:sys_exit_openat {}'
}
c_hooks_floor_ready() { grep -q 'Attaching' "$1/stdout.log" 2>/dev/null; }
c_hooks_floor_count() { echo "0 0"; }
c_hooks_floor_lost() { echo 0; }
