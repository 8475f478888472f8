#!/usr/bin/env bash
# Issue 3, test 4: --capabilities (-C) and the CAPABILITIES_* environment, as root.
#
#   caps_options.sh VIGIL MODE
#     drop      -C drop=cap_perfmon: exit 1, the kernel's denial of cap_perfmon and the fix are named
#     drop-bpf  -C drop=cap_bpf: the same for cap_bpf (the fix must not be an unrelated add=)
#     add       -C add=cap_syslog: CapEff = Base ∪ {cap_syslog}; any spelling of the name
#     bypass    -C bypass=true: every set (and NoNewPrivs) exactly as inherited,
#               from a root shell and from a setpriv-made starting point
#     env       CAPABILITIES_ADD / _BYPASS / _DROP, and flags winning over them
#     usage     bad values: exit 2 with a message naming them, before anything loads
source "$(dirname "$0")/caps_lib.sh"

MODE=${2:?mode}
SEL=(-e openat)
PLAN=$(plan_json "${SEL[@]}")
BASE=$(plan_base "$PLAN")
AFTER=$(plan_after_setup "$PLAN")
SYSLOG=$(mask_of cap_syslog)

# snapshot NAME PID -> a copy of the status file (all Cap* lines and NoNewPrivs)
snapshot() {
  grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' "/proc/$2/status" >"$WORK/$1.caps" ||
    die "cannot read /proc/$2/status"
  echo "$WORK/$1.caps"
}

