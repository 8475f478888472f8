// net/: the DNS, HTTP and ICMP decoders and the DNS cache, on packets
// built byte by byte here (including hostile ones).
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vigil/net/dns.h"
#include "vigil/net/dns_cache.h"
#include "vigil/net/http.h"
#include "vigil/net/icmp.h"

namespace vigil::net {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

// Builds DNS messages in wire format.
class Packet {
 public:
  Packet& U8(uint8_t v) {
    bytes.push_back(v);
    return *this;
  }
  Packet& U16(uint16_t v) { return U8(v >> 8).U8(v & 0xff); }
  Packet& U32(uint32_t v) { return U16(v >> 16).U16(v & 0xffff); }
  Packet& Raw(std::initializer_list<uint8_t> v) {
    bytes.insert(bytes.end(), v);
    return *this;
  }
  Packet& Text(std::string_view s) {
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  // "www.example.com" as labels, ending in the root.
  Packet& Name(std::string_view dotted) {
    size_t start = 0;
    while (start < dotted.size()) {
      size_t dot = dotted.find('.', start);
      if (dot == std::string_view::npos) dot = dotted.size();
      U8(static_cast<uint8_t>(dot - start)).Text(dotted.substr(start, dot - start));
      start = dot + 1;
    }
    return U8(0);
  }
  Packet& Pointer(uint16_t offset) { return U16(0xc000 | offset); }
  Packet& Header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns = 0, uint16_t ar = 0) {
    return U16(id).U16(flags).U16(qd).U16(an).U16(ns).U16(ar);
  }
  size_t size() const { return bytes.size(); }
  std::vector<uint8_t> bytes;
};

// The message of `p`, which must parse but be marked incomplete: the parser
// stopped at what it refuses, keeping what came before.
DnsMessage ParsedIncomplete(const Packet& p) {
  absl::StatusOr<DnsMessage> m = ParseDns(p.bytes);
  if (!m.ok()) {
    ADD_FAILURE() << m.status();
    return {};
  }
  EXPECT_TRUE(m->incomplete);
  return *m;
}

std::span<const uint8_t> Span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Dns, Query) {
  Packet p;
  p.Header(0x1234, 0x0100, 1, 0).Name("www.example.com").U16(1).U16(1);
  auto m = ParseDns(p.bytes);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->id, 0x1234);
  EXPECT_FALSE(m->response);
  EXPECT_TRUE(m->recursion_desired);
  EXPECT_FALSE(m->incomplete);
  ASSERT_EQ(m->questions.size(), 1u);
  EXPECT_EQ(m->questions[0].name, "www.example.com");
  EXPECT_EQ(DnsTypeName(m->questions[0].type), "A");
  EXPECT_EQ(DnsClassName(m->questions[0].klass), "IN");
}

// A response with a CNAME chain, compression pointers back into the question
// and into the CNAME's data, an A, an AAAA, a TXT, an MX and a PTR.
TEST(Dns, ResponseWithEveryCommonType) {
  Packet p;
  p.Header(7, 0x8180, 1, 6);
  const uint16_t qname = static_cast<uint16_t>(p.size());
  p.Name("www.example.com").U16(1).U16(1);
  // www.example.com CNAME edge.cdn.net
  p.Pointer(qname).U16(5).U16(1).U32(300);
  Packet cname;
  cname.Name("edge.cdn.net");
  p.U16(static_cast<uint16_t>(cname.size()));
  const uint16_t edge = static_cast<uint16_t>(p.size());
  p.Raw({}).bytes.insert(p.bytes.end(), cname.bytes.begin(), cname.bytes.end());
  // edge.cdn.net A 93.184.216.34
  p.Pointer(edge).U16(1).U16(1).U32(60).U16(4).Raw({93, 184, 216, 34});
  // edge.cdn.net AAAA 2001:db8::1
  p.Pointer(edge).U16(28).U16(1).U32(60).U16(16).Raw(
      {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  // TXT "v=spf1" "a\"b"
  p.Pointer(qname).U16(16).U16(1).U32(5).U16(11).U8(6).Text("v=spf1").U8(3).Text("a\"b");
  // MX 10 mail.<pointer to example.com>
  p.Pointer(qname).U16(15).U16(1).U32(5).U16(2 + 7).U16(10).U8(4).Text("mail").Pointer(qname + 4);
  // PTR
  p.Pointer(qname).U16(12).U16(1).U32(5).U16(2).Pointer(edge);

  auto m = ParseDns(p.bytes);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->response);
  EXPECT_EQ(DnsRcodeName(m->rcode), "NOERROR");
  EXPECT_FALSE(m->incomplete);
  ASSERT_EQ(m->answers.size(), 6u);
  EXPECT_EQ(m->answers[0].name, "www.example.com");
  EXPECT_EQ(DnsTypeName(m->answers[0].type), "CNAME");
  EXPECT_EQ(m->answers[0].ttl, 300u);
  EXPECT_EQ(m->answers[0].data, "edge.cdn.net");
  EXPECT_EQ(m->answers[1].name, "edge.cdn.net");
  EXPECT_EQ(m->answers[1].data, "93.184.216.34");
  EXPECT_THAT(m->answers[1].address, ElementsAre(93, 184, 216, 34));
  EXPECT_EQ(m->answers[2].data, "2001:db8::1");
  EXPECT_EQ(DnsTypeName(m->answers[2].type), "AAAA");
  EXPECT_EQ(m->answers[3].data, "v=spf1 a\\\"b");
  EXPECT_EQ(m->answers[4].data, "10 mail.example.com");
  EXPECT_EQ(m->answers[5].data, "edge.cdn.net");
}

TEST(Dns, ShortHeaderIsAnError) {
  std::vector<uint8_t> p = {0, 1, 0, 0, 0, 1};
  auto m = ParseDns(p);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), ::testing::HasSubstr("12-byte header"));
}

