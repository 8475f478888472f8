// libFuzzer target for the packet decoders: the DNS decoder (and the DNS
// cache fed by it) — any bytes, as a UDP message and as a TCP stream, end in a
// message or an error that says why, never in a crash, a hang or an unbounded
// result — and the HTTP/1.x head and ICMP header parsers, on the same bytes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "vigil/net/dns.h"
#include "vigil/net/dns_cache.h"
#include "vigil/net/http.h"
#include "vigil/net/icmp.h"

namespace {

// An HTTP head is bounded by its input and by the parser's limits.
void FuzzHttp(std::span<const uint8_t> input) {
  auto h = vigil::net::ParseHttpHead(input);
  if (!h) return;
  if (!vigil::net::LooksLikeHttp(input)) __builtin_trap();
  if (h->headers.size() > vigil::net::kHttpMaxHeaders) __builtin_trap();
  size_t total = h->method.size() + h->path.size() + h->protocol.size() + h->status.size();
  for (const auto& [name, value] : h->headers) total += name.size() + value.size();
  if (total > input.size()) __builtin_trap();  // nothing is invented
  if (h->kind == vigil::net::HttpHead::Kind::kResponse && (h->status_code < 0 || h->status_code > 999))
    __builtin_trap();
}

void FuzzIcmp(std::span<const uint8_t> input) {
  for (bool v6 : {false, true}) {
    auto h = vigil::net::ParseIcmp(input, v6);
    if (h.has_value() != (input.size() >= 8)) __builtin_trap();
    if (h && vigil::net::IcmpTypeCodeName(h->type, h->code, v6).empty()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  FuzzHttp(input);
  FuzzIcmp(input);
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