# expect_running_with NAME EFF PRM [NNP] -- PREFIX...: starts the sensor (prefix: env/setpriv)
# and checks CapEff/CapPrm (and NoNewPrivs) of every thread, and that events arrive.
expect_running_with() {
  local name=$1 eff=$2 prm=$3 nnp=$4
  shift 4
  [[ ${1:-} == -- ]] && shift
  start_sensor "$name" "$@" --duration 60s
  local t s
  for t in /proc/"$SENSOR_PID"/task/*; do
    s=$(snapshot "$name-$(basename "$t")" "$SENSOR_PID/task/$(basename "$t")")
    expect_mask "$name, thread $(basename "$t"): CapEff" "$(status_mask "$s" CapEff)" "$eff"
    expect_mask "$name, thread $(basename "$t"): CapPrm" "$(status_mask "$s" CapPrm)" "$prm"
    [[ $(status_field "$s" NoNewPrivs) == "$nnp" ]] && pass "$name: NoNewPrivs = $nnp" ||
      fail "$name: NoNewPrivs is $(status_field "$s" NoNewPrivs), expected $nnp"
  done
  expect_open_event "$WORK/$name-open"
  stop_sensor
}

# expect_bypass NAME PREFIX...: under PREFIX, `-C bypass=true` leaves every set as PREFIX gave it.
expect_bypass() {
  local name=$1
  shift
  local given="$WORK/$name.given"
  "$@" grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/self/status >"$given" ||
    die "cannot read the starting sets under: $*"
  start_sensor "$name" "$@" -- "${SEL[@]}" -C bypass=true --duration 60s
  local t s f
  for t in /proc/"$SENSOR_PID"/task/*; do
    s=$(snapshot "$name-$(basename "$t")" "$SENSOR_PID/task/$(basename "$t")")
    for f in CapEff CapPrm CapBnd CapInh CapAmb; do
      expect_mask "$name, thread $(basename "$t"): $f as inherited" "$(status_mask "$s" $f)" "$(status_mask "$given" $f)"
    done
    [[ $(status_field "$s" NoNewPrivs) == $(status_field "$given" NoNewPrivs) ]] &&
      pass "$name: NoNewPrivs as inherited ($(status_field "$given" NoNewPrivs))" ||
      fail "$name: NoNewPrivs is $(status_field "$s" NoNewPrivs), inherited $(status_field "$given" NoNewPrivs)"
  done
  expect_open_event "$WORK/$name-open"
  stop_sensor
  grep -qi "bypass" "$SENSOR_ERR" || fail "$name: the sensor did not log that it runs with its inherited set: $(cat "$SENSOR_ERR")"
}

# expect_drop_denied CAP [RUNS]: -C drop=CAP makes set-up fail (exit 1) naming
# the kernel's denial of CAP and the fix, which is to stop dropping it. Run RUNS
# times (default 5): the kernel's checks around a failure (e.g. cap_bpf, then its
# cap_sys_admin fallback) must not make the message depend on their order.
expect_drop_denied() {
  local cap=$1 runs=${2:-5} i errors
  for ((i = 1; i <= runs; i++)); do
    run_vigil "drop-$cap-$i" "$VIGIL" "${SEL[@]}" -C "drop=$cap" --duration 5s -o "json:$WORK/drop.json"
    expect_rc "-C drop=$cap (run $i)" 1
    expect_stderr "-C drop=$cap (run $i): the kernel's denial of $cap is named" "checked and denied [^;]*$cap"
    expect_stderr "-C drop=$cap (run $i): the fix is to stop dropping $cap" "fix: remove $cap from --capabilities drop="
    expect_no_stderr "-C drop=$cap (run $i): no fix that adds another capability" "fix: --capabilities add="
    expect_no_stderr "-C drop=$cap (run $i): nothing runs" "running [0-9]+ events"
    # Issue 9, item 17: one message naming the failed operation, no fallback chain.
    expect_stderr "-C drop=$cap (run $i): names the failed load" "error +vigil: load BPF (programs|object)"
    expect_no_stderr "-C drop=$cap (run $i): no fallback tried on the capability's EPERM" "trying the next alternative"
    expect_no_stderr "-C drop=$cap (run $i): no follow-on map error" "is the object loaded"
    errors=$(grep -c " error " "$ERR")
    [[ $errors == 1 ]] && pass "-C drop=$cap (run $i): one error message" ||
      fail "-C drop=$cap (run $i): $errors error messages: $(cat "$ERR")"
  done
}

case "$MODE" in
  drop)
    expect_drop_denied cap_perfmon
    # The plan shows the drop too.
    dropped=$("$VIGIL" caps plan "${SEL[@]}" -C drop=cap_perfmon --format json | jq -r '.dropped | join(",")')
    [[ $dropped == cap_perfmon ]] && pass "caps plan -C drop=cap_perfmon lists it as dropped" ||
      fail "caps plan -C drop=cap_perfmon: dropped is '$dropped'"
    # The environment does the same.
    run_vigil drop-env env CAPABILITIES_DROP=cap_perfmon "$VIGIL" "${SEL[@]}" --duration 5s -o "json:$WORK/drop.json"
    expect_rc "CAPABILITIES_DROP=cap_perfmon" 1
    expect_stderr "CAPABILITIES_DROP=cap_perfmon: the kernel's denial of cap_perfmon is named" "denied cap_perfmon"
    ;;
  drop-bpf)
    expect_drop_denied cap_bpf
    ;;
  add)
    for spelling in cap_syslog CAP_SYSLOG syslog Syslog; do
      base=$(plan_base "$(plan_json "${SEL[@]}" -C "add=$spelling")")
      expect_mask "caps plan -C add=$spelling: base ring" "$base" $((BASE | SYSLOG))
    done
    jq -e '.rings.base[] | select(.cap == "cap_syslog") | .needed_by | any(test("add"))' \
      <<<"$(plan_json "${SEL[@]}" -C add=cap_syslog)" >/dev/null &&
      pass "caps plan says cap_syslog is in Base because of add=" ||
      fail "caps plan -C add=cap_syslog does not attribute cap_syslog to add="
    expect_running_with add-syslog $((BASE | SYSLOG)) $((AFTER | SYSLOG)) 1 -- -- "${SEL[@]}" -C add=cap_syslog
    ;;
  bypass)
    expect_bypass bypass-root
    # A starting point with something in every set, and no_new_privs already on.
    expect_bypass bypass-setpriv setpriv --bounding-set=-all,+bpf,+perfmon,+syslog,+net_raw \
      --inh-caps=-all,+syslog,+net_raw --ambient-caps=+syslog --no-new-privs
    ;;
  env)
    # CAPABILITIES_ADD = -C add=
    expect_running_with env-add $((BASE | SYSLOG)) $((AFTER | SYSLOG)) 1 -- env CAPABILITIES_ADD=cap_syslog -- "${SEL[@]}"
    # a flag wins over the variable for the same key
    NET_RAW=$(mask_of cap_net_raw)
    expect_running_with env-add-flag-wins $((BASE | NET_RAW)) $((AFTER | NET_RAW)) 1 -- \
      env CAPABILITIES_ADD=cap_syslog -- "${SEL[@]}" -C add=cap_net_raw
    # CAPABILITIES_BYPASS=1 alone leaves everything as inherited ...
    root_given="$WORK/root.given"
    grep -E '^Cap(Eff|Prm)' /proc/self/status >"$root_given"
    expect_running_with env-bypass "$(status_mask "$root_given" CapEff)" "$(status_mask "$root_given" CapPrm)" \
      "$(awk '$1=="NoNewPrivs:"{print $2}' /proc/self/status)" -- env CAPABILITIES_BYPASS=1 -- "${SEL[@]}"
    # ... but -C bypass=false wins over it: the sets are reduced.
    expect_running_with env-bypass-flag-wins "$BASE" "$AFTER" 1 -- env CAPABILITIES_BYPASS=1 -- "${SEL[@]}" -C bypass=false
    ;;
  usage)
    # usage_error WHAT EXPECTED_IN_MESSAGE PREFIX/ARGS...
    usage_error() {
      local what=$1 needle=$2
      shift 2
      local cmd
      for cmd in run plan audit; do
        local args=("${SEL[@]}" --duration 5s -o "json:$WORK/usage.json")
        case $cmd in
          plan) args=(caps plan "${SEL[@]}") ;;
          audit) args=(caps audit "${SEL[@]}" --duration 1s) ;;
        esac
        local pre=() post=()
        while (($#)); do
          if [[ $1 == -C ]]; then post+=("$1" "$2"); shift 2; else pre+=("$1"); shift; fi
        done
        set -- "${pre[@]}" "${post[@]}"  # keep for the next command
        run_vigil "usage-$cmd" "${pre[@]}" "$VIGIL" "${args[@]}" "${post[@]}"
        expect_rc "$cmd: $what" 2 || continue
        expect_stderr "$cmd: $what: the message names '$needle'" "$needle"
        expect_no_stderr "$cmd: $what: nothing ran" "running [0-9]+ events"
      done
    }
    usage_error "-C add=cap_nope" cap_nope -C add=cap_nope
    usage_error "-C bypass=maybe" maybe -C bypass=maybe
    usage_error "-C add=cap_syslog -C drop=syslog" cap_syslog -C add=cap_syslog -C drop=syslog
    usage_error "-C frob=1" frob -C frob=1
    usage_error "-C add=CAP_SYSLOG,nope2" nope2 -C add=CAP_SYSLOG,nope2
    usage_error "CAPABILITIES_ADD=cap_nope" cap_nope env CAPABILITIES_ADD=cap_nope
    usage_error "CAPABILITIES_BYPASS=maybe" maybe env CAPABILITIES_BYPASS=maybe
    usage_error "CAPABILITIES_ADD=syslog with -C drop=cap_syslog" cap_syslog env CAPABILITIES_ADD=syslog -C drop=cap_syslog
    ;;
  *) die "unknown mode $MODE" ;;
esac
finish