TEST(Dns, ImpossibleCountsAreNotDns) {
  Packet p;
  p.Header(1, 0, 0xffff, 0xffff, 0xffff, 0xffff);
  EXPECT_FALSE(ParseDns(p.bytes).ok());
}

TEST(Dns, PointerLoopEndsParsing) {
  Packet p;
  p.Header(1, 0x8180, 1, 1).Name("a.example").U16(1).U16(1);
  const uint16_t self = static_cast<uint16_t>(p.size());
  p.Pointer(self).U16(1).U16(1).U32(1).U16(4).Raw({1, 2, 3, 4});  // points at itself
  DnsMessage m = ParsedIncomplete(p);
  EXPECT_EQ(m.questions.size(), 1u);
  EXPECT_TRUE(m.answers.empty());
}

TEST(Dns, ForwardPointerIsRefused) {
  Packet p;
  p.Header(1, 0, 1, 0).Pointer(14).Name("x").U16(1).U16(1);
  EXPECT_TRUE(ParsedIncomplete(p).questions.empty());
}

// A chain of backward pointers (each to the one before), carried in an
// unknown record's data; a second record's name enters the chain at its end.
DnsMessage ChainOf(int jumps) {
  Packet p;
  p.Header(1, 0x8180, 0, 2);
  p.U8(1).Text("a").U8(0).U16(65280).U16(1).U32(0).U16(static_cast<uint16_t>(2 * jumps));
  uint16_t prev = 12;
  for (int i = 0; i < jumps; ++i) {
    uint16_t here = static_cast<uint16_t>(p.size());
    p.Pointer(prev);
    prev = here;
  }
  p.Pointer(prev).U16(1).U16(1).U32(1).U16(4).Raw({1, 2, 3, 4});
  auto m = ParseDns(p.bytes);
  EXPECT_TRUE(m.ok());
  return *m;
}

TEST(Dns, PointerChainsAreBounded) {
  DnsMessage ok = ChainOf(kDnsMaxPointerJumps - 1);  // plus the record's own pointer
  EXPECT_FALSE(ok.incomplete);
  ASSERT_EQ(ok.answers.size(), 2u);
  EXPECT_EQ(ok.answers[1].name, "a");
  EXPECT_EQ(ok.answers[1].data, "1.2.3.4");

  DnsMessage refused = ChainOf(kDnsMaxPointerJumps + 5);
  EXPECT_TRUE(refused.incomplete);
  EXPECT_EQ(refused.answers.size(), 1u);
}

TEST(Dns, TruncatedAnswerKeepsWhatCameBefore) {
  Packet p;
  p.Header(9, 0x8180, 1, 2).Name("t.example").U16(1).U16(1);
  p.Pointer(12).U16(1).U16(1).U32(30).U16(4).Raw({10, 0, 0, 1});
  p.Pointer(12).U16(1).U16(1).U32(30).U16(4).Raw({10, 0});  // cut by the capture
  DnsMessage m = ParsedIncomplete(p);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].data, "10.0.0.1");
}

TEST(Dns, BadAddressLengthEndsParsing) {
  Packet p;
  p.Header(9, 0x8180, 1, 1).Name("t.example").U16(1).U16(1);
  p.Pointer(12).U16(1).U16(1).U32(30).U16(3).Raw({10, 0, 0});
  EXPECT_TRUE(ParsedIncomplete(p).answers.empty());
}

TEST(Dns, OverlongNameIsRefused) {
  Packet p;
  p.Header(1, 0, 1, 0);
  for (int i = 0; i < 5; ++i) p.U8(63).Text(std::string(63, 'a'));  // 320 bytes > 255
  p.U8(0).U16(1).U16(1);
  EXPECT_TRUE(ParsedIncomplete(p).questions.empty());
}

