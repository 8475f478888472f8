# Helpers of the detections e2e scripts (sourced after lib.sh).
#
# Every case acts through its own names, so other processes on the machine
# cannot make a check pass: the acting program is a symlink named for the
# case (its comm; executable.path stays the real binary), run by a driver
# shell that is a symlink to bash named for the case (the parent).

BIN=$WORK/bin
mkdir -p "$BIN"
require_commands jq cc

# The C helper of every behaviour a shell cannot do (ptrace, memfd, dup2...).
ACT=$WORK/act
cc -O1 -o "$ACT" "$(dirname "${BASH_SOURCE[0]}")/act.c" 2>"$WORK/cc.err" ||
  die "cannot build act.c: $(cat "$WORK/cc.err")"

# as NAME TARGET: $BIN/NAME, a symlink to TARGET (absolute); prints its path.
as() {
  ln -sf "$2" "$BIN/$1"
  echo "$BIN/$1"
}

# drive PARENT SCRIPT: runs SCRIPT under bash named PARENT (ancestors[0] of
# what it starts). The trailing `true` keeps bash from exec'ing the last command.
drive() {
  local parent=$1
  shift
  "$(as "$parent" /usr/bin/bash)" -c "$*
true" 2>>"$WORK/drive.err" || true
}

# A docker-style cgroup v2 directory (system.slice/docker-<64 hex>.scope);
# in_container PARENT SCRIPT is drive run inside it. Removed at exit.
CGROUP=
CONTAINER_ID=
make_container() {
  local root
  root=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
  [[ -n $root ]] || skip "no cgroup v2 mount for the fake container"
  CONTAINER_ID=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  CGROUP=$root/system.slice/docker-$CONTAINER_ID.scope
  mkdir -p "$CGROUP" || die "cannot create the cgroup $CGROUP"
}
remove_container() {
  [[ -n $CGROUP ]] && rmdir "$CGROUP" 2>/dev/null
  true
}
in_container() {
  local parent=$1
  shift
  "$(as "$parent" /usr/bin/bash)" -c "echo \$\$ > $CGROUP/cgroup.procs || exit 1
$*
true" 2>>"$WORK/drive.err" || true
}

# expect DETECTION COMM EXE PARENT SIGNATURE_ID SEVERITY TRIGGER [container]:
# a detection of that name by that process (comm and executable.path), whose
# parent is PARENT (parentProcessName and ancestors[0]), with Tracee's
# metadata and the triggering event's name; with `container`, in the fake
# container's id.
expect() {
  local det=$1 comm=$2 exe=$3 parent=$4 sig=$5 sev=$6 trig=$7 where=${8:-host}
  local cid='(.container.id == "")'
  [[ $where == container ]] && cid="(.container.id == \"$CONTAINER_ID\")"
  check "$det: by $comm ($exe), parent $parent, $sig severity $sev, from $trig ($where)" \
    "any(.[]; .eventName == \"$det\" and .processName == \"$comm\" and .executable.path == \"$exe\"
      and .parentProcessName == \"$parent\" and .ancestors[0].comm == \"$parent\"
      and .metadata.Properties.signatureID == \"$sig\" and .metadata.Properties.Severity == $sev
      and .args[0].name == \"triggeredBy\" and .args[0].value.name == \"$trig\" and $cid)"
}

# expect_none DETECTION COMM: no detection of that name by that comm (a near miss).
expect_none() {
  check "$1: nothing by $2" "all(.[]; (.eventName == \"$1\" and .processName == \"$2\") | not)"
}

# show DETECTION: what was detected by that name (for a failing run's log).
show() { jq -c --arg d "$1" 'select(.eventName == $d) | [.processName, .executable.path, .parentProcessName, .args[0].value.name, .container.id]' "$EVENTS" >&2; }
