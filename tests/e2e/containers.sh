#!/usr/bin/env bash
# Container lifecycle and the container=new scope, with "containers" made the
# way runtimes make them: a cgroup v2 directory named docker-<64 hex>.scope,
# processes moved into it (one also in new pid and UTS namespaces).
#   - one container is made (and its process started) before the sensor:
#     existing_container reports it, with a ctime before the sensor started;
#     container=new policies get none of its events;
#   - one is made after: container_create with its id and runtime, and its
#     processes' events (and those of a cgroup below it) under both of
#     Tracee's container=new policy shapes (k8s Policy and plain);
#   - rmdir of each: container_remove;
#   - a docker-named directory in a cgroup v1 hierarchy is no container.
# Every cgroup made here is removed at exit, pass or fail.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root
require_commands jq unshare
root=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
[[ -n $root ]] || skip "no cgroup v2 mount"

hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
old=$(hex64)
new=$(hex64)
v1id=$(hex64)
slice=$root/system.slice
old_cg=$slice/docker-$old.scope
new_cg=$slice/docker-$new.scope
v1_parent=$(awk '$3 == "cgroup" {print $2; exit}' /proc/self/mounts)
v1_cg=${v1_parent:+$v1_parent/docker-$v1id.scope}
made_slice=0
[[ -d $slice ]] || made_slice=1

# Processes first (a cgroup with processes cannot be removed), then the
# cgroups, deepest first; then lib.sh's cleanup.
remove_cgroups() {
  local pid
  for pid in "${BACKGROUND[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for pid in "${BACKGROUND[@]}"; do wait "$pid" 2>/dev/null; done
  rmdir "$new_cg/sub" "$new_cg" "$old_cg" 2>/dev/null
  [[ -n $v1_cg ]] && rmdir "$v1_cg" 2>/dev/null
  ((made_slice)) && rmdir "$slice" 2>/dev/null
  cleanup
}
trap remove_cgroups EXIT

mkdir -p "$old_cg" || die "cannot create the cgroup $old_cg"
old_marker=$WORK/old-container-$old
new_marker=$WORK/new-container-$new
sub_marker=$WORK/new-container-sub-$new
host_marker=$WORK/host-$new
touch "$old_marker" "$new_marker" "$sub_marker" "$host_marker"
# The old container's process: moved in before the sensor starts, it opens
# its marker once told to (after the new container's processes did).
bash -c "echo \$\$ > $old_cg/cgroup.procs; while [[ ! -e $WORK/go ]]; do sleep 0.05; done
  exec unshare --pid --fork cat $old_marker" 2>/dev/null &
old_pid=$!
BACKGROUND+=("$old_pid")
for ((i = 0; i < 100; i++)); do grep -qx "$old_pid" "$old_cg/cgroup.procs" && break; sleep 0.05; done
grep -qx "$old_pid" "$old_cg/cgroup.procs" || die "could not move pid $old_pid into $old_cg"

# Policies with the constructs of Tracee's examples/policies/yaml/{k8s,plain}/new_containers.yaml.
mkdir "$WORK/policies"
# container_create and security_file_open of containers started after the sensor.
policy "$WORK/policies/k8s.yaml" fresh-containers "container=new" "    - event: container_create
    - event: security_file_open"
cat >"$WORK/policies/plain.yaml" <<'EOF'
type: policy
name: fresh-plain
description: the same, in the plain form
scope:
  - container=new
rules:
  - event: container_create
  - event: security_file_open
EOF
cat >"$WORK/policies/older.yaml" <<'EOF'
type: policy
name: older-containers
scope:
  - container!=new
rules:
  - event: security_file_open
EOF
cat >"$WORK/policies/lifecycle.yaml" <<'EOF'
type: policy
name: lifecycle
scope:
  - global
rules:
  - event: existing_container
  - event: container_remove
EOF

sensor_start=$(now_ns)
start_sensor main -p "$WORK/policies" -o "json:$EVENTS" --duration 40s

mkdir "$new_cg" || die "cannot create the cgroup $new_cg"
mkdir "$new_cg/sub" || die "cannot create the cgroup $new_cg/sub"
v1_made=0
[[ -n $v1_cg ]] && mkdir "$v1_cg" 2>/dev/null && v1_made=1
new_ids="[$(stat -c %i "$new_cg"), $(stat -c %i "$new_cg/sub")]"  # cgroup ids are the directories' inodes
# In the new container, in pid and UTS namespaces of its own, like a runtime's init.
bash -c "echo \$\$ > $new_cg/cgroup.procs; exec unshare --pid --uts --fork cat $new_marker" 2>/dev/null
bash -c "echo \$\$ > $new_cg/sub/cgroup.procs; exec cat $sub_marker" 2>/dev/null
cat "$host_marker" 2>/dev/null
touch "$WORK/go"
wait "$old_pid"
rmdir "$new_cg/sub" "$new_cg" "$old_cg" || fail "rmdir of the test's cgroups failed"
sleep 0.5
stop_sensor INT

