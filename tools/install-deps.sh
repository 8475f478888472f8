#!/usr/bin/env bash
# Installs what building and testing vigil needs, from Debian 12's archive.
set -euo pipefail
PACKAGES=(
  build-essential cmake pkg-config clang llvm
  libbpf-dev bpftool libelf-dev zlib1g-dev libcap-dev
  libyaml-cpp-dev libabsl-dev libgtest-dev libgmock-dev libcli11-dev
  libclang-rt-14-dev util-linux libcap2-bin jq python3 procps strace
  libcurl4-openssl-dev librdkafka-dev rsyslog kcat openssl
  libcpp-httplib-dev libsystemd-dev python3-prometheus-client
  debootstrap systemd-container systemd
  git netcat-openbsd kmod  # the detections e2e tests: benign workload, nc, modprobe
  iputils-ping  # the ICMP e2e test (ping -c1 127.0.0.1 and ::1)
  iproute2  # e2e.hardening.table_full: a black-hole route in a network namespace
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "vigil: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
