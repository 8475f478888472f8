#include "vigil/net/dns_cache.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/string_view.h"

namespace vigil::net {

void DnsCache::AddResponse(const DnsMessage& response, uint64_t now_ns) {
  if (!response.response || response.rcode != 0 || response.questions.empty()) return;
  const std::string& asked = response.questions.front().name;
  for (const DnsRecord& rec : response.answers) {
    if (rec.address.size() != 4 && rec.address.size() != 16) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (!inet_ntop(rec.address.size() == 4 ? AF_INET : AF_INET6, rec.address.data(), text, sizeof(text)))
      continue;
    uint64_t ttl = std::clamp(rec.ttl, kMinTtlSeconds, kMaxTtlSeconds);
    Put(text, asked, now_ns + ttl * 1'000'000'000ull);
  }
}

void DnsCache::Put(std::string address, std::string_view name, uint64_t expires_ns) {
  if (capacity_ == 0) return;
  auto it = entries_.find(address);
  if (it != entries_.end()) {
    it->second.name.assign(name);
    it->second.expires_ns = expires_ns;
    order_.splice(order_.end(), order_, it->second.order);
    return;
  }
  while (entries_.size() >= capacity_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(address);
  auto last = std::prev(order_.end());
  entries_.emplace(std::move(address), Entry{std::string(name), expires_ns, last});
}

std::optional<std::string_view> DnsCache::Lookup(std::string_view address, uint64_t now_ns) {
  auto it = entries_.find(absl::string_view(address.data(), address.size()));
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires_ns <= now_ns) {
    order_.erase(it->second.order);
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.name;
}

}  // namespace vigil::net
