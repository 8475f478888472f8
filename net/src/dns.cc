#include "vigil/net/dns.h"

#include <arpa/inet.h>

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace vigil::net {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameWire = 255;  // RFC 1035 3.1

// A byte in presentation format: `special` (a label's dot, a TXT string's
// quote) and the backslash escaped, bytes below `lowest` or above '~' as \DDD.
// Labels (RFC 4343) escape the space too; TXT strings, as dig shows them, do not.
void AppendEscaped(std::string& out, uint8_t c, char special, uint8_t lowest) {
  if (c == special || c == '\\') {
    out += '\\';
    out += static_cast<char>(c);
  } else if (c < lowest || c > 0x7e) {
    absl::StrAppendFormat(&out, "\\%03d", c);
  } else {
    out += static_cast<char>(c);
  }
}

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> packet) : packet_(packet) {}

  size_t offset() const { return offset_; }
  size_t size() const { return packet_.size(); }
  bool Has(size_t n) const { return n <= packet_.size() - offset_; }

  std::optional<uint8_t> U8() {
    if (!Has(1)) return std::nullopt;
    return packet_[offset_++];
  }
  std::optional<uint16_t> U16() {
    if (!Has(2)) return std::nullopt;
    uint16_t v = static_cast<uint16_t>(packet_[offset_] << 8 | packet_[offset_ + 1]);
    offset_ += 2;
    return v;
  }
  std::optional<uint32_t> U32() {
    auto hi = U16();
    auto lo = U16();
    if (!hi || !lo) return std::nullopt;
    return uint32_t{*hi} << 16 | *lo;
  }
  bool Skip(size_t n) {
    if (!Has(n)) return false;
    offset_ += n;
    return true;
  }

  // A possibly compressed name starting here; the reader moves past its
  // in-place part. Pointers must point strictly before the label that holds
  // them, so every jump goes backwards and a loop is impossible; the jump
  // count bounds the work anyway.
  std::optional<std::string> Name() {
    std::string out;
    size_t pos = offset_;
    std::optional<size_t> resume;  // where the reader continues after the first pointer
    size_t wire = 0;
    int jumps = 0;
    for (;;) {
      if (pos >= packet_.size()) return std::nullopt;
      uint8_t len = packet_[pos];
      if ((len & 0xc0) == 0xc0) {
        if (pos + 1 >= packet_.size()) return std::nullopt;
        size_t target = static_cast<size_t>(len & 0x3f) << 8 | packet_[pos + 1];
        if (target >= pos || ++jumps > kDnsMaxPointerJumps) return std::nullopt;
        if (!resume) resume = pos + 2;
        pos = target;
        continue;
      }
      if (len & 0xc0) return std::nullopt;  // 0x40/0x80: extended label types, obsolete
      wire += 1 + len;
      if (wire > kMaxNameWire) return std::nullopt;
      if (len == 0) {
        offset_ = resume ? *resume : pos + 1;
        if (out.empty()) out = ".";
        return out;
      }
      if (pos + 1 + len > packet_.size()) return std::nullopt;
      if (!out.empty()) out += '.';
      for (size_t i = pos + 1; i <= pos + len; ++i) AppendEscaped(out, packet_[i], '.', 0x21);
      pos += 1 + len;
    }
  }

  std::span<const uint8_t> Bytes(size_t n) {
    std::span<const uint8_t> s = packet_.subspan(offset_, n);
    offset_ += n;
    return s;
  }

  // A reader over the same packet (names inside rdata point anywhere in it)
  // positioned at `offset`.
  Reader At(size_t offset) const {
    Reader r(packet_);
    r.offset_ = offset;
    return r;
  }

 private:
  std::span<const uint8_t> packet_;
  size_t offset_ = 0;
};

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// TXT: length-prefixed strings; control bytes and quotes escaped as dig does.
std::optional<std::string> TxtData(std::span<const uint8_t> rdata) {
  std::string out;
  size_t i = 0;
  while (i < rdata.size()) {
    size_t len = rdata[i++];
    if (len > rdata.size() - i) return std::nullopt;
    if (!out.empty()) out += ' ';
    for (size_t j = i; j < i + len; ++j) AppendEscaped(out, rdata[j], '"', 0x20);
    i += len;
  }
  return out;
}

