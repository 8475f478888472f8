#include "vigil/engine/net_enrich.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "event_layout.h"
#include "vigil/engine/json.h"
#include "vigil/events/event_ids.h"
#include "vigil/net/dns.h"
#include "vigil/net/http.h"
#include "vigil/net/icmp.h"
#include "vigil_event.h"

namespace vigil::engine {
namespace {

using events::ArgFormat;
using events::JsonText;

struct Meta {
  vg_pkt_meta raw{};
  bool valid = false;
};

Meta ParseMeta(const std::string& bytes) {
  Meta m;
  if (bytes.size() != sizeof(vg_pkt_meta)) return m;
  std::memcpy(&m.raw, bytes.data(), sizeof(m.raw));
  m.valid = m.raw.family == AF_INET || m.raw.family == AF_INET6;
  return m;
}

std::string Address(const vg_pkt_meta& m, const uint8_t* addr) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(m.family == AF_INET ? AF_INET : AF_INET6, addr, text, sizeof(text));
  return text;
}

void Key(std::string& out, std::string_view key) {
  AppendJsonString(out, key);
  out += ':';
}

void Str(std::string& out, std::string_view key, std::string_view value) {
  Key(out, key);
  AppendJsonString(out, value);
}

// Tracee's PktMeta (iface is always "any" there too: one program for all).
std::string RenderMeta(const Meta& m) {
  if (!m.valid) return "null";
  std::string out = "{";
  Str(out, "src_ip", Address(m.raw, m.raw.src));
  out += ',';
  Str(out, "dst_ip", Address(m.raw, m.raw.dst));
  absl::StrAppend(&out, ",\"src_port\":", m.raw.src_port, ",\"dst_port\":", m.raw.dst_port,
                  ",\"protocol\":", m.raw.protocol, ",\"packet_len\":", m.raw.packet_len, ",");
  Str(out, "iface", "any");
  out += '}';
  return out;
}

// A name with its type and class, under the keys Tracee gives them in a question or a record.
struct NameKeys {
  std::string_view name, type, klass;
};
void NameTypeClass(std::string& out, const NameKeys& keys, std::string_view name, uint16_t type,
                   uint16_t klass) {
  Str(out, keys.name, name);
  out += ',';
  Str(out, keys.type, net::DnsTypeName(type));
  out += ',';
  Str(out, keys.klass, net::DnsClassName(klass));
}

void RenderQuestion(std::string& out, const net::DnsQuestion& q) {
  out += '{';
  NameTypeClass(out, {"query", "query_type", "query_class"}, q.name, q.type, q.klass);
  out += '}';
}

std::string RenderQuestions(const net::DnsMessage& m) {
  std::string out = "[";
  for (size_t i = 0; i < m.questions.size(); ++i) {
    if (i) out += ',';
    RenderQuestion(out, m.questions[i]);
  }
  out += ']';
  return out;
}

// Tracee's []DnsResponseData: the (first) question with every answer.
std::string RenderResponse(const net::DnsMessage& m) {
  if (m.questions.empty() && m.answers.empty()) return "[]";
  std::string out = "[{";
  Key(out, "query_data");
  if (m.questions.empty())
    out += "{}";
  else
    RenderQuestion(out, m.questions.front());
  out += ',';
  Key(out, "dns_answer");
  out += '[';
  for (size_t i = 0; i < m.answers.size(); ++i) {
    const net::DnsRecord& a = m.answers[i];
    if (i) out += ',';
    out += '{';
    Str(out, "answer_type", net::DnsTypeName(a.type));
    absl::StrAppend(&out, ",\"ttl\":", a.ttl, ",");
    Str(out, "answer", a.data);
    out += '}';
  }
  out += "]}]";
  return out;
}

// Tracee's name for a record's data, by the record's type: "data" for the types it does not name.
std::string_view RecordDataKey(uint16_t type) {
  static constexpr std::pair<uint16_t, std::string_view> kKeys[] = {{1, "IP"},    {28, "IP"},  {2, "NS"},
                                                                    {5, "CNAME"}, {12, "PTR"}, {16, "TXT"}};
  for (const auto& [t, key] : kKeys)
    if (t == type) return key;
  return "data";
}

void RenderRecords(std::string& out, std::string_view key, const std::vector<net::DnsRecord>& records) {
  Key(out, key);
  out += '[';
  for (size_t i = 0; i < records.size(); ++i) {
    const net::DnsRecord& r = records[i];
    if (i) out += ',';
    out += '{';
    NameTypeClass(out, {"name", "type", "class"}, r.name, r.type, r.klass);
    absl::StrAppend(&out, ",\"TTL\":", r.ttl, ",");
    Str(out, RecordDataKey(r.type), r.data);
    out += '}';
  }
  out += ']';
}

// Tracee's ProtoDNS, plus "incomplete" when the capture ended the message.
std::string RenderMessage(const net::DnsMessage& m) {
  std::string out = "{";
  absl::StrAppend(&out, "\"ID\":", m.id, ",\"QR\":", m.response ? 1 : 0, ",");
  Str(out, "opCode", absl::AsciiStrToLower(net::DnsOpcodeName(m.opcode)));
  absl::StrAppend(&out, ",\"AA\":", m.authoritative ? 1 : 0, ",\"TC\":", m.truncated ? 1 : 0,
                  ",\"RD\":", m.recursion_desired ? 1 : 0, ",\"RA\":", m.recursion_available ? 1 : 0, ",");
  Str(out, "responseCode", absl::AsciiStrToLower(net::DnsRcodeName(m.rcode)));
  absl::StrAppend(&out, ",\"QDCount\":", m.qdcount, ",\"ANCount\":", m.ancount, ",\"NSCount\":", m.nscount,
                  ",\"ARCount\":", m.arcount, ",");
  Key(out, "questions");
  out += '[';
  for (size_t i = 0; i < m.questions.size(); ++i) {
    if (i) out += ',';
    out += '{';
    Str(out, "name", m.questions[i].name);
    out += ',';
    Str(out, "type", net::DnsTypeName(m.questions[i].type));
    out += ',';
    Str(out, "class", net::DnsClassName(m.questions[i].klass));
    out += '}';
  }
  out += "],";
  RenderRecords(out, "answers", m.answers);
  out += ',';
  RenderRecords(out, "authorities", m.authorities);
  out += ',';
  RenderRecords(out, "additionals", m.additionals);
  if (m.incomplete) out += ",\"incomplete\":true";
  out += '}';
  return out;
}

// Tracee's PacketMetadata: the packet's direction.
std::string RenderDirection(const Meta& m) {
  if (!m.valid) return "null";
  return m.raw.direction == VG_DIR_EGRESS ? R"({"direction":"egress"})" : R"({"direction":"ingress"})";
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A header name as Go's textproto writes it (Tracee's keys): "user-agent"
// -> "User-Agent".
std::string CanonicalHeader(std::string_view name) {
  std::string out(name);
  bool upper = true;
  for (char& c : out) {
    c = upper ? absl::ascii_toupper(static_cast<unsigned char>(c))
              : absl::ascii_tolower(static_cast<unsigned char>(c));
    upper = c == '-';
  }
  return out;
}

// map[string][]string, keys sorted (as Go's encoder writes a map); a
// request's Host is its own field, as in Go's http.Request.
void RenderHeaders(std::string& out, const net::HttpHead& h) {
  std::map<std::string, std::vector<std::string>> headers;
  for (const auto& [name, value] : h.headers) {
    std::string key = CanonicalHeader(name);
    if (h.kind == net::HttpHead::Kind::kRequest && key == "Host") continue;
    headers[key].push_back(value);
  }
  Key(out, "headers");
  out += '{';
  bool first = true;
  for (const auto& [key, values] : headers) {
    if (!first) out += ',';
    first = false;
    Key(out, key);
    out += '[';
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) out += ',';
      AppendJsonString(out, values[i]);
    }
    out += ']';
  }
  out += '}';
}

