#!/usr/bin/env bash
# Issue 3, acceptance: `vigil caps plan -e openat --format systemd` prints a
# fragment that, used as-is for a non-root user (CapabilityBoundingSet= +
# AmbientCapabilities=, NoNewPrivileges=), runs the selection: the sensor runs
# as uid 65534 with exactly those capabilities (setpriv) and reports an open
# made by this test. The docker, k8s and json forms list the same capabilities.
#
#   caps_plan_acceptance.sh VIGIL [EVENTS] [no-tracefs]
#     no-tracefs: in a private mount namespace without tracefs and bpffs
source "$(dirname "$0")/caps_lib.sh"

EVENTS=${2:-openat}
[[ ${3:-} == no-tracefs ]] && reexec_without_tracefs
NOBODY=65534

# --- the systemd fragment
SYSTEMD=$("$VIGIL" caps plan -e "$EVENTS" --format systemd) || die "caps plan --format systemd failed"
log "systemd fragment:
$SYSTEMD"
# systemd_list KEY -> the lowercase cap_ names of the (last) KEY= line
systemd_list() {
  local line
  line=$(grep -E "^$1=" <<<"$SYSTEMD" | tail -n 1)
  [[ -n "$line" ]] || die "the systemd fragment has no $1= line"
  local c
  for c in ${line#*=}; do
    [[ $c =~ ^CAP_[A-Z_]+$ ]] || die "$1= holds '$c', which is not a CAP_ name"
    cap_norm "$c"
  done | sort -u
}
BOUNDING=$(systemd_list CapabilityBoundingSet)
AMBIENT=$(systemd_list AmbientCapabilities)
[[ -n "$BOUNDING" ]] || die "CapabilityBoundingSet= is empty"
[[ "$BOUNDING" == "$AMBIENT" ]] || fail "CapabilityBoundingSet= ($(echo $BOUNDING)) and AmbientCapabilities= ($(echo $AMBIENT)) differ"
NNP=0
grep -qE '^NoNewPrivileges=(yes|true|1)$' <<<"$SYSTEMD" && NNP=1

# --- the other formats name the same capabilities
JSON_GRANT=$("$VIGIL" caps plan -e "$EVENTS" --format json | jq -r '.minimal_grant[]' | sort -u)
[[ "$JSON_GRANT" == "$BOUNDING" ]] && pass "json minimal_grant = systemd grant" ||
  fail "json minimal_grant ($(echo $JSON_GRANT)) differs from the systemd grant ($(echo $BOUNDING))"
DOCKER=$("$VIGIL" caps plan -e "$EVENTS" --format docker) || die "caps plan --format docker failed"
grep -qE -- '--cap-drop=ALL' <<<"$DOCKER" || fail "docker flags do not start from --cap-drop=ALL: $DOCKER"
DOCKER_CAPS=$(grep -oE -- '--cap-add=[A-Za-z_]+' <<<"$DOCKER" | sed 's/^--cap-add=//' | while read -r c; do cap_norm "$c"; done | sort -u)
[[ "$DOCKER_CAPS" == "$BOUNDING" ]] && pass "docker --cap-add list = systemd grant" ||
  fail "docker --cap-add list ($(echo $DOCKER_CAPS)) differs from the systemd grant ($(echo $BOUNDING)): $DOCKER"
K8S=$("$VIGIL" caps plan -e "$EVENTS" --format k8s) || die "caps plan --format k8s failed"
K8S_CAPS=$(awk '/^ *add:/ {on=1; next} on && /^ *- / {print $2; next} on {on=0}' <<<"$K8S" | tr -d '"' |
  while read -r c; do cap_norm "$c"; done | sort -u)
[[ "$K8S_CAPS" == "$BOUNDING" ]] && pass "k8s capabilities.add = systemd grant" ||
  fail "k8s capabilities.add ($(echo $K8S_CAPS)) differs from the systemd grant ($(echo $BOUNDING)):
$K8S"
grep -qE '^ *- *"?ALL"?$' <<<"$K8S" || fail "k8s securityContext does not drop ALL:
$K8S"

# --- run it as nobody with exactly that grant
# shellcheck disable=SC2086
LIST=$(setpriv_list $BOUNDING)
AS_NOBODY=(setpriv "--reuid=$NOBODY" "--regid=$NOBODY" --clear-groups
  "--bounding-set=-all,$LIST" "--inh-caps=-all,$LIST" "--ambient-caps=-all,$LIST")
((NNP)) && AS_NOBODY+=(--no-new-privs)
log "running: ${AS_NOBODY[*]} vigil -e $EVENTS"
start_sensor nobody "${AS_NOBODY[@]}" -- -e "$EVENTS" --duration 60s --log-level debug
s="$WORK/nobody.status"
cat "/proc/$SENSOR_PID/status" >"$s"
[[ $(awk '$1=="Uid:"{print $2 $3 $4 $5}' "$s") == "$NOBODY$NOBODY$NOBODY$NOBODY" ]] &&
  pass "the sensor runs as uid $NOBODY" || fail "the sensor does not run as uid $NOBODY: $(grep Uid: "$s")"
PLAN=$(plan_json -e "$EVENTS")
expect_mask "as nobody: CapEff" "$(status_mask "$s" CapEff)" "$(plan_base "$PLAN")"
expect_mask "as nobody: CapAmb" "$(status_mask "$s" CapAmb)" 0
expect_mask "as nobody: CapInh" "$(status_mask "$s" CapInh)" 0
# shellcheck disable=SC2086
if (($(status_mask "$s" CapPrm) & ~$(mask_of $BOUNDING))); then
  fail "as nobody: CapPrm $(names_of "$(status_mask "$s" CapPrm)") exceeds the grant"
fi
[[ $(stat -c %u "$SENSOR_OUT") == "$NOBODY" ]] || fail "the event file is not owned by uid $NOBODY"
expect_open_event "$WORK/acceptance-root-open"
expect_open_event "$WORK/acceptance-nobody-open" setpriv "--reuid=$NOBODY" "--regid=$NOBODY" --clear-groups
stop_sensor
if grep -q "cancelled" "$SENSOR_ERR"; then
  fail "with the plan's own grant an event was cancelled: $(grep cancelled "$SENSOR_ERR")"
fi
finish