// Record data, readable. nullopt: the data is malformed (a name leaving the
// rdata or the packet), which ends parsing.
std::optional<std::string> RecordData(const Reader& packet, size_t start, uint16_t type, uint16_t rdlength,
                                      std::vector<uint8_t>& address) {
  Reader r = packet.At(start);
  const size_t end = start + rdlength;
  auto name_within = [&](Reader& reader) -> std::optional<std::string> {
    auto n = reader.Name();
    if (!n || reader.offset() > end) return std::nullopt;
    return n;
  };
  switch (type) {
    case 1:     // A
    case 28: {  // AAAA
      size_t want = type == 1 ? 4 : 16;
      if (rdlength != want) return std::nullopt;
      std::span<const uint8_t> bytes = r.Bytes(want);
      address.assign(bytes.begin(), bytes.end());
      char text[INET6_ADDRSTRLEN] = {};
      inet_ntop(type == 1 ? AF_INET : AF_INET6, bytes.data(), text, sizeof(text));
      return std::string(text);
    }
    case 2:   // NS
    case 5:   // CNAME
    case 12:  // PTR
    case 39:  // DNAME
      return name_within(r);
    case 15: {  // MX
      auto pref = r.U16();
      if (!pref || r.offset() > end) return std::nullopt;
      auto exchange = name_within(r);
      if (!exchange) return std::nullopt;
      return absl::StrCat(*pref, " ", *exchange);
    }
    case 16:  // TXT
      return TxtData(r.Bytes(rdlength));
    case 6: {  // SOA: the names and the serial (what tells zones apart)
      auto mname = name_within(r);
      if (!mname) return std::nullopt;
      auto rname = name_within(r);
      if (!rname) return std::nullopt;
      auto serial = r.U32();
      if (!serial || r.offset() > end) return std::nullopt;
      return absl::StrCat(*mname, " ", *rname, " ", *serial);
    }
    case 33: {  // SRV
      auto prio = r.U16();
      auto weight = r.U16();
      auto port = r.U16();
      if (!prio || !weight || !port || r.offset() > end) return std::nullopt;
      auto target = name_within(r);
      if (!target) return std::nullopt;
      return absl::StrCat(*prio, " ", *weight, " ", *port, " ", *target);
    }
    default:
      return Hex(r.Bytes(rdlength));
  }
}

// Reads `count` resource records into `out`; false when the packet ended or
// a record was malformed (the ones before it are kept).
bool ReadRecords(Reader& r, uint16_t count, std::vector<DnsRecord>& out) {
  for (uint16_t i = 0; i < count; ++i) {
    if (out.size() >= kDnsMaxRecordsPerSection) return false;
    DnsRecord rec;
    auto name = r.Name();
    if (!name) return false;
    auto type = r.U16();
    auto klass = r.U16();
    auto ttl = r.U32();
    auto rdlength = r.U16();
    if (!type || !klass || !ttl || !rdlength || !r.Has(*rdlength)) return false;
    size_t start = r.offset();
    rec.name = *std::move(name);
    rec.type = *type;
    rec.klass = *klass;
    rec.ttl = *ttl;
    if (rec.type == 41) {  // OPT (EDNS): a pseudo-record, its "class" is the UDP size
      rec.data = Hex(r.At(start).Bytes(*rdlength));
    } else {
      auto data = RecordData(r, start, rec.type, *rdlength, rec.address);
      if (!data) return false;
      rec.data = *std::move(data);
    }
    r.Skip(*rdlength);
    out.push_back(std::move(rec));
  }
  return true;
}

// A registered code's name (IANA's DNS parameters), or `prefix` and the number.
struct CodeName {
  uint16_t code;
  const char* name;
};
std::string NameOf(std::span<const CodeName> names, uint16_t code, const char* prefix) {
  for (const CodeName& n : names)
    if (n.code == code) return n.name;
  return absl::StrCat(prefix, code);
}

}  // namespace

