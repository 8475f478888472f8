// The pipeline's network step (part of enrichment): packet events' raw
// payloads decoded by net/ into Tracee's objects, DNS answers remembered,
// and connections named after the domain their process resolved (dst_dns).
#pragma once

#include <cstddef>

#include "vigil/events/event.h"
#include "vigil/net/dns_cache.h"

namespace vigil::engine {

class NetworkEnricher {
 public:
  explicit NetworkEnricher(size_t dns_cache_entries = 16384) : cache_(dns_cache_entries) {}

  // net_packet_dns*: renders metadata and the message, and feeds the cache
  // with answers. net_packet_http*, net_packet_icmp*: renders metadata and
  // the head (net::ParseHttpHead, net::ParseIcmp), adds src/dst (and ports). security_socket_connect,
  // net_tcp_connection: appends dst_dns when the peer's address was resolved. Other events: untouched.
  void Apply(events::Event& e);

  const net::DnsCache& cache() const { return cache_; }

 private:
  void AddDstDns(events::Event& e, events::ArgRef& addr_arg);
  void ApplyPayload(events::Event& e);

  net::DnsCache cache_;
  events::ArgRef remote_addr_{"remote_addr"}, dst_{"dst"}, dst_dns_{"dst_dns"};
};

}  // namespace vigil::engine