// The request target's path (Go's URL.Path, not unescaped): no query or
// fragment, no scheme and authority of the absolute form a proxy gets.
std::string_view UriPath(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!target.starts_with(scheme)) continue;
    size_t slash = target.find('/', scheme.size());
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    break;
  }
  return target.substr(0, target.find_first_of("?#"));
}

// Content-Length as Go reports it: absent is 0 for a request (no body) and
// -1 (unknown) for a response.
int64_t ContentLength(const net::HttpHead& h) {
  if (h.content_length >= 0) return h.content_length;
  return h.kind == net::HttpHead::Kind::kRequest ? 0 : -1;
}

void RenderRequestFields(std::string& out, const net::HttpHead& h) {
  Str(out, "method", h.method);
  out += ',';
  Str(out, "protocol", h.protocol);
  out += ',';
  Str(out, "host", h.host);
  out += ',';
  Str(out, "uri_path", UriPath(h.path));
}

void RenderResponseFields(std::string& out, const net::HttpHead& h) {
  Str(out, "status", h.status);
  absl::StrAppend(&out, ",\"status_code\":", h.status_code, ",");
  Str(out, "protocol", h.protocol);
}

// ProtoHTTPRequest, ProtoHTTPResponse, or ProtoHTTP (both kinds, with
// "direction": "request" or "response"); null when the kind does not fit.
std::string RenderHttp(const net::HttpHead& h, ArgFormat f) {
  const bool request = h.kind == net::HttpHead::Kind::kRequest;
  if ((f == ArgFormat::kHttpRequest && !request) || (f == ArgFormat::kHttpResponse && request)) return "null";
  std::string out = "{";
  if (f == ArgFormat::kHttpMessage) {
    Str(out, "direction", request ? "request" : "response");
    out += ',';
    RenderRequestFields(out, h);
    out += ',';
    Str(out, "status", h.status);
    absl::StrAppend(&out, ",\"status_code\":", h.status_code);
  } else if (request) {
    RenderRequestFields(out, h);
  } else {
    RenderResponseFields(out, h);
  }
  out += ',';
  RenderHeaders(out, h);
  absl::StrAppend(&out, ",\"content_length\":", ContentLength(h), "}");
  return out;
}