absl::StatusOr<DnsMessage> ParseDns(std::span<const uint8_t> packet) {
  if (packet.size() < kHeaderSize)
    return absl::InvalidArgumentError(
        absl::StrFormat("DNS message of %d bytes is shorter than its 12-byte header", packet.size()));
  Reader r(packet);
  DnsMessage m;
  m.id = *r.U16();
  uint16_t flags = *r.U16();
  m.response = flags & 0x8000;
  m.opcode = (flags >> 11) & 0xf;
  m.authoritative = flags & 0x0400;
  m.truncated = flags & 0x0200;
  m.recursion_desired = flags & 0x0100;
  m.recursion_available = flags & 0x0080;
  m.rcode = flags & 0xf;
  m.qdcount = *r.U16();
  m.ancount = *r.U16();
  m.nscount = *r.U16();
  m.arcount = *r.U16();
  if (m.opcode == 3 || m.opcode > 6)
    return absl::InvalidArgumentError(absl::StrFormat("not a DNS message: opcode %d", m.opcode));
  // Each question takes at least 5 bytes and each record 11: counts that
  // could not fit a full-size (64 KiB) message mean this is not DNS.
  if (uint64_t{m.qdcount} * 5 + (uint64_t{m.ancount} + m.nscount + m.arcount) * 11 > 65535)
    return absl::InvalidArgumentError("not a DNS message: its record counts cannot fit in 64 KiB");

  for (uint16_t i = 0; i < m.qdcount; ++i) {
    if (m.questions.size() >= kDnsMaxRecordsPerSection) {
      m.incomplete = true;
      return m;
    }
    auto name = r.Name();
    auto type = name ? r.U16() : std::nullopt;
    auto klass = type ? r.U16() : std::nullopt;
    if (!klass) {
      m.incomplete = true;
      return m;
    }
    m.questions.push_back({*std::move(name), *type, *klass});
  }
  if (!ReadRecords(r, m.ancount, m.answers) || !ReadRecords(r, m.nscount, m.authorities) ||
      !ReadRecords(r, m.arcount, m.additionals))
    m.incomplete = true;
  return m;
}

absl::StatusOr<DnsMessage> ParseDnsTcp(std::span<const uint8_t> stream) {
  if (stream.size() < 2) return absl::InvalidArgumentError("DNS over TCP: no 2-byte length prefix");
  size_t declared = static_cast<size_t>(stream[0] << 8 | stream[1]);
  std::span<const uint8_t> body = stream.subspan(2);
  bool cut = body.size() < declared;
  if (!cut) body = body.first(declared);
  absl::StatusOr<DnsMessage> m = ParseDns(body);
  if (m.ok() && cut) m->incomplete = true;
  return m;
}

std::string DnsTypeName(uint16_t type) {
  static constexpr CodeName kTypes[] = {
      {1, "A"},     {2, "NS"},     {5, "CNAME"},  {6, "SOA"},   {12, "PTR"},    {13, "HINFO"},
      {15, "MX"},   {16, "TXT"},   {28, "AAAA"},  {33, "SRV"},  {35, "NAPTR"},  {39, "DNAME"},
      {41, "OPT"},  {43, "DS"},    {46, "RRSIG"}, {47, "NSEC"}, {48, "DNSKEY"}, {52, "TLSA"},
      {64, "SVCB"}, {65, "HTTPS"}, {99, "SPF"},   {255, "ANY"}, {256, "URI"},   {257, "CAA"}};
  return NameOf(kTypes, type, "TYPE");
}

std::string DnsClassName(uint16_t klass) {
  static constexpr CodeName kClasses[] = {{1, "IN"}, {3, "CH"}, {4, "HS"}, {254, "NONE"}, {255, "ANY"}};
  return NameOf(kClasses, klass, "CLASS");
}

std::string DnsRcodeName(uint8_t rcode) {
  static constexpr const char* kNames[] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                           "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
  if (rcode < std::size(kNames)) return kNames[rcode];
  return absl::StrCat(rcode);
}

std::string DnsOpcodeName(uint8_t opcode) {
  static constexpr CodeName kOpcodes[] = {{0, "QUERY"},  {1, "IQUERY"}, {2, "STATUS"},
                                          {4, "NOTIFY"}, {5, "UPDATE"}, {6, "DSO"}};
  return NameOf(kOpcodes, opcode, "");
}

}  // namespace vigil::net
