#!/usr/bin/env bash
# Issue 13: the packet events hold CAP_NET_ADMIN only while their cgroup_skb
# programs are attached (the EBPF ring), never in the base ring, and a policy
# naming the events of Tracee's extend-default-policy example (written here,
# fixtures/tracee_network_events.yaml) loads and runs.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need_root
require_commands jq
here=$(dirname "$(readlink -f "$0")")

for ev in net_packet_dns net_packet_dns_request net_packet_dns_response net_packet_http net_packet_http_request \
  net_packet_http_response net_packet_icmp net_packet_icmpv6; do
  plan=$("$VIGIL" caps plan -e "$ev" --format json 2>"$WORK/plan.err") || {
    fail "caps plan -e $ev: $(cat "$WORK/plan.err")"
    continue
  }
  if jq -e --arg ev "$ev" '
      (.rings.base | all(.cap != "cap_net_admin"))
      and any(.rings.ebpf[]; .cap == "cap_net_admin" and (.needed_by | index($ev)) != null)
      and (.after_setup | index("cap_net_admin")) == null' <<<"$plan" >/dev/null; then
    pass "$ev: CAP_NET_ADMIN in the ebpf ring only"
  else
    fail "$ev: plan is $plan"
  fi
done

policy=$here/fixtures/tracee_network_events.yaml
"$VIGIL" caps plan -p "$policy" >"$WORK/policy.plan" 2>&1 && pass "the policy plans" ||
  fail "caps plan -p $policy: $(cat "$WORK/policy.plan")"
start_sensor policy -p "$policy" -o "json:$EVENTS" --duration 60s
for ev in net_packet_icmp net_packet_icmpv6 net_packet_dns_request net_packet_dns_response net_packet_http_request \
  net_packet_http_response security_sb_mount; do
  grep -q "running [0-9]* events (.*\b$ev\b" "$SENSOR_ERR" && pass "the policy runs $ev" ||
    fail "the policy does not run $ev: $(cat "$SENSOR_ERR")"
done
stop_sensor INT
finish
