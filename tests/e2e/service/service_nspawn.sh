#!/usr/bin/env bash
# Issue 11: vigil as a host service, for real. Boots a cached Debian 12 root
# with systemd-nspawn -b, installs the .deb built from this tree, and checks:
# the unit is enabled and active (Type=notify: READY=1 after attach), an open
# of /etc/shadow is in /var/log/vigil/events.json, the sensor runs as user
# vigil with no effective capability in any thread, /healthz and /metrics
# answer on 127.0.0.1, the shipped logrotate config (rename + create +
# `systemctl reload`) sends new events to the new file and none is lost or
# doubled, `systemctl stop` ends cleanly within 2 s, an edited conffile
# survives an upgrade and purge removes the user and /var/log/vigil.
#
#   service_nspawn.sh BUILD_DIR SOURCE_DIR
# The root is cached in ${VIGIL_TEST_CACHE:-/var/cache/vigil-test} (made by
# make_root.sh once); each run boots a throw-away copy (--ephemeral).
set -euo pipefail
# In a private mount namespace: the tmpfs nspawn needs stays out of the host's mounts.
if [[ -z ${VIGIL_SERVICE_E2E_NS:-} && $(id -u) == 0 ]]; then
  VIGIL_SERVICE_E2E_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
BUILD=$(realpath "$1")
SRC=$(realpath "$2")
[[ $(id -u) == 0 ]] || { echo "needs root (systemd-nspawn, BPF)"; exit 77; }
for tool in systemd-nspawn cpack nsenter jq; do
  command -v "$tool" >/dev/null || { echo "missing $tool (tools/install-deps.sh)"; exit 1; }
done