TEST(Dns, LabelBytesAreEscaped) {
  Packet p;
  p.Header(1, 0, 1, 0).U8(3).Raw({'a', '.', 0x01}).U8(0).U16(16).U16(1);
  auto m = ParseDns(p.bytes);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->questions.size(), 1u);
  EXPECT_EQ(m->questions[0].name, "a\\.\\001");
  EXPECT_EQ(DnsTypeName(m->questions[0].type), "TXT");
}

TEST(Dns, RootAndUnknownNames) {
  Packet p;
  p.Header(1, 0, 1, 0).U8(0).U16(65280).U16(3);
  auto m = ParseDns(p.bytes);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->questions[0].name, ".");
  EXPECT_EQ(DnsTypeName(65280), "TYPE65280");
  EXPECT_EQ(DnsClassName(3), "CH");
  EXPECT_EQ(DnsClassName(7), "CLASS7");
}

TEST(Dns, TcpLengthPrefix) {
  Packet body;
  body.Header(5, 0x0100, 1, 0).Name("tcp.example").U16(28).U16(1);
  Packet stream;
  stream.U16(static_cast<uint16_t>(body.size()));
  stream.bytes.insert(stream.bytes.end(), body.bytes.begin(), body.bytes.end());
  stream.Raw({0xde, 0xad});  // the next message's first bytes: ignored
  auto m = ParseDnsTcp(stream.bytes);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->incomplete);
  EXPECT_EQ(m->questions.at(0).name, "tcp.example");
  EXPECT_EQ(DnsTypeName(m->questions[0].type), "AAAA");

  // Declared longer than captured: kept, marked incomplete.
  stream.bytes.resize(2 + body.size() - 1);
  stream.bytes[1] = static_cast<uint8_t>(body.size() + 10);
  auto cut = ParseDnsTcp(stream.bytes);
  ASSERT_TRUE(cut.ok());
  EXPECT_TRUE(cut->incomplete);

  std::vector<uint8_t> one = {0};
  EXPECT_FALSE(ParseDnsTcp(one).ok());
}

