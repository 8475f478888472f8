#!/usr/bin/env bash
# container.id comes from the cgroup v2 path: a process moved into a
# docker-style cgroup (/docker/<64 hex>) is reported with that id; the
# sensor's other events keep an empty one.
set -euo pipefail
VIGIL=$1
[[ $(id -u) == 0 ]] || { echo "needs root"; exit 77; }
root=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
[[ -n $root ]] || { echo "no cgroup v2 mount"; exit 77; }
id=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
cg=$root/docker/$id
tmp=$(mktemp -d)
cleanup() { rmdir "$cg" "$root/docker" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p "$cg"
"$VIGIL" -e openat -o "json:$tmp/events.json" --ready-file "$tmp/ready" --duration 20s 2>"$tmp/stderr" &
sensor=$!
for _ in $(seq 200); do [[ -f $tmp/ready ]] && break; sleep 0.05; done
[[ -f $tmp/ready ]] || { cat "$tmp/stderr"; echo "sensor not ready"; exit 1; }
marker=$tmp/in-container-$id
bash -c "echo \$\$ > $cg/cgroup.procs; exec cat $marker" 2>/dev/null || true
cat "$tmp/ready" >/dev/null   # an open from the host cgroup
sleep 0.3
kill -INT "$sensor"; wait "$sensor"
got=$(jq -r --arg m "$marker" 'select(.args[1].value == $m) | .container.id' "$tmp/events.json")
[[ $got == "$id" ]] || { echo "open of $marker: container.id '$got', want '$id'"; exit 1; }
# The host-cgroup open must be there (else this check proves nothing) with an empty id.
host=$(jq -r --arg r "$tmp/ready" 'select(.args[1].value == $r) | "id=" + .container.id' "$tmp/events.json" | head -1)
[[ -n $host ]] || { echo "no openat of $tmp/ready from the host cgroup"; exit 1; }
[[ $host == "id=" ]] || { echo "host open carries container.id '${host#id=}'"; exit 1; }
echo "container.id ok: $id"
