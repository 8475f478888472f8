// Kernel tests of the kernel side's hardening (issue 9 items 7 and 8): the
// tricks that made kernel tables fill silently, and records built while a
// softirq program shared their scratch buffer, performed for real by child
// processes (the sensor never reports its own process).
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "harness.h"
#include "vigil/engine/bpf_sensor.h"

namespace vigil::ktest {
namespace {

using engine::BpfSensor;
using events::Event;

class HardeningTest : public BpfTest {};

size_t Entries(Sensor& s, const char* map) {
  absl::StatusOr<size_t> n = s.bpf().MapEntryCount(map);
  EXPECT_TRUE(n.ok()) << n.status().message();
  return n.ok() ? *n : 0;
}

// ------------------------------------------------------------ cred_at_entry

// A thread other than the leader calls execve: the exec gives it the
// leader's tid, so the credentials privilege_gained stashed at the entry
// under the thread's tid used to stay behind, one entry per exec.
void* ExecTrue(void*) {
  char* const argv[] = {const_cast<char*>("true"), nullptr};
  execv("/bin/true", argv);
  _exit(127);
}

TEST_F(HardeningTest, ExecsFromNonLeaderThreadsLeaveNoCredentialsBehind) {
  BpfSensor::Options options;
  options.track_processes = true;  // sched_process_exec moves the entry
  auto s = Sensor::Start({"privilege_gained"}, options);
  ASSERT_NE(s, nullptr);
  const size_t before = Entries(*s, "cred_at_entry");
  constexpr int kExecs = 200;
  for (int i = 0; i < kExecs; ++i) {
    pid_t child = Spawn([] {
      pthread_t t;
      if (pthread_create(&t, nullptr, ExecTrue, nullptr) != 0) return 1;
      pthread_join(t, nullptr);  // never returns: the exec replaces the process
      return 2;
    });
    ASSERT_EQ(WaitExit(child), 0) << "exec #" << i << " from a non-leader thread";
  }
  const size_t after = Entries(*s, "cred_at_entry");
  // Other processes on the machine may be inside a syscall right now: a few
  // entries, never one per exec.
  EXPECT_LT(after, before + kExecs / 4) << "cred_at_entry grew from " << before << " to " << after << " after "
                                        << kExecs << " non-leader execs";
}

// ------------------------------------------------------------ tcp_connecting

// Brings lo up and routes 10.99.0.0/16 through it in this (new) network
// namespace: SYNs to those addresses loop back to a host that does not
// forward them, so the connects stay in SYN_SENT (a black hole).
bool MakeBlackHole() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags |= IFF_UP;
  ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  rtentry rt{};
  auto* dst = reinterpret_cast<sockaddr_in*>(&rt.rt_dst);
  dst->sin_family = AF_INET;
  inet_pton(AF_INET, "10.99.0.0", &dst->sin_addr);
  auto* mask = reinterpret_cast<sockaddr_in*>(&rt.rt_genmask);
  mask->sin_family = AF_INET;
  inet_pton(AF_INET, "255.255.0.0", &mask->sin_addr);
  char dev[] = "lo";
  rt.rt_dev = dev;
  rt.rt_flags = RTF_UP;
  ok = ok && ioctl(fd, SIOCADDRT, &rt) == 0;
  close(fd);
  return ok;
}

TEST_F(HardeningTest, ConnectsToABlackHoleBeyondTheTableAreCountedAndTheirEntriesGo) {
  auto s = Sensor::Start({"net_tcp_connection"});
  ASSERT_NE(s, nullptr);
  constexpr int kCapacity = 8192;  // tcp_connecting's max_entries
  constexpr int kConnects = kCapacity + 300;
  const uint64_t full_before = s->bpf().ReadCounters().map_full;
  IntPipe pending, release;
  pid_t child = Spawn([&] {
    if (unshare(CLONE_NEWNET) != 0 || !MakeBlackHole()) return 1;
    rlimit nofile{kConnects + 64, kConnects + 64};
    if (setrlimit(RLIMIT_NOFILE, &nofile) != 0) return 2;
    int started = 0;
    for (int i = 0; i < kConnects; ++i) {
      int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c < 0) return 3;
      sockaddr_in sin{.sin_family = AF_INET, .sin_port = htons(80), .sin_addr = {}};
      sin.sin_addr.s_addr = htonl((10u << 24) | (99u << 16) | static_cast<uint32_t>(i + 1));
      if (connect(c, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0 && errno == EINPROGRESS) ++started;
    }
    pending.Send(started);
    release.Receive();
    return 0;  // exiting closes them all: SYN_SENT -> CLOSE
  });
  const int64_t started = pending.Receive();
  ASSERT_EQ(started, kConnects) << "every connect must be pending (EINPROGRESS)";
  const uint64_t full = s->bpf().ReadCounters().map_full - full_before;
  const size_t held = Entries(*s, "tcp_connecting");
  release.Send(1);
  ASSERT_EQ(WaitExit(child), 0);
  EXPECT_LE(held, static_cast<size_t>(kCapacity));
  EXPECT_GE(full, static_cast<uint64_t>(kConnects - kCapacity))
      << "the connects that found tcp_connecting full are counted (map_full)";
  // Closed, they leave the table (SYN_SENT -> CLOSE deletes them).
  size_t left = held;
  s->DrainUntil(
      [&] {
        left = Entries(*s, "tcp_connecting");
        return left < 500;
      },
      10000);
  EXPECT_LT(left, 500u) << "the closed black-hole connects stayed in tcp_connecting";
}

// ------------------------------------------------------------ tcp_listening

// Two processes listen on the same port, on two addresses: each inbound
// connection is the process that listens where it arrived (keyed by port
// only, the second listener's context replaced the first's).
TEST_F(HardeningTest, ListenersOfOnePortOnTwoAddressesKeepTheirOwnConnections) {
  auto s = Sensor::Start({"net_tcp_connection"});
  ASSERT_NE(s, nullptr);
  auto serve = [](const char* addr, IntPipe& port_in, IntPipe& port_out, IntPipe& done) {
    return Spawn([addr, &port_in, &port_out, &done] {
      int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in sin{.sin_family = AF_INET, .sin_port = htons(static_cast<uint16_t>(port_in.Receive())),
                      .sin_addr = {}};
      inet_pton(AF_INET, addr, &sin.sin_addr);
      socklen_t len = sizeof(sin);
      if (bind(l, reinterpret_cast<sockaddr*>(&sin), len) != 0 || listen(l, 4) != 0) return 1;
      getsockname(l, reinterpret_cast<sockaddr*>(&sin), &len);
      port_out.Send(ntohs(sin.sin_port));
      int a = accept(l, nullptr, nullptr);
      done.Receive();
      return a >= 0 ? 0 : 2;
    });
  };
  IntPipe a_in, a_out, a_done, b_in, b_out, b_done;
  pid_t a = serve("127.0.0.1", a_in, a_out, a_done);
  a_in.Send(0);
  const int64_t port = a_out.Receive();
  pid_t b = serve("127.0.0.2", b_in, b_out, b_done);
  b_in.Send(port);
  ASSERT_EQ(b_out.Receive(), port);
  pid_t client = Spawn([port] {
    for (const char* addr : {"127.0.0.1", "127.0.0.2"}) {
      int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in sin{.sin_family = AF_INET, .sin_port = htons(static_cast<uint16_t>(port)), .sin_addr = {}};
      inet_pton(AF_INET, addr, &sin.sin_addr);
      if (connect(c, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) return 1;
    }
    return 0;
  });
  ASSERT_EQ(WaitExit(client), 0);
  a_done.Send(1);
  b_done.Send(1);
  ASSERT_EQ(WaitExit(a), 0);
  ASSERT_EQ(WaitExit(b), 0);
  auto inbound_to = [&](const char* addr) {
    const events::Fields local = Inet(addr, static_cast<int>(port));
    return [local](const Event& e) {
      return StrArgOrMark(e, "direction") == "inbound" && AddrArg(e, "src") == local;
    };
  };
  const Event* to_a = s->Await("net_tcp_connection", -1, inbound_to("127.0.0.1"));
  const Event* to_b = s->Await("net_tcp_connection", -1, inbound_to("127.0.0.2"));
  ASSERT_NE(to_a, nullptr);
  ASSERT_NE(to_b, nullptr);
  EXPECT_EQ(to_a->host_pid, static_cast<uint32_t>(a)) << "the connection to 127.0.0.1 is the first listener's";
  EXPECT_EQ(to_b->host_pid, static_cast<uint32_t>(b)) << "the connection to 127.0.0.2 is the second listener's";
}

}  // namespace
}  // namespace vigil::ktest
