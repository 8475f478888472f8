#!/usr/bin/env bash
# Builds (once) the Debian 12 root the service e2e test boots with systemd-nspawn,
# cached outside the clone: rebuilt only when missing. Prints the root's path.
# Usage: make_root.sh [PACKAGE...]   extra packages (the .deb's Depends), in
# ${VIGIL_TEST_CACHE:-/var/cache/vigil-test}; a different package list rebuilds it.
set -euo pipefail
cache=${VIGIL_TEST_CACHE:-/var/cache/vigil-test}
root=$cache/bookworm-root
# systemd to boot; logrotate to run the shipped config for real; the shared
# libraries vigil links, so that installing the .deb needs no network.
include=systemd,systemd-sysv,dbus,logrotate,procps
for p in $(printf '%s\n' "$@" | sort -u); do include+=",$p"; done
if [[ -x $root/lib/systemd/systemd && "$(cat "$root/.vigil-root-complete" 2>/dev/null)" == "$include" ]]; then
  echo "$root"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "make_root: debootstrap is missing (tools/install-deps.sh)" >&2; exit 1; }
# The mirror apt already uses (deb822 or one-line sources).
mirror=$(grep -hoE '^URIs: *\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' |
         grep -v security | head -1 || true)
[[ -n $mirror ]] || mirror=$(grep -hoE '^deb +\S+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' |
                            grep -v security | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/bookworm-root.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "make_root: debootstrap bookworm from $mirror into $tmp (a few minutes, once)" >&2
debootstrap --variant=minbase --include="$include" bookworm "$tmp" "$mirror" >&2
echo "$include" >"$tmp/.vigil-root-complete"
rm -rf "$root"
mv "$tmp" "$root"
trap - EXIT
echo "$root"
