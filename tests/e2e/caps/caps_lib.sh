# Helpers of the capability e2e tests (sourced, not run), on top of ../lib.sh.
#
# Every test script is called as `script VIGIL_BINARY` by CTest (the binary is
# $<TARGET_FILE:vigil>), runs as root, loads BPF, and exits 0 (pass), 1 (fail)
# or 77 (skipped, with the reason on stderr). The helpers never assume that
# tracefs or bpffs are mounted.

# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
SCRIPT_ARGS=("$@")
# A scratch directory that any uid may use (the sensor may run as nobody).
chmod 0777 "$WORK"

[[ $(id -u) == 0 ]] || die "these tests run as root (they load BPF and change uids)"
require_commands jq capsh setpriv unshare

# ---------------------------------------------------------------- capability numbers
# name -> number, learnt from libcap (capsh --decode) rather than a table of our own.
declare -A CAP_NUM=()
CAP_LAST=$(cat /proc/sys/kernel/cap_last_cap)
for ((n = 0; n <= CAP_LAST; n++)); do
  decoded=$(capsh --decode="$(printf '%x' $((1 << n)))")
  name=${decoded#*=}
  CAP_NUM[$name]=$n
done
unset decoded name n

# Normalises "CAP_SYSLOG", "syslog", "cap_syslog" to "cap_syslog".
cap_norm() {
  local c=${1,,}
  [[ $c == cap_* ]] || c="cap_$c"
  echo "$c"
}

# mask_of NAME... -> decimal mask (names in any accepted spelling)
mask_of() {
  local m=0 c n
  for c in "$@"; do
    [[ -z "$c" ]] && continue
    c=$(cap_norm "$c")
    n=${CAP_NUM[$c]:-}
    [[ -n "$n" ]] || die "unknown capability name '$c' (not known to capsh on this kernel)"
    m=$((m | (1 << n)))
  done
  echo "$m"
}

# names_of DECIMAL_MASK -> "cap_a,cap_b" (or "none"), for messages.
names_of() {
  local m=$1
  if ((m == 0)); then echo none; return; fi
  capsh --decode="$(printf '%x' "$m")" | sed 's/^0x[0-9a-f]*=//'
}

# status_mask FILE FIELD -> decimal value of a hex Cap* line of a status file.
status_mask() {
  local v
  v=$(awk -v f="$2:" '$1 == f { print $2 }' "$1")
  [[ -n "$v" ]] || { echo "missing"; return; }
  echo $((16#$v))
}

status_field() { awk -v f="$2:" '$1 == f { print $2 }' "$1"; }

# expect_mask WHAT ACTUAL EXPECTED: compares two decimal masks, names both on failure.
expect_mask() {
  local what=$1 actual=$2 expected=$3
  if [[ "$actual" == "missing" ]]; then
    fail "$what: field missing"
  elif ((actual != expected)); then
    fail "$what is $(names_of "$actual") (0x$(printf '%x' "$actual")), expected $(names_of "$expected") (0x$(printf '%x' "$expected"))"
  else
    pass "$what = $(names_of "$actual")"
  fi
}

# ---------------------------------------------------------------- the plan
# plan_json ARGS... -> `vigil caps plan ARGS --format json`, validated.
plan_json() {
  local out
  out=$("$VIGIL" caps plan "$@" --format json) || die "vigil caps plan $* --format json failed"
  jq -e '.rings.base and .rings.ebpf and .rings.specific and .minimal_grant and .after_setup' \
    >/dev/null <<<"$out" || die "vigil caps plan $* --format json: unexpected shape: $out"
  echo "$out"
}

# plan_mask PLAN_JSON JQ_PATH_TO_NAME_ARRAY -> decimal mask
plan_mask() {
  local names
  names=$(jq -r "$2 | .[]" <<<"$1") || die "jq $2 failed on plan"
  # shellcheck disable=SC2086
  mask_of $names
}
plan_base() { plan_mask "$1" '[.rings.base[].cap]'; }
plan_ebpf() { plan_mask "$1" '[.rings.ebpf[].cap]'; }
plan_specific() { plan_mask "$1" '[.rings.specific[].cap]'; }
plan_grant() { plan_mask "$1" '.minimal_grant'; }
plan_after_setup() { plan_mask "$1" '.after_setup'; }

# ---------------------------------------------------------------- running the sensor
# start_sensor / stop_sensor: ../lib.sh (events in $SENSOR_OUT).

# expect_open_event PATH_PREFIX [TRIGGER_CMD...]: opens a unique path (from
# this test, or with TRIGGER_CMD as a prefix, e.g. a setpriv line) until the
# running sensor's JSON output holds the openat event for it (10s at most).
expect_open_event() {
  local target="$1-$$-$RANDOM-$(date +%s%N)"
  shift
  local i line=""
  for ((i = 0; i < 20; i++)); do
    "$@" cat "$target" >/dev/null 2>&1
    sleep 0.5
    line=$(grep -F -- "$target" "$SENSOR_OUT" 2>/dev/null |
      jq -c --arg p "$target" \
        'select(.eventName == "openat" and any(.args[]; .name == "pathname" and .value == $p))' |
      head -n 1)
    [[ -n "$line" ]] && break
  done
  if [[ -z "$line" ]]; then
    fail "no openat event for an open of $target within 10s; events naming it: $(grep -cF -- "$target" "$SENSOR_OUT" 2>/dev/null)"
    return 1
  fi
  OPEN_EVENT=$line
  pass "openat event seen for $target"
}

# The setpriv spelling of a list of names: "cap_bpf cap_perfmon" -> "+bpf,+perfmon".
setpriv_list() {
  local out="" c
  for c in "$@"; do
    c=$(cap_norm "$c")
    out+="${out:+,}+${c#cap_}"
  done
  echo "$out"
}

# In a private mount namespace: unmount tracefs and bpffs so the sensor finds
# neither (re-runs this script under unshare on first call).
reexec_without_tracefs() {
  if [[ "${CAPS_TEST_IN_NS:-}" != 1 ]]; then
    rm -rf "$WORK"  # exec skips the EXIT trap; the re-run makes its own
    CAPS_TEST_IN_NS=1 exec unshare --mount --propagation private "$0" "${SCRIPT_ARGS[@]}"
  fi
  local mp i
  for mp in /sys/kernel/tracing /sys/kernel/debug/tracing /sys/fs/bpf; do
    for ((i = 0; i < 5; i++)); do
      awk -v m="$mp" '$5 == m' /proc/self/mountinfo | grep -q . || break
      umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || break
    done
  done
  if awk '$5 == "/sys/kernel/tracing" || $5 == "/sys/fs/bpf"' /proc/self/mountinfo | grep -q .; then
    die "could not unmount tracefs/bpffs in a private mount namespace"
  fi
  log "in a private mount namespace without tracefs and bpffs"
}
