// DNS wire format (RFC 1035, with AAAA, SRV, TXT...), decoded with every
// offset checked: packets come from any process on the host, and the kernel
// captures at most the first bytes of each.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace vigil::net {

struct DnsQuestion {
  std::string name;  // "example.com" (no trailing dot; "." for the root)
  uint16_t type = 0;
  uint16_t klass = 0;
};

struct DnsRecord {
  std::string name;
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  // The record's data, readable: an address (A, AAAA), a name (CNAME, PTR,
  // NS), "10 mx.example.com" (MX), the strings joined by spaces (TXT),
  // "mname rname serial" (SOA), "prio weight port target" (SRV); other types
  // as lowercase hex of their bytes.
  std::string data;
  // A and AAAA only: the address bytes (4 or 16), network order.
  std::vector<uint8_t> address;
};

struct DnsMessage {
  uint16_t id = 0;
  bool response = false;  // QR
  uint8_t opcode = 0;
  bool authoritative = false, truncated = false, recursion_desired = false, recursion_available = false;
  uint8_t rcode = 0;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;  // as the header says
  std::vector<DnsQuestion> questions;
  std::vector<DnsRecord> answers, authorities, additionals;
  // The packet ended (or was cut at the capture limit) before every record
  // the header counts: what came before is kept.
  bool incomplete = false;
};

// Limits that keep a hostile packet's cost bounded.
inline constexpr size_t kDnsMaxRecordsPerSection = 64;
inline constexpr int kDnsMaxPointerJumps = 32;

// A DNS message as carried by UDP (no prefix). Errors: shorter than the
// 12-byte header, or not a DNS message (opcode or counts impossible). A name
// that leaves the packet, a pointer loop or an overlong name ends parsing
// with `incomplete` set: the records before it are kept.
absl::StatusOr<DnsMessage> ParseDns(std::span<const uint8_t> packet);

// DNS over TCP: a 2-byte big-endian length, then the message (RFC 1035
// 4.2.2). The message may be cut by the capture; its declared length is
// not trusted beyond the bytes present.
absl::StatusOr<DnsMessage> ParseDnsTcp(std::span<const uint8_t> stream);

// "A", "AAAA", "CNAME"...; unknown types as "TYPE65280" (RFC 3597).
std::string DnsTypeName(uint16_t type);
// "IN", "CH", "HS", "ANY"; others as "CLASS7".
std::string DnsClassName(uint16_t klass);
// "NOERROR", "NXDOMAIN"...; others as the number.
std::string DnsRcodeName(uint8_t rcode);
// "QUERY", "IQUERY", "STATUS", "NOTIFY", "UPDATE"; others as the number.
std::string DnsOpcodeName(uint8_t opcode);

}  // namespace vigil::net
