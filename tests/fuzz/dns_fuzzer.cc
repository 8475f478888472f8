// libFuzzer target for the DNS decoder (and the DNS cache fed by it): any
// bytes, as a UDP message and as a TCP stream, end in a message or an error
// that says why, never in a crash, a hang or an unbounded result.
#include <cstddef>
#include <cstdint>
#include <span>

#include "vigil/net/dns.h"
#include "vigil/net/dns_cache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  static vigil::net::DnsCache cache(64);
  for (bool tcp : {false, true}) {
    auto m = tcp ? vigil::net::ParseDnsTcp(input) : vigil::net::ParseDns(input);
    if (!m.ok()) {
      if (m.status().message().empty()) __builtin_trap();
      continue;
    }
    if (m->questions.size() > vigil::net::kDnsMaxRecordsPerSection ||
        m->answers.size() > vigil::net::kDnsMaxRecordsPerSection)
      __builtin_trap();
    for (const auto& q : m->questions)
      if (q.name.empty() || q.name.size() > 4 * 255) __builtin_trap();  // escapes at most 4x
    for (const auto& r : m->answers) {
      if (r.name.size() > 4 * 255 || r.data.size() > 4 * 65535) __builtin_trap();
      (void)vigil::net::DnsTypeName(r.type);
    }
    cache.AddResponse(*m, 0);
    if (cache.size() > 64) __builtin_trap();
    for (const auto& r : m->answers)
      if (!r.data.empty()) (void)cache.Lookup(r.data, 1);
  }
  return 0;
}
