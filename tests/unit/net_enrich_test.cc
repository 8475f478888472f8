// engine/src/net_enrich.cc: DNS events' raw bytes rendered as Tracee's
// objects, answers remembered, connections given dst_dns.
#include "vigil/engine/net_enrich.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "synthetic_event.h"
#include "vigil_event.h"

namespace vigil::engine {
namespace {

using test_support::AddArg;
using test_support::Def;

std::string Meta(uint8_t protocol, uint16_t sport, uint16_t dport) {
  vg_pkt_meta m{};
  m.family = AF_INET;
  m.protocol = protocol;
  m.direction = 4;
  m.src_port = sport;
  m.dst_port = dport;
  m.packet_len = 77;
  inet_pton(AF_INET, "127.0.0.1", m.src);
  inet_pton(AF_INET, "10.0.0.2", m.dst);
  return std::string(reinterpret_cast<const char*>(&m), sizeof(m));
}

// A response for c2.example: A 198.51.100.9, TTL 120.
std::string Response() {
  std::vector<uint8_t> p = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
  for (const char* label : {"c2", "example"}) {
    p.push_back(static_cast<uint8_t>(std::strlen(label)));
    p.insert(p.end(), label, label + std::strlen(label));
  }
  p.insert(p.end(), {0, 0, 1, 0, 1, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 120, 0, 4, 198, 51, 100, 9});
  return std::string(p.begin(), p.end());
}

std::string Json(const events::Arg& a) {
  const auto* j = std::get_if<events::JsonText>(&a.value);
  return j ? j->text : "<not json>";
}

TEST(NetworkEnricher, RendersADnsResponseAndNamesTheConnectionAfterIt) {
  NetworkEnricher net;
  events::Event r;
  r.def = &Def("net_packet_dns_response");
  r.timestamp_ns = 1'000'000'000;
  AddArg(r, "metadata", std::string(Meta(IPPROTO_UDP, 53, 40000)));
  AddArg(r, "dns_response", Response());
  net.Apply(r);
  EXPECT_EQ(Json(r.args[0]),
            R"({"src_ip":"127.0.0.1","dst_ip":"10.0.0.2","src_port":53,"dst_port":40000,"protocol":17,)"
            R"("packet_len":77,"iface":"any"})");
  EXPECT_EQ(Json(r.args[1]), R"([{"query_data":{"query":"c2.example","query_type":"A","query_class":"IN"},)"
                             R"("dns_answer":[{"answer_type":"A","ttl":120,"answer":"198.51.100.9"}]}])");
  EXPECT_FALSE(r.truncated);

  events::Event c;
  c.def = &Def("security_socket_connect");
  c.timestamp_ns = 2'000'000'000;
  AddArg(c, "remote_addr",
         events::Fields{{"sa_family", "AF_INET"}, {"sin_addr", "198.51.100.9"}, {"sin_port", "443"}});
  net.Apply(c);
  const events::Arg* dns = c.FindArg("dst_dns");
  ASSERT_NE(dns, nullptr);
  EXPECT_EQ(std::get<std::string>(dns->value), "c2.example");

  events::Event other;
  other.def = &Def("net_tcp_connection");
  other.timestamp_ns = 2'000'000'000;
  AddArg(other, "dst", events::Fields{{"sa_family", "AF_INET"}, {"sin_addr", "198.51.100.10"}});
  net.Apply(other);
  EXPECT_EQ(other.FindArg("dst_dns"), nullptr) << "never resolved";
}

TEST(NetworkEnricher, TcpFramingAndGarbage) {
  NetworkEnricher net;
  events::Event q;
  q.def = &Def("net_packet_dns_request");
  std::string body = Response();
  body[2] = 0x01;  // a query
  body[3] = 0x00;
  std::string framed =
      std::string{static_cast<char>(body.size() >> 8), static_cast<char>(body.size() & 0xff)} + body;
  AddArg(q, "metadata", std::string(Meta(IPPROTO_TCP, 40000, 53)));
  AddArg(q, "dns_questions", framed);
  net.Apply(q);
  EXPECT_EQ(Json(q.args[1]), R"([{"query":"c2.example","query_type":"A","query_class":"IN"}])");

  events::Event bad;
  bad.def = &Def("net_packet_dns");
  AddArg(bad, "metadata", std::string("short"));
  AddArg(bad, "proto_dns", std::string("\x01\x02", 2));
  net.Apply(bad);
  EXPECT_EQ(Json(bad.args[0]), "null");
  EXPECT_EQ(Json(bad.args[1]), "null");
  EXPECT_EQ(net.cache().size(), 0u);
}

}  // namespace
}  // namespace vigil::engine