// ProtoICMP / ProtoICMPv6 (id and seq are 0 for messages without them).
std::string RenderIcmp(const net::IcmpHeader& h, bool v6) {
  std::string out = "{";
  Str(out, "typeCode", net::IcmpTypeCodeName(h.type, h.code, v6));
  absl::StrAppend(&out, ",\"checksum\":", h.checksum, ",\"id\":", h.id, ",\"seq\":", h.seq, "}");
  return out;
}

}  // namespace

// net_packet_http*, net_packet_icmp*: the metadata and the payload rendered,
// and Tracee's src/dst (and ports) arguments taken from the metadata.
void NetworkEnricher::ApplyPayload(events::Event& e) {
  Meta meta;
  for (events::Arg& a : e.args) {
    if (a.def == nullptr) continue;
    if (a.def->format != ArgFormat::kPacketMetadata && a.def->format != ArgFormat::kPacketDirection) continue;
    if (const auto* raw = std::get_if<std::string>(&a.value)) meta = ParseMeta(*raw);
    a.value =
        JsonText{a.def->format == ArgFormat::kPacketMetadata ? RenderMeta(meta) : RenderDirection(meta)};
  }
  for (events::Arg& a : e.args) {
    if (a.def == nullptr) continue;
    const ArgFormat f = a.def->format;
    const auto* raw = std::get_if<std::string>(&a.value);
    if (f == ArgFormat::kHttpMessage || f == ArgFormat::kHttpRequest || f == ArgFormat::kHttpResponse) {
      std::optional<net::HttpHead> h = raw ? net::ParseHttpHead(AsBytes(*raw)) : std::nullopt;
      if (h && h->incomplete) e.truncated = true;
      a.value = JsonText{h ? RenderHttp(*h, f) : "null"};
    } else if (f == ArgFormat::kIcmp || f == ArgFormat::kIcmpv6) {
      const bool v6 = f == ArgFormat::kIcmpv6;
      std::optional<net::IcmpHeader> h = raw ? net::ParseIcmp(AsBytes(*raw), v6) : std::nullopt;
      a.value = JsonText{h ? RenderIcmp(*h, v6) : "null"};
    }
  }
  if (!meta.valid) return;
  for (size_t i = 0; i < e.def->args.size(); ++i) {
    const events::ArgDef& def = e.def->args[i];
    if (e.ArgAt(static_cast<int>(i)) != nullptr) continue;
    events::Value v;
    if (def.name == "src")
      v = Address(meta.raw, meta.raw.src);
    else if (def.name == "dst")
      v = Address(meta.raw, meta.raw.dst);
    else if (def.name == "src_port")
      v = uint64_t{meta.raw.src_port};
    else if (def.name == "dst_port")
      v = uint64_t{meta.raw.dst_port};
    else
      continue;
    e.SetArg(i).value = std::move(v);  // at its index: shown in definition order
  }
}

