#include "vigil/net/icmp.h"

#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"

namespace vigil::net {
namespace {

struct TypeName {
  uint8_t type;
  const char* name;
  // Codes 0..n-1 by name; empty when the type has no named codes.
  std::vector<const char*> codes;
};

const TypeName kIcmpV4[] = {
    {0, "EchoReply", {}},
    {3,
     "DestinationUnreachable",
     {"Net", "Host", "Protocol", "Port", "FragmentationNeeded", "SourceRoutingFailed", "NetUnknown",
      "HostUnknown", "SourceIsolated", "NetAdminProhibited", "HostAdminProhibited", "NetTOS", "HostTOS",
      "CommAdminProhibited", "HostPrecedence", "PrecedenceCutoff"}},
    {4, "SourceQuench", {}},
    {5, "Redirect", {"Network", "Host", "TOSNetwork", "TOSHost"}},
    {8, "EchoRequest", {}},
    {9, "RouterAdvertisement", {}},
    {10, "RouterSolicitation", {}},
    {11, "TimeExceeded", {"TTLExceeded", "FragmentReassemblyTimeExceeded"}},
    {12, "ParameterProblem", {"PointerIndicatesError", "MissingOption", "BadLength"}},
    {13, "TimestampRequest", {}},
    {14, "TimestampReply", {}},
    {15, "InfoRequest", {}},
    {16, "InfoReply", {}},
    {17, "AddressMaskRequest", {}},
    {18, "AddressMaskReply", {}},
};

const TypeName kIcmpV6[] = {
    {1,
     "DestinationUnreachable",
     {"NoRouteToDst", "AdminProhibited", "BeyondScopeOfSrc", "AddressUnreachable", "PortUnreachable",
      "SrcAddressFailedPolicy", "RejectRouteToDst"}},
    {2, "PacketTooBig", {}},
    {3, "TimeExceeded", {"HopLimitExceeded", "FragmentReassemblyTimeExceeded"}},
    {4, "ParameterProblem", {"ErroneousHeaderField", "UnrecognizedNextHeader", "UnrecognizedIPv6Option"}},
    {128, "EchoRequest", {}},
    {129, "EchoReply", {}},
    {130, "MLDv1MulticastListenerQueryMessage", {}},
    {131, "MLDv1MulticastListenerReportMessage", {}},
    {132, "MLDv1MulticastListenerDoneMessage", {}},
    {133, "RouterSolicitation", {}},
    {134, "RouterAdvertisement", {}},
    {135, "NeighborSolicitation", {}},
    {136, "NeighborAdvertisement", {}},
    {137, "Redirect", {}},
    {143, "MLDv2MulticastListenerReportMessageV2", {}},
};

bool HasId(uint8_t type, bool v6) {
  if (v6) return type == 128 || type == 129;
  return type == 0 || type == 8 || (type >= 13 && type <= 18);
}

}  // namespace

std::optional<IcmpHeader> ParseIcmp(std::span<const uint8_t> bytes, bool v6) {
  if (bytes.size() < 8) return std::nullopt;
  IcmpHeader h;
  h.type = bytes[0];
  h.code = bytes[1];
  h.checksum = static_cast<uint16_t>(bytes[2] << 8 | bytes[3]);
  if (HasId(h.type, v6)) {
    h.has_id = true;
    h.id = static_cast<uint16_t>(bytes[4] << 8 | bytes[5]);
    h.seq = static_cast<uint16_t>(bytes[6] << 8 | bytes[7]);
  }
  return h;
}

std::string IcmpTypeCodeName(uint8_t type, uint8_t code, bool v6) {
  std::span<const TypeName> table =
      v6 ? std::span<const TypeName>(kIcmpV6) : std::span<const TypeName>(kIcmpV4);
  for (const TypeName& t : table) {
    if (t.type != type) continue;
    if (t.codes.empty()) return code == 0 ? std::string(t.name) : absl::StrCat(t.name, "(Code: ", code, ")");
    if (code < t.codes.size()) return absl::StrCat(t.name, "(", t.codes[code], ")");
    return absl::StrCat(t.name, "(Code: ", code, ")");
  }
  return absl::StrCat(type, "(", code, ")");
}

}  // namespace vigil::net