WORK=$(mktemp -d /tmp/vigil-service-e2e.XXXXXX)
NSPAWN_PID=
FAILED=0
log() { echo "service: $*" >&2; }
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
die() { echo "FAIL: $*"; [[ -f $WORK/nspawn.log ]] && tail -n 40 "$WORK/nspawn.log"; exit 1; }
cleanup() {
  if [[ -n $NSPAWN_PID ]] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    [[ -n ${LEADER:-} ]] && kill -s SIGRTMIN+4 "$LEADER" 2>/dev/null  # systemd: poweroff
    for _ in $(seq 100); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NSPAWN_PID" 2>/dev/null || true
    wait "$NSPAWN_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
T0=$SECONDS

# --- the package, from the build tree (no rebuild)
mkdir -p "$WORK/deb"
(cd "$WORK/deb" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$WORK/deb" >"$WORK/cpack.log" 2>&1) ||
  { cat "$WORK/cpack.log"; die "cpack failed"; }
DEB=$(ls "$WORK"/deb/vigil_*_amd64.deb 2>/dev/null | head -n 1 || true)
[[ -n $DEB ]] || die "cpack made no vigil_*_amd64.deb"
VERSION=$(dpkg-deb -f "$DEB" Version)
[[ $VERSION == "$("$BUILD/vigil" version | awk '{print $2}')" ]] && pass "package version $VERSION = vigil version" ||
  fail "package version $VERSION differs from '$("$BUILD/vigil" version)'"

# --- the root (cached), booted as a throw-away copy
# The root holds the package's dependencies, so that installing it needs no network.
DEPENDS=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/ //g' | grep -v '^$')
# shellcheck disable=SC2086
ROOT=$("$SRC/tests/e2e/service/make_root.sh" $DEPENDS) || die "could not make the Debian root"
log "root $ROOT ready after $((SECONDS - T0)) s"
# nspawn needs a tmpfs at /run/systemd/nspawn and, as this host's PID 1 is
# not systemd, no registration; its own seccomp filter would refuse bpf().
mkdir -p /run/systemd/nspawn
mount -t tmpfs tmpfs /run/systemd/nspawn
SYSTEMD_SECCOMP=0 systemd-nspawn --quiet --ephemeral -D "$ROOT" -b --register=no --keep-unit \
  --capability=all --console=passive --bind-ro=/sys/kernel/btf --bind=/sys/kernel/tracing \
  --bind-ro="$WORK/deb:/mnt/deb" --machine="vigil-e2e-$$" >"$WORK/nspawn.log" 2>&1 &
NSPAWN_PID=$!

# The container's PID 1: a systemd in another pid namespace below nspawn.
below_nspawn() {
  local p=$1
  for _ in 1 2 3; do
    p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null) || return 1
    [[ $p == "$NSPAWN_PID" ]] && return 0
  done
  return 1
}
LEADER=
for _ in $(seq 1200); do  # the ephemeral copy of the root comes first
  for p in $(pgrep -x systemd); do
    if [[ $(readlink "/proc/$p/ns/pid") != $(readlink /proc/self/ns/pid) ]] && below_nspawn "$p"; then
      LEADER=$p
      break 2
    fi
  done
  kill -0 "$NSPAWN_PID" 2>/dev/null || die "systemd-nspawn exited: $(tail -n 20 "$WORK/nspawn.log")"
  sleep 0.05
done
[[ -n $LEADER ]] || die "no systemd inside the container"
in_ct() { nsenter -t "$LEADER" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C "$@"; }
state=
for _ in $(seq 120); do  # until systemd's bus socket exists, then until start-up is done
  state=$(timeout 60 nsenter -t "$LEADER" -a systemctl is-system-running --wait 2>&1 || true)
  [[ $state == *"Failed to connect"* ]] || break
  sleep 0.25
done
[[ $state == running || $state == degraded ]] || die "the container did not boot: $state"
log "booted ($state) after $((SECONDS - T0)) s"

# --- install: enabled, started, active once every event is attached
in_ct dpkg -i /mnt/deb/"$(basename "$DEB")" >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log"; die "dpkg -i failed"; }
pass "dpkg -i $(basename "$DEB")"
[[ $(in_ct systemctl is-enabled vigil) == enabled ]] && pass "vigil.service is enabled" || fail "vigil.service is not enabled"
in_ct systemctl start vigil || true
active=
for _ in $(seq 150); do
  active=$(in_ct systemctl is-active vigil || true)
  [[ $active == active || $active == failed ]] && break
  sleep 0.1
done
[[ $active == active ]] || die "vigil is $active: $(in_ct journalctl -u vigil --no-pager -n 30)"
pass "systemctl start vigil: active"
in_ct test -d /var/log/vigil && [[ $(in_ct stat -c '%a %U' /var/log/vigil) == "750 vigil" ]] &&
  pass "/var/log/vigil is 0750 vigil" || fail "/var/log/vigil: $(in_ct stat -c '%a %U' /var/log/vigil 2>&1)"

# The installed unit grants what caps plan prints for the installed config.
plan=$(in_ct vigil caps plan --config /etc/vigil/vigil.yaml --format systemd 2>&1 || true)
for key in CapabilityBoundingSet AmbientCapabilities; do
  want=$(grep -E "^$key=" <<<"$plan" || true)
  got=$(in_ct grep -E "^$key=" /lib/systemd/system/vigil.service || true)
  [[ -n $want && $got == "$want" ]] && pass "installed unit: $got (= caps plan --config /etc/vigil/vigil.yaml)" ||
    fail "installed unit has '$got', caps plan prints '$want'"
done
# Non-root keeps the syscall hook root would use: no fallback to the raw
# dispatcher for want of tracefs (cap_dac_read_search is in the grant when needed).
journal=$(in_ct journalctl -u vigil --no-pager -o cat)
if grep -q "per-syscall tracepoints need\|tracefs is not mounted and" <<<"$journal"; then
  fail "as user vigil the sensor fell back for want of tracefs: $(grep -m1 "per-syscall\|tracefs is not" <<<"$journal")"
else
  pass "as user vigil: $(grep -o 'syscalls via [a-z_]*' <<<"$journal" | tail -n 1), no tracefs fallback"
fi

# --- an action and its event
events() { in_ct cat "/var/log/vigil/$1" 2>/dev/null || true; }
opens_by() {  # FILE COMM -> the open events of the process named COMM
  events "$1" | jq -c --arg n "$2" \
    'select(.processName == $n and (.eventName == "openat" or .eventName == "security_file_open"))' 2>/dev/null || true
}
wait_for_event() {  # FILE COMM -> 0 once an open by COMM is in FILE
  for _ in $(seq 60); do
    [[ -n $(opens_by "$1" "$2") ]] && return 0
    sleep 0.1
  done
  return 1
}
# Copies of cat whose names (comm, 15 characters at most) tell the events apart.
in_ct sh -c 'cp /bin/cat /usr/local/bin/vigil-e2e-1st && cp /bin/cat /usr/local/bin/vigil-e2e-2nd'
in_ct /usr/local/bin/vigil-e2e-1st /etc/shadow >/dev/null
if wait_for_event events.json vigil-e2e-1st; then
  pass "the open of /etc/shadow is in /var/log/vigil/events.json: $(opens_by events.json vigil-e2e-1st | head -n 1 | cut -c1-160)..."
else
  fail "no event for cat /etc/shadow in /var/log/vigil/events.json"
fi
[[ $(in_ct stat -c '%a %U' /var/log/vigil/events.json) == "600 vigil" ]] && pass "events.json is 0600 vigil" ||
  fail "events.json: $(in_ct stat -c '%a %U' /var/log/vigil/events.json)"

# --- who it runs as: user vigil, no effective capability in any thread
PID=$(in_ct systemctl show -p MainPID --value vigil)
VIGIL_UID=$(in_ct id -u vigil)
threads=0
for st in $(in_ct sh -c "ls -d /proc/$PID/task/*"); do
  status=$(in_ct cat "$st/status")
  uid=$(awk '$1 == "Uid:" {print $2 $3 $4 $5}' <<<"$status")
  eff=$(awk '$1 == "CapEff:" {print $2}' <<<"$status")
  [[ $uid == "$VIGIL_UID$VIGIL_UID$VIGIL_UID$VIGIL_UID" ]] || fail "thread $st: Uid $uid, want $VIGIL_UID"
  [[ $eff == 0000000000000000 ]] || fail "thread $st: CapEff $eff"
  threads=$((threads + 1))
done
((threads > 0)) && pass "$threads threads run as uid $VIGIL_UID (vigil) with CapEff 0" || fail "no threads for pid $PID"

# --- health and metrics on 127.0.0.1 (the container shares the host's network)
LISTEN=$(in_ct awk '$1 == "listen:" {print $2}' /etc/vigil/vigil.yaml)
health=$(curl -s -o "$WORK/healthz" -w '%{http_code}' "http://$LISTEN/healthz" || true)
[[ $health == 200 ]] && pass "GET /healthz: 200 $(cat "$WORK/healthz")" || fail "GET /healthz: $health $(cat "$WORK/healthz" 2>/dev/null)"
curl -sf "http://$LISTEN/metrics" >"$WORK/metrics" && grep -q '^vigil_events_emitted_total ' "$WORK/metrics" &&
  pass "GET /metrics has vigil_events_emitted_total" || fail "GET /metrics: $(head -c 300 "$WORK/metrics")"

# --- logrotate (the shipped config: rename, create, systemctl reload)
in_ct logrotate -f /etc/logrotate.d/vigil >"$WORK/logrotate.log" 2>&1 || { cat "$WORK/logrotate.log"; fail "logrotate failed"; }
in_ct test -f /var/log/vigil/events.json.1 && pass "logrotate renamed events.json to events.json.1" ||
  fail "no events.json.1 after logrotate: $(in_ct ls -l /var/log/vigil)"
in_ct /usr/local/bin/vigil-e2e-2nd /etc/shadow >/dev/null
if wait_for_event events.json vigil-e2e-2nd; then
  pass "after reload: the new event is in the new events.json"
else
  fail "after reload: no vigil-e2e-2nd event in events.json ($(events events.json | wc -l) lines; journal: $(in_ct journalctl -u vigil --no-pager -n 5))"
fi
[[ -n $(opens_by events.json.1 vigil-e2e-2nd) ]] && fail "the new event also went to the rotated file"
n_first=$( (opens_by events.json.1 vigil-e2e-1st; opens_by events.json vigil-e2e-1st) | wc -l)
n_old=$(opens_by events.json.1 vigil-e2e-1st | wc -l)
((n_first > 0 && n_first == n_old)) && pass "the first opens ($n_first) are in the rotated file only" ||
  fail "the first opens: $n_old in events.json.1, $n_first in both files"
[[ $(in_ct systemctl is-active vigil) == active ]] && pass "still active after reload" || fail "not active after reload"

# --- stop: clean, within 2 s
t0=$(date +%s%N)
in_ct systemctl stop vigil
ms=$((($(date +%s%N) - t0) / 1000000))
((ms <= 2000)) && pass "systemctl stop vigil took $ms ms" || fail "systemctl stop vigil took $ms ms (> 2000)"
result=$(in_ct systemctl show -p Result --value vigil)
code=$(in_ct systemctl show -p ExecMainStatus --value vigil)
[[ $result == success && $code == 0 ]] && pass "stopped cleanly (exit 0)" || fail "stop: Result=$result ExecMainStatus=$code"

# --- upgrade keeps an edited conffile; purge removes what postinst made
in_ct sh -c 'echo "# edited by the e2e test" >>/etc/vigil/vigil.yaml'
in_ct dpkg -i /mnt/deb/"$(basename "$DEB")" >"$WORK/dpkg2.log" 2>&1 || { cat "$WORK/dpkg2.log"; fail "reinstall failed"; }
in_ct grep -q "edited by the e2e test" /etc/vigil/vigil.yaml && pass "upgrade kept the edited /etc/vigil/vigil.yaml" ||
  fail "upgrade replaced the edited conffile"
in_ct dpkg --purge vigil >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log"; fail "purge failed"; }
in_ct getent passwd vigil >/dev/null && fail "purge left the vigil user" || pass "purge removed the vigil user"
in_ct test -e /var/log/vigil && fail "purge left /var/log/vigil" || pass "purge removed /var/log/vigil"
in_ct test -e /etc/vigil && fail "purge left /etc/vigil" || pass "purge removed /etc/vigil"

log "done in $((SECONDS - T0)) s"
exit "$FAILED"
