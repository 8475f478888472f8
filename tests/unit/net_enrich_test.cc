// engine/src/net_enrich.cc: packet events' raw bytes rendered as Tracee's
// objects (DNS, HTTP, ICMP), answers remembered, connections given dst_dns.
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

std::string Names(const events::Event& e) {
  std::string out;
  for (const events::Arg& a : e.args) out += a.def->name + ",";
  return out;
}

TEST(NetworkEnricher, HttpRequestAndResponseAsTracee) {
  NetworkEnricher net;
  events::Event q;
  q.def = &Def("net_packet_http_request");
  AddArg(q, "metadata", std::string(Meta(IPPROTO_TCP, 40000, 8080)));
  AddArg(q, "http_request",
         std::string("GET http://10.0.0.2:8080/a/b?q=1#f HTTP/1.1\r\nhost: 10.0.0.2:8080\r\n"
                     "user-agent: curl/8.0\r\nAccept: */*\r\naccept: text/html\r\n\r\n"));
  net.Apply(q);
  EXPECT_EQ(Json(q.args[1]),
            R"({"method":"GET","protocol":"HTTP/1.1","host":"10.0.0.2:8080","uri_path":"/a/b",)"
            R"("headers":{"Accept":["*/*","text/html"],"User-Agent":["curl/8.0"]},"content_length":0})");
  EXPECT_FALSE(q.truncated);

  events::Event r;
  r.def = &Def("net_packet_http_response");
  AddArg(r, "metadata", std::string(Meta(IPPROTO_TCP, 8080, 40000)));
  AddArg(r, "http_response", std::string("HTTP/1.0 404 Not Found\r\nContent-Length: 12\r\nServer: x"));
  net.Apply(r);
  EXPECT_EQ(Json(r.args[1]), R"({"status":"404 Not Found","status_code":404,"protocol":"HTTP/1.0",)"
                             R"("headers":{"Content-Length":["12"]},"content_length":12})")
      << "a header line cut by the capture is not reported";
  EXPECT_TRUE(r.truncated) << "the head did not end within the capture";

  events::Event wrong;  // a response delivered as a request: no object
  wrong.def = &Def("net_packet_http_request");
  AddArg(wrong, "metadata", std::string(Meta(IPPROTO_TCP, 8080, 40000)));
  AddArg(wrong, "http_request", std::string("HTTP/1.1 200 OK\r\n\r\n"));
  net.Apply(wrong);
  EXPECT_EQ(Json(wrong.args[1]), "null");
}

TEST(NetworkEnricher, NetPacketHttpGetsTraceeSrcDstAndPorts) {
  NetworkEnricher net;
  events::Event e;
  e.def = &Def("net_packet_http");
  AddArg(e, "metadata", std::string(Meta(IPPROTO_TCP, 8080, 40000)));
  AddArg(e, "proto_http", std::string("HTTP/1.1 200 OK\r\n\r\n"));
  net.Apply(e);
  ASSERT_EQ(Names(e), "src,dst,src_port,dst_port,metadata,proto_http,");
  EXPECT_EQ(std::get<std::string>(e.args[0].value), "127.0.0.1");
  EXPECT_EQ(std::get<std::string>(e.args[1].value), "10.0.0.2");
  EXPECT_EQ(std::get<uint64_t>(e.args[2].value), 8080u);
  EXPECT_EQ(std::get<uint64_t>(e.args[3].value), 40000u);
  EXPECT_EQ(Json(e.args[4]), R"({"direction":"ingress"})");
  EXPECT_EQ(Json(e.args[5]), R"({"direction":"response","method":"","protocol":"HTTP/1.1","host":"",)"
                             R"("uri_path":"","status":"200 OK","status_code":200,"headers":{},)"
                             R"("content_length":-1})");
}

TEST(NetworkEnricher, IcmpAndIcmpv6) {
  NetworkEnricher net;
  events::Event e;
  e.def = &Def("net_packet_icmp");
  AddArg(e, "metadata", std::string(Meta(IPPROTO_ICMP, 0, 0)));
  AddArg(e, "proto_icmp", std::string("\x08\x00\x1f\xe7\x3f\xdd\x00\x01", 8));
  net.Apply(e);
  ASSERT_EQ(Names(e), "src,dst,metadata,proto_icmp,");
  EXPECT_EQ(Json(e.args[3]), R"({"typeCode":"EchoRequest","checksum":8167,"id":16349,"seq":1})");

  events::Event six;
  six.def = &Def("net_packet_icmpv6");
  vg_pkt_meta m{};
  m.family = AF_INET6;
  m.protocol = 58;
  m.direction = 3;
  inet_pton(AF_INET6, "::1", m.src);
  inet_pton(AF_INET6, "fe80::2", m.dst);
  AddArg(six, "metadata", std::string(reinterpret_cast<const char*>(&m), sizeof(m)));
  AddArg(six, "proto_icmpv6", std::string("\x01\x04\x00\x10\x00\x00\x00\x00", 8));
  net.Apply(six);
  EXPECT_EQ(std::get<std::string>(six.args[1].value), "fe80::2");
  EXPECT_EQ(Json(six.args[2]), R"({"direction":"egress"})");
  EXPECT_EQ(Json(six.args[3]),
            R"j({"typeCode":"DestinationUnreachable(PortUnreachable)","checksum":16,"id":0,"seq":0})j");

  events::Event cut;
  cut.def = &Def("net_packet_icmp");
  AddArg(cut, "metadata", std::string(Meta(IPPROTO_ICMP, 0, 0)));
  AddArg(cut, "proto_icmp", std::string("\x08\x00", 2));
  net.Apply(cut);
  EXPECT_EQ(Json(cut.args[3]), "null");
}

}  // namespace
}  // namespace vigil::engine