TEST(DnsCache, NamesAddressesByTheQuestionAndExpires) {
  Packet p;
  p.Header(7, 0x8180, 1, 2).Name("c2.evil.example").U16(1).U16(1);
  p.Pointer(12).U16(5).U16(1).U32(10).U16(2).Pointer(12);
  p.Pointer(12).U16(1).U16(1).U32(120).U16(4).Raw({203, 0, 113, 7});
  auto m = ParseDns(p.bytes);
  ASSERT_TRUE(m.ok());
  DnsCache cache(4);
  const uint64_t t0 = 1'000'000'000'000;
  cache.AddResponse(*m, t0);
  ASSERT_TRUE(cache.Lookup("203.0.113.7", t0).has_value());
  EXPECT_EQ(*cache.Lookup("203.0.113.7", t0), "c2.evil.example");
  EXPECT_FALSE(cache.Lookup("203.0.113.8", t0).has_value());
  EXPECT_TRUE(cache.Lookup("203.0.113.7", t0 + 119'000'000'000).has_value());
  EXPECT_FALSE(cache.Lookup("203.0.113.7", t0 + 121'000'000'000).has_value());
  EXPECT_EQ(cache.size(), 0u);  // expired entries leave on lookup
}

TEST(DnsCache, TtlFloorAndErrorsAndQueries) {
  Packet p;
  p.Header(7, 0x8180, 1, 1).Name("zero.example").U16(1).U16(1);
  p.Pointer(12).U16(1).U16(1).U32(0).U16(4).Raw({10, 1, 1, 1});
  auto m = ParseDns(p.bytes);
  ASSERT_TRUE(m.ok());
  DnsCache cache;
  cache.AddResponse(*m, 0);
  EXPECT_TRUE(cache.Lookup("10.1.1.1", 59'000'000'000).has_value());  // TTL 0 raised to 60 s

  DnsCache other;
  m->rcode = 3;  // NXDOMAIN adds nothing
  other.AddResponse(*m, 0);
  m->rcode = 0;
  m->response = false;  // nor does a query
  other.AddResponse(*m, 0);
  EXPECT_EQ(other.size(), 0u);
}

TEST(DnsCache, BoundedOldestFirst) {
  DnsCache cache(2);
  for (uint8_t i = 1; i <= 3; ++i) {
    DnsMessage m;
    m.response = true;
    m.questions.push_back({"h" + std::to_string(i), 1, 1});
    DnsRecord r;
    r.address = {10, 0, 0, i};
    r.ttl = 300;
    m.answers.push_back(r);
    cache.AddResponse(m, 0);
  }
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.Lookup("10.0.0.1", 1).has_value());
  EXPECT_EQ(*cache.Lookup("10.0.0.3", 1), "h3");
}

TEST(Http, Request) {
  std::string req =
      "GET /download/payload.sh?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/7.88.1\r\n"
      "Accept: */*\r\nContent-Length: 12\r\n\r\nbody";
  auto h = ParseHttpHead(Span(req));
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->kind, HttpHead::Kind::kRequest);
  EXPECT_EQ(h->method, "GET");
  EXPECT_EQ(h->path, "/download/payload.sh?x=1");
  EXPECT_EQ(h->protocol, "HTTP/1.1");
  EXPECT_EQ(h->host, "example.com:8080");
  EXPECT_EQ(h->user_agent, "curl/7.88.1");
  EXPECT_EQ(h->content_length, 12);
  EXPECT_FALSE(h->incomplete);
  EXPECT_EQ(h->headers.size(), 4u);
}

TEST(Http, Response) {
  std::string resp = "HTTP/1.0 404 Not Found\r\nServer: SimpleHTTP/0.6\r\nContent-Length: 469\r\n\r\n";
  auto h = ParseHttpHead(Span(resp));
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->kind, HttpHead::Kind::kResponse);
  EXPECT_EQ(h->status_code, 404);
  EXPECT_EQ(h->status, "404 Not Found");
  EXPECT_EQ(h->protocol, "HTTP/1.0");
  EXPECT_EQ(h->content_length, 469);
}

TEST(Http, NotHttp) {
  for (std::string s :
       {std::string("\x16\x03\x01\x02\x00", 5), std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        std::string("GET"), std::string("GETX / HTTP/1.1\r\n"), std::string("GET / HTTP/2\r\n"),
        std::string("HTTP/1.1 2x0 OK\r\n"), std::string("SSH-2.0-OpenSSH_9.2\r\n"), std::string("")})
    EXPECT_FALSE(ParseHttpHead(Span(s)).has_value()) << s;
}

TEST(Http, CutHeadAndBadContentLength) {
  std::string s = "POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 12abc\r\nX-Cut: par";
  auto h = ParseHttpHead(Span(s));
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->incomplete);
  EXPECT_EQ(h->method, "POST");
  EXPECT_EQ(h->host, "a");
  EXPECT_EQ(h->content_length, -1);

  std::string line_only = "GET /very/long/path-cut-by-the-capt";
  EXPECT_FALSE(ParseHttpHead(Span(line_only)).has_value());  // no version yet: not provably HTTP
}

TEST(Http, ControlBytesAreDroppedAndHeadersBounded) {
  std::string s =
      "GET /a\x01"
      "b HTTP/1.1\r\nUser-Agent: x\x1b[31my\r\n";
  for (int i = 0; i < 100; ++i) s += "X-H: v\r\n";
  s += "\r\n";
  auto h = ParseHttpHead(Span(s));
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->path, "/ab");
  EXPECT_EQ(h->user_agent, "x[31my");
  EXPECT_EQ(h->headers.size(), kHttpMaxHeaders);
}

TEST(Icmp, EchoAndErrors) {
  std::vector<uint8_t> echo = {8, 0, 0xf7, 0xff, 0x12, 0x34, 0x00, 0x01};
  auto h = ParseIcmp(echo, false);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->type, 8);
  EXPECT_TRUE(h->has_id);
  EXPECT_EQ(h->id, 0x1234);
  EXPECT_EQ(h->seq, 1);
  EXPECT_EQ(h->checksum, 0xf7ff);
  EXPECT_EQ(IcmpTypeCodeName(8, 0, false), "EchoRequest");
  EXPECT_EQ(IcmpTypeCodeName(3, 3, false), "DestinationUnreachable(Port)");
  EXPECT_EQ(IcmpTypeCodeName(3, 99, false), "DestinationUnreachable(Code: 99)");
  EXPECT_EQ(IcmpTypeCodeName(200, 1, false), "200(1)");

  std::vector<uint8_t> unreach = {3, 3, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd};
  auto u = ParseIcmp(unreach, false);
  ASSERT_TRUE(u.has_value());
  EXPECT_FALSE(u->has_id);
  EXPECT_EQ(u->id, 0);

  std::vector<uint8_t> v6 = {129, 0, 0, 0, 0, 7, 0, 2};
  auto e6 = ParseIcmp(v6, true);
  ASSERT_TRUE(e6.has_value());
  EXPECT_EQ(e6->id, 7);
  EXPECT_EQ(e6->seq, 2);
  EXPECT_EQ(IcmpTypeCodeName(129, 0, true), "EchoReply");
  EXPECT_EQ(IcmpTypeCodeName(135, 0, true), "NeighborSolicitation");

  std::vector<uint8_t> short_header = {8, 0, 0};
  EXPECT_FALSE(ParseIcmp(short_header, false).has_value());
}

}  // namespace
}  // namespace vigil::net
