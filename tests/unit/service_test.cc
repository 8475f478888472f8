// The service pieces without a kernel: health over time, the HTTP endpoints
// (bad requests and a stalled client change nothing), --listen parsing and
// the sd_notify messages a fake systemd socket receives.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vigil/engine/health.h"
#include "vigil/engine/http_server.h"
#include "vigil/engine/service_notify.h"

namespace vigil::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST(Health, LossesCountForTenSeconds) {
  const auto t0 = HealthTracker::Clock::time_point{} + 1000s;
  HealthTracker h(t0);
  EXPECT_TRUE(h.Update(t0 + 1s, {}).ok());
  Health lost = h.Update(t0 + 2s, {.lost_total = 5});
  EXPECT_THAT(lost.reasons, ElementsAre("5 events lost in the last 10 s"));
  EXPECT_FALSE(h.Update(t0 + 11s, {.lost_total = 5}).ok());  // 9 s after the loss
  EXPECT_TRUE(h.Update(t0 + 12500ms, {.lost_total = 5}).ok());
  EXPECT_THAT(h.Update(t0 + 13s, {.lost_total = 7}).reasons, ElementsAre("2 events lost in the last 10 s"));
}

TEST(Health, StartupLossesAreRecent) {
  const auto t0 = HealthTracker::Clock::time_point{} + 1000s;
  HealthTracker h(t0);
  EXPECT_FALSE(h.Update(t0 + 1s, {.lost_total = 1}).ok());
}

TEST(Health, FailingOutputsAndCancelledEvents) {
  HealthTracker h(HealthTracker::Clock::now());
  Health bad =
      h.Update(HealthTracker::Clock::now(), {.lost_total = 0,
                                             .failing_outputs = {"json:/var/log/vigil/events.json"},
                                             .cancelled_events = {"net_packet_ipv4", "cap_capable"}});
  EXPECT_THAT(bad.reasons, ElementsAre("output json:/var/log/vigil/events.json is failing",
                                       "selected events not attached: net_packet_ipv4,cap_capable"));
  EXPECT_EQ(bad.Json(),
            "{\"status\":\"unhealthy\",\"reasons\":[\"output json:/var/log/vigil/events.json is failing\","
            "\"selected events not attached: net_packet_ipv4,cap_capable\"]}\n");
  EXPECT_EQ(Health{}.Json(), "{\"status\":\"ok\"}\n");
}

TEST(ListenAddress, Parses) {
  auto a = ParseListenAddress("127.0.0.1:9090");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9090);
  a = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 0);
  for (const char* bad :
       {"9090", ":9090", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000", "::1:9090", "[]:1"}) {
    auto r = ParseListenAddress(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("expected ADDR:PORT")) << bad;
  }
}

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    board = std::make_shared<StatusBoard>();
    auto s = HttpServer::Start({"127.0.0.1", 0}, board);
    ASSERT_TRUE(s.ok()) << s.status();
    server = std::move(*s);
  }
  std::shared_ptr<StatusBoard> board;
  std::unique_ptr<HttpServer> server;
};

TEST_F(HttpTest, HealthzAndMetricsFollowTheBoard) {
  httplib::Client c("127.0.0.1", server->port());
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);  // nothing published yet: still starting
  EXPECT_THAT(r->body, HasSubstr("starting"));
  board->Publish({Health{}, "# TYPE vigil_events_emitted_total counter\nvigil_events_emitted_total 3\n"});
  r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"status\":\"ok\"}\n");
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, HasSubstr("vigil_events_emitted_total 3"));
  EXPECT_THAT(r->get_header_value("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
  board->Publish({Health{{"output json:/x is failing"}}, ""});
  r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_THAT(r->body, HasSubstr("output json:/x is failing"));
  r = c.Get("/nothing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

int ConnectTo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  return fd;
}

TEST_F(HttpTest, StalledClientsAndGarbageChangeNothing) {
  board->Publish({Health{}, "x 1\n"});
  // Two clients that connect and never finish a request: as many as the pool
  // has workers. They are dropped after the read timeout; then requests flow.
  int stalled1 = ConnectTo(server->port()), stalled2 = ConnectTo(server->port());
  ASSERT_EQ(write(stalled1, "GET /metr", 9), 9);
  int garbage = ConnectTo(server->port());
  const std::string junk = "\x01\x02 NOT HTTP\r\n\r\n";
  ASSERT_EQ(write(garbage, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  char buf[256];
  ssize_t n = read(garbage, buf, sizeof(buf) - 1);
  ASSERT_GT(n, 0);
  buf[n] = 0;
  EXPECT_THAT(std::string(buf), HasSubstr("400"));
  httplib::Client c("127.0.0.1", server->port());
  c.set_read_timeout(5, 0);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  // A request with a body over the limit is refused, not read.
  r = c.Post("/metrics", std::string(64 * 1024, 'x'), "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  close(stalled1);
  close(stalled2);
  close(garbage);
}

TEST(HttpServer, AddressInUseIsAnError) {
  auto board = std::make_shared<StatusBoard>();
  auto first = HttpServer::Start({"127.0.0.1", 0}, board);
  ASSERT_TRUE(first.ok());
  auto second = HttpServer::Start({"127.0.0.1", (*first)->port()}, board);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("cannot bind"));
}

class FakeSystemd {
 public:
  FakeSystemd() {
    path_ = "/tmp/vigil-notify-test." + std::to_string(getpid());
    unlink(path_.c_str());
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    strncpy(sa.sun_path, path_.c_str(), sizeof(sa.sun_path) - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~FakeSystemd() {
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    close(fd_);
    unlink(path_.c_str());
  }
  std::string Next() {
    char buf[512];
    ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    return n > 0 ? std::string(buf, n) : "";
  }

 private:
  std::string path_;
  int fd_;
};

TEST(ServiceNotifier, SendsTheProtocolMessages) {
  FakeSystemd systemd;
  setenv("WATCHDOG_USEC", "100000", 1);
  ServiceNotifier n;
  EXPECT_TRUE(n.active());
  EXPECT_EQ(n.watchdog_interval(), 100ms);
  n.Ready("running 3 events");
  EXPECT_EQ(systemd.Next(), "READY=1\nSTATUS=running 3 events");
  n.Watchdog();  // just after READY: too early
  EXPECT_EQ(systemd.Next(), "");
  std::this_thread::sleep_for(60ms);
  n.Watchdog();
  EXPECT_EQ(systemd.Next(), "WATCHDOG=1");
  n.Reloading();
  EXPECT_EQ(systemd.Next(), "RELOADING=1");
  n.Stopping();
  EXPECT_EQ(systemd.Next(), "STOPPING=1");
}

TEST(ServiceNotifier, NothingWithoutSystemd) {
  unsetenv("NOTIFY_SOCKET");
  ServiceNotifier n;
  EXPECT_FALSE(n.active());
  n.Ready("x");
  n.Watchdog();
  n.Stopping();
}

}  // namespace
}  // namespace vigil::engine