void NetworkEnricher::Apply(events::Event& e) {
  const uint32_t id = e.def->id;
  if (id == events::kSecuritySocketConnect) return AddDstDns(e, remote_addr_);
  if (id == events::kNetTcpConnection) return AddDstDns(e, dst_);
  if (id == events::kNetPacketHttp || id == events::kNetPacketHttpRequest ||
      id == events::kNetPacketHttpResponse || id == events::kNetPacketIcmp || id == events::kNetPacketIcmpv6)
    return ApplyPayload(e);
  if (id != events::kNetPacketDns && id != events::kNetPacketDnsRequest &&
      id != events::kNetPacketDnsResponse)
    return;
  Meta meta;
  for (events::Arg& a : e.args) {
    if (a.def == nullptr || a.def->format != ArgFormat::kPacketMetadata) continue;
    if (const auto* raw = std::get_if<std::string>(&a.value)) meta = ParseMeta(*raw);
    a.value = JsonText{RenderMeta(meta)};
  }
  for (events::Arg& a : e.args) {
    if (a.def == nullptr) continue;
    const ArgFormat f = a.def->format;
    if (f != ArgFormat::kDnsMessage && f != ArgFormat::kDnsQuestions && f != ArgFormat::kDnsResponse)
      continue;
    const auto* raw = std::get_if<std::string>(&a.value);
    std::optional<net::DnsMessage> m;
    if (raw != nullptr) {
      std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(raw->data()), raw->size());
      auto parsed =
          meta.valid && meta.raw.protocol == IPPROTO_TCP ? net::ParseDnsTcp(bytes) : net::ParseDns(bytes);
      if (parsed.ok()) m = *std::move(parsed);
    }
    if (!m) {
      a.value = JsonText{f == ArgFormat::kDnsMessage ? "null" : "[]"};
      continue;
    }
    if (m->incomplete) e.truncated = true;
    if (m->response) cache_.AddResponse(*m, e.timestamp_ns);
    a.value = JsonText{f == ArgFormat::kDnsMessage     ? RenderMessage(*m)
                       : f == ArgFormat::kDnsQuestions ? RenderQuestions(*m)
                                                       : RenderResponse(*m)};
  }
}

void NetworkEnricher::AddDstDns(events::Event& e, events::ArgRef& addr_arg) {
  if (cache_.size() == 0) return;
  const events::Arg* addr = addr_arg.Get(e);
  const auto* fields = addr ? std::get_if<events::Fields>(&addr->value) : nullptr;
  if (fields == nullptr) return;
  for (const auto& [key, value] : *fields) {
    if (key != "sin_addr" && key != "sin6_addr") continue;
    std::optional<std::string_view> name = cache_.Lookup(value, e.timestamp_ns);
    if (!name) return;
    const int dst_dns = dst_dns_.Index(e.def);
    if (dst_dns < 0 || e.ArgAt(dst_dns) != nullptr) return;
    e.SetArg(dst_dns).value = std::string(*name);
    return;
  }
}

}  // namespace vigil::engine
