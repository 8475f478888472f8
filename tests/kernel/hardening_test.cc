// Kernel tests of the kernel side's hardening (issue 9 items 7 and 8): the
// tricks that made kernel tables fill silently, and records built while a
// softirq program shared their scratch buffer, performed for real by child
// processes (the sensor never reports its own process).
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cerrno>
#include <chrono>
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
      sockaddr_in sin;
      int l = ListenTcp4(addr, static_cast<uint16_t>(port_in.Receive()), 4, sin);
      if (l < 0) return 1;
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

// ------------------------------------------------------------ scratch buffers

// net_tcp_connection and the cgroup_skb programs run in softirq, which can
// interrupt a syscall program on the same CPU while it builds a record. With
// one scratch buffer per CPU the softirq's record overwrote the one being
// built. Under an inbound TCP flood on loopback, two processes open a file
// deep in a tree (a long path walk per record) in a loop: every record must
// decode, and every open record must carry its own path, inode and process.
TEST_F(HardeningTest, OpenRecordsSurviveAnInboundTcpFloodOnTheSameCpus) {
  BpfSensor::Options options;
  options.track_processes = false;
  options.ring_bytes = 64u << 20;
  auto s = Sensor::Start({"security_file_open", "net_tcp_connection", "net_packet_ipv4"}, options);
  ASSERT_NE(s, nullptr);
  const engine::KernelCounters before = s->bpf().ReadCounters();

  char tmpl[] = "/tmp/vigil-scratch-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = tmpl;
  for (int i = 0; i < 24; ++i) {
    path += "/level-" + std::to_string(i);
    ASSERT_EQ(mkdir(path.c_str(), 0755), 0) << path;
  }
  const std::string file = path + "/" + UniqueName("target");
  close(open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  const uint64_t inode = InodeOf(file);
  constexpr auto kFor = std::chrono::seconds(4);

  // Held connections that get one byte each in turn: the receiver's delayed
  // ACKs go out from the timer softirq, which runs on whatever CPU armed them,
  // at a tick, in the middle of whatever that CPU runs (a syscall program).
  // Connection churn on top: SYN_RECV -> ESTABLISHED, in softirq too.
  constexpr int kHeld = 400;
  IntPipe port_pipe;
  pid_t server = Spawn([&] {
    rlimit nofile{4 * kHeld, 4 * kHeld};
    setrlimit(RLIMIT_NOFILE, &nofile);
    // The first byte tells a churned connection ('c': closed at once) from a
    // trickled one ('t': held, never read again).
    sockaddr_in sin;
    int l = ListenTcp4("127.0.0.1", 0, 4096, sin);
    if (l < 0) return 1;
    port_pipe.Send(ntohs(sin.sin_port));
    for (;;) {  // killed by the test
      int a = accept(l, nullptr, nullptr);
      if (a < 0) continue;
      char first = 0;
      if (read(a, &first, 1) != 1 || first == 'c') close(a);  // churn: done; trickle: held
    }
  });
  const int64_t port = port_pipe.Receive();
  auto connect_loopback = [port] {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in sin{.sin_family = AF_INET,
                    .sin_port = htons(static_cast<uint16_t>(port)),
                    .sin_addr = {htonl(INADDR_LOOPBACK)}};
    if (connect(c, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
      close(c);
      return -1;
    }
    return c;
  };
  auto trickle = [&] {
    return Spawn([&] {
      rlimit nofile{2 * kHeld, 2 * kHeld};
      setrlimit(RLIMIT_NOFILE, &nofile);
      signal(SIGPIPE, SIG_IGN);
      std::vector<int> conns;
      for (int i = 0; i < kHeld / 2; ++i)
        if (int c = connect_loopback(); c >= 0 && write(c, "t", 1) == 1) conns.push_back(c);
      const auto end = std::chrono::steady_clock::now() + kFor;
      while (std::chrono::steady_clock::now() < end) {
        for (int c : conns) (void)!write(c, "x", 1);
        usleep(20000);
      }
      return 0;
    });
  };
  auto churn = [&] {
    return Spawn([&] {
      const auto end = std::chrono::steady_clock::now() + kFor;
      signal(SIGPIPE, SIG_IGN);
      while (std::chrono::steady_clock::now() < end) {
        int c = connect_loopback();
        if (c >= 0) (void)!write(c, "c", 1);
        close(c);
      }
      return 0;
    });
  };
  IntPipe opens;
  auto opener = [&] {
    return Spawn([&] {
      prctl(PR_SET_NAME, "vg-opener");
      const auto end = std::chrono::steady_clock::now() + kFor;
      int64_t n = 0;
      while (std::chrono::steady_clock::now() < end) {
        int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return 1;
        close(fd);
        ++n;
      }
      opens.Send(n);
      return 0;
    });
  };
  std::vector<pid_t> floods = {trickle(), trickle(), churn()};
  std::vector<pid_t> openers = {opener(), opener()};
  s->DrainFor(static_cast<int>(std::chrono::milliseconds(kFor).count()) + 500);
  int64_t opened = 0;
  for (pid_t p : openers) {
    opened += opens.Receive();
    EXPECT_EQ(WaitExit(p), 0);
  }
  for (pid_t p : floods) EXPECT_EQ(WaitExit(p), 0);
  kill(server, SIGKILL);
  WaitStatus(server);
  // Not DrainAll: the rest of the machine keeps opening files, so the ring
  // may never be idle; the openers' records are what this waits for.
  auto from_opener = [&](const Event& e) {
    for (pid_t p : openers)
      if (e.host_pid == static_cast<uint32_t>(p)) return true;
    return false;
  };
  auto opener_records = [&] {
    return std::count_if(s->events().begin(), s->events().end(), from_opener);
  };
  s->DrainUntil([&] { return opener_records() >= opened; }, 15000);

  const engine::KernelCounters after = s->bpf().ReadCounters();
  int64_t seen = 0;
  for (const Event& e : s->events()) {
    if (!from_opener(e)) {
      if (e.def->name == "net_packet_ipv4") {
        EXPECT_EQ(e.args.size(), 7u) << "a packet record with foreign arguments";
        EXPECT_EQ(e.host_pid, 0u) << "a packet record with a task's header";
      }
      continue;
    }
    ASSERT_EQ(e.def->name, "security_file_open") << "a record of the opener that is not its open";
    ++seen;
    EXPECT_EQ(StrArgOrMark(e, "pathname"), file);
    EXPECT_EQ(static_cast<uint64_t>(IntArg(e, "inode")), inode);
    EXPECT_EQ(e.comm, "vg-opener");
    EXPECT_EQ(e.host_tid, e.host_pid);
    if (::testing::Test::HasFailure()) break;  // one corrupt record tells enough
  }
  EXPECT_GT(opened, 1000) << "the openers barely ran";
  if (after.lost_reserve == before.lost_reserve)
    EXPECT_EQ(seen, opened) << "every open is reported exactly once";
  else
    EXPECT_GT(seen, 1000) << (after.lost_reserve - before.lost_reserve) << " records lost to a full ring";
  std::string cleanup = std::string("rm -rf ") + tmpl;
  (void)!system(cleanup.c_str());
}

}  // namespace
}  // namespace vigil::ktest