# The opens of a marker that the container=new policies took.
opens_of() {
  jq -c --arg m "$1" 'select(.eventName == "security_file_open" and .args[0].value == $m and
    (.matchedPolicies | index("fresh-containers") != null))' "$EVENTS"
}
got=$(opens_of "$new_marker" | head -1)
[[ -n $got ]] || fail "no security_file_open of $new_marker (the new container's process) under container=new"
[[ $(jq -r '.container.id' <<<"$got") == "$new" ]] || fail "the new container's open has container.id $(jq -r .container.id <<<"$got"), want $new"
[[ $(jq -r '.matchedPolicies | sort | join(",")' <<<"$got") == "fresh-containers,fresh-plain" ]] ||
  fail "the new container's open matched $(jq -c .matchedPolicies <<<"$got"), want both container=new policies"
[[ -n $got ]] && pass "an open in the new container (own pid namespace) passes container=new, with its id"
[[ -n $(opens_of "$sub_marker") ]] || fail "no security_file_open of $sub_marker (a cgroup below the new container)"
[[ -z $(opens_of "$old_marker") ]] || fail "an open of the container made before the sensor passed container=new"
[[ -z $(opens_of "$host_marker") ]] || fail "an open of a host process passed container=new"
outside=$(jq -c --argjson ids "$new_ids" 'select(.eventName == "security_file_open" and
  (.matchedPolicies | index("fresh-containers") != null or index("fresh-plain") != null) and
  (.cgroupId as $c | $ids | index([$c]) == null)) | [.processName, .cgroupId, .args[0].value]' "$EVENTS" | head -3)
[[ -z $outside ]] || fail "security_file_open from outside the new container passed container=new: $outside"
[[ -z $outside && -n $(opens_of "$sub_marker") ]] &&
  pass "container=new: the cgroup below the new container in, the old container and the host out"

check "container!=new: the old container's open (in its own pid namespace), only under that policy" \
  "[.[] | select(.eventName == \"security_file_open\" and .args[0].value == \"$old_marker\")] |
   length >= 1 and all(.[]; .matchedPolicies == [\"older-containers\"] and .container.id == \"$old\")"
check "container!=new: nothing of the new container or the host" \
  "[.[] | select(.eventName == \"security_file_open\" and (.matchedPolicies | index(\"older-containers\") != null)) |
   .args[0].value | select(. == \"$new_marker\" or . == \"$sub_marker\" or . == \"$host_marker\")] | length == 0"
check "container_create of the new container: its id, runtime docker and cgroup, under both container=new policies" \
  "[.[] | select(.eventName == \"container_create\" and .args[1].value == \"$new\")] |
   length == 1 and (.[0] | (.args | map({(.name): .value}) | add) as \$a |
     \$a.runtime == \"docker\" and \$a.cgroup_path == \"/system.slice/docker-$new.scope\" and
     \$a.cgroup_id == .cgroupId and .container.id == \"$new\" and \$a.ctime >= $sensor_start and
     (.matchedPolicies | sort) == [\"fresh-containers\", \"fresh-plain\"])"
check "no container_create for the old container, the cgroup below the new one or a cgroup v1 directory" \
  "[.[] | select(.eventName == \"container_create\")] | map(.args[1].value) |
   (map(select(. == \"$old\" or . == \"$v1id\")) | length) == 0 and (map(select(. == \"$new\")) | length) == 1"
check "existing_container of the old container, started before the sensor, under the lifecycle policy only" \
  "[.[] | select(.eventName == \"existing_container\" and .args[1].value == \"$old\")] |
   length == 1 and (.[0] | (.args | map({(.name): .value}) | add) as \$a |
     \$a.runtime == \"docker\" and \$a.ctime < $sensor_start and \$a.ctime > 0 and
     .container.id == \"$old\" and .matchedPolicies == [\"lifecycle\"])"
((v1_made)) && log "made $v1_cg (cgroup v1): it must not count as a container"
check "no existing_container for the container made after the start" \
  "[.[] | select(.eventName == \"existing_container\" and .args[1].value == \"$new\")] | length == 0"
check "container_remove after the rmdir of each container" \
  "([.[] | select(.eventName == \"container_remove\") | .args[1].value] | sort) == ([\"$old\", \"$new\"] | sort)"
finish
