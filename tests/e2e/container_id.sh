#!/usr/bin/env bash
# container.id comes from the cgroup v2 path: a process moved into a
# docker-style cgroup (/docker/<64 hex>) is reported with that id; the
# sensor's other events keep an empty one.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root
require_commands jq
root=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
[[ -n $root ]] || skip "no cgroup v2 mount"
id=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
cg=$root/docker/$id
remove_cgroup() { rmdir "$cg" "$root/docker" 2>/dev/null || true; cleanup; }
trap remove_cgroup EXIT
mkdir -p "$cg" || die "cannot create the cgroup $cg"
start_sensor main -e openat -o "json:$EVENTS" --duration 20s
marker=$WORK/in-container-$id
bash -c "echo \$\$ > $cg/cgroup.procs; exec cat $marker" 2>/dev/null || true
cat "$SENSOR_READY" >/dev/null # an open from the host cgroup
sleep 0.3
stop_sensor INT
got=$(jq -r --arg m "$marker" 'select(.args[1].value == $m) | .container.id' "$EVENTS")
[[ $got == "$id" ]] || die "open of $marker: container.id '$got', want '$id'"
# The host-cgroup open must be there (else this check proves nothing) with an empty id.
host=$(jq -r --arg r "$SENSOR_READY" 'select(.args[1].value == $r) | "id=" + .container.id' "$EVENTS" | head -1)
[[ -n $host ]] || die "no openat of $SENSOR_READY from the host cgroup"
[[ $host == "id=" ]] || die "host open carries container.id '${host#id=}'"
pass "container.id: $id"
finish
