// ICMP (RFC 792) and ICMPv6 (RFC 4443) headers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace vigil::net {

struct IcmpHeader {
  uint8_t type = 0;
  uint8_t code = 0;
  uint16_t checksum = 0;
  // Echo request/reply (and timestamp, information): identifier and
  // sequence number; 0 for other types.
  uint16_t id = 0;
  uint16_t seq = 0;
  bool has_id = false;
};

// The 8-byte header at the start of `bytes`; nullopt when shorter.
std::optional<IcmpHeader> ParseIcmp(std::span<const uint8_t> bytes, bool v6);

// gopacket's names, as Tracee shows them in typeCode: "EchoRequest",
// "DestinationUnreachable(Port)"; unknown ones as "Type(Code)" numbers.
std::string IcmpTypeCodeName(uint8_t type, uint8_t code, bool v6);

}  // namespace vigil::net
