#!/usr/bin/env bash
# Issue 3, test 1: after start-up, every thread of the sensor rests in the Base
# ring: CapEff = Base, CapPrm = the plan's "after set-up" set, CapBnd, CapInh
# and CapAmb empty, NoNewPrivs 1. The rings come from `vigil caps plan --format
# json` for the same selection, never from constants.
#
#   caps_thread_sets.sh VIGIL [plain|inherited|no-tracefs]
#     plain       root, as started from a shell
#     inherited   root with non-empty inheritable and ambient sets (setpriv),
#                 which the sensor must clear
#     no-tracefs  root in a private mount namespace without tracefs and bpffs:
#                 the Specific ring (mounting tracefs) is used during set-up and
#                 must be gone from permitted afterwards
source "$(dirname "$0")/caps_lib.sh"

MODE=${2:-plain}
SELECTION=(-e openat,execve)
PREFIX=()
case "$MODE" in
  plain) ;;
  inherited)
    PREFIX=(setpriv --inh-caps=+syslog,+net_admin,+sys_ptrace --ambient-caps=+syslog,+net_admin,+sys_ptrace)
    # The starting point must really hold them, or the test proves nothing.
    start=$("${PREFIX[@]}" cat /proc/self/status)
    [[ $(awk '$1=="CapAmb:"{print $2}' <<<"$start") != 0000000000000000 ]] ||
      die "setpriv did not give an ambient set to start from"
    ;;
  no-tracefs) reexec_without_tracefs ;;
  *) die "unknown mode $MODE" ;;
esac

PLAN=$(plan_json "${SELECTION[@]}")
BASE=$(plan_base "$PLAN")
EBPF=$(plan_ebpf "$PLAN")
SPECIFIC=$(plan_specific "$PLAN")
AFTER=$(plan_after_setup "$PLAN")
log "plan: base=$(names_of "$BASE") ebpf=$(names_of "$EBPF") specific=$(names_of "$SPECIFIC") after-setup=$(names_of "$AFTER")"
((EBPF != 0)) || die "the plan's ebpf ring is empty; loading BPF needs privilege on every kernel"
if [[ $MODE == no-tracefs ]]; then
  ((SPECIFIC != 0)) || fail "without tracefs the plan should name a Specific ring capability to mount it"
fi

start_sensor "$MODE" "${PREFIX[@]}" -- "${SELECTION[@]}" --duration 60s --log-level debug

check_threads() {
  local when=$1 tasks=0 t s
  for t in /proc/"$SENSOR_PID"/task/*; do
    s="$WORK/status.$(basename "$t")"
    cat "$t/status" >"$s" 2>/dev/null || continue  # a thread may have ended since the listing
    tasks=$((tasks + 1))
    local id="$when, thread $(basename "$t") ($(status_field "$s" Name))"
    expect_mask "$id: CapEff" "$(status_mask "$s" CapEff)" "$BASE"
    expect_mask "$id: CapPrm" "$(status_mask "$s" CapPrm)" "$AFTER"
    expect_mask "$id: CapBnd" "$(status_mask "$s" CapBnd)" 0
    expect_mask "$id: CapInh" "$(status_mask "$s" CapInh)" 0
    expect_mask "$id: CapAmb" "$(status_mask "$s" CapAmb)" 0
    if [[ $(status_field "$s" NoNewPrivs) == 1 ]]; then
      pass "$id: NoNewPrivs = 1"
    else
      fail "$id: NoNewPrivs is '$(status_field "$s" NoNewPrivs)', expected 1"
    fi
  done
  ((tasks > 0)) || fail "$when: no thread of pid $SENSOR_PID could be read"
}

check_threads "right after ready"
# Not vacuous: the sensor is running its selection, and still at Base after work.
expect_open_event "$WORK/thread-sets-open"
check_threads "after an event"

if [[ $MODE == no-tracefs ]]; then
  grep -q "mounted tracefs" "$SENSOR_ERR" || fail "the sensor did not report mounting tracefs; stderr:
$(cat "$SENSOR_ERR")"
fi
stop_sensor
finish
