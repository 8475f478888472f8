// Which name a host resolved to which address: filled from DNS responses,
// read to name the peer of a connection (Tracee's dst_dns). Bounded: the
// least recently added entry goes first; entries expire with their TTL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "vigil/net/dns.h"

namespace vigil::net {

class DnsCache {
 public:
  // A TTL below the floor is raised to it: a connection usually follows its
  // lookup at once, but local resolvers often answer with TTL 0.
  static constexpr uint32_t kMinTtlSeconds = 60;
  static constexpr uint32_t kMaxTtlSeconds = 24 * 3600;

  explicit DnsCache(size_t capacity = 16384) : capacity_(capacity) {}

  // Records every A/AAAA answer of a response under the name that was asked
  // (the first question: what the process looked up, before any CNAME
  // chain). Responses with an error code or no question add nothing.
  void AddResponse(const DnsMessage& response, uint64_t now_ns);

  // The name that resolved to `address` (its text form, as inet_ntop writes
  // it: "93.184.216.34", "2001:db8::1"), while its TTL lasts.
  std::optional<std::string_view> Lookup(std::string_view address, uint64_t now_ns);

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string name;
    uint64_t expires_ns;
    std::list<std::string>::iterator order;
  };
  void Put(std::string address, std::string_view name, uint64_t expires_ns);

  size_t capacity_;
  absl::flat_hash_map<std::string, Entry> entries_;
  std::list<std::string> order_;  // addresses, oldest first
};

}  // namespace vigil::net
