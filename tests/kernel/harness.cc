#include "harness.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "vigil/engine/log.h"
#include "vigil/events/format.h"
#include "vigil/events/registry.h"

namespace vigil::ktest {

using engine::BpfSensor;
using events::Event;

// ------------------------------------------------------------ Sensor

Sensor::Sensor() : decoder_(events::Registry::Builtin(), events::Decoder::BootToEpochOffsetNow()) {}

Sensor::~Sensor() {
  EXPECT_EQ(decode_errors_, 0u) << "records the decoder refused; last: " << last_decode_error_;
}

std::unique_ptr<Sensor> Sensor::Start(const std::vector<std::string>& names, BpfSensor::Options options) {
  std::unique_ptr<Sensor> s(new Sensor());
  const events::Registry& reg = events::Registry::Builtin();
  std::vector<engine::SelectedEvent> selected;
  for (const std::string& n : names) {
    const events::EventDef* d = reg.Find(n);
    EXPECT_NE(d, nullptr) << n;
    if (d) selected.push_back({d, 1});
  }
  std::vector<engine::Cancellation> cancelled;
  absl::StatusOr<std::unique_ptr<BpfSensor>> loaded = BpfSensor::Load(selected, options, cancelled);
  if (!loaded.ok()) {
    ADD_FAILURE() << "BpfSensor::Load: " << loaded.status();
    return nullptr;
  }
  s->bpf_ = std::move(*loaded);
  std::vector<engine::Cancellation> attach_cancelled = s->bpf_->Attach();
  cancelled.insert(cancelled.end(), attach_cancelled.begin(), attach_cancelled.end());
  for (const engine::Cancellation& c : cancelled)
    ADD_FAILURE() << "event " << c.event << " cancelled: " << c.reason;
  if (!cancelled.empty()) return nullptr;
  EXPECT_EQ(s->bpf_->running_events().size(), selected.size());
  absl::Status ring = s->bpf_->OpenRingBuffer([raw = s.get()](std::span<const uint8_t> record) {
    Event e;
    absl::Status st = raw->decoder_.Decode(record, e);
    if (!st.ok()) {
      ++raw->decode_errors_;
      raw->last_decode_error_ = std::string(st.message());
      return;
    }
    // Lifecycle records that no policy selected only feed the engine's
    // process tree (policies == 0): they are not reported to users.
    (e.policies == 0 ? raw->tracking_ : raw->events_).push_back(std::move(e));
  });
  if (!ring.ok()) {
    ADD_FAILURE() << "OpenRingBuffer: " << ring;
    return nullptr;
  }
  return s;
}

bool Sensor::DrainUntil(const std::function<bool()>& done, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    absl::StatusOr<int> n = bpf_->PollAndDrain(20);
    EXPECT_TRUE(n.ok()) << n.status();
    if (done()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
  }
}

void Sensor::DrainFor(int ms) {
  DrainUntil([] { return false; }, ms);
}

void Sensor::DrainAll() {
  for (int idle = 0; idle < 3;) {
    absl::StatusOr<int> n = bpf_->PollAndDrain(20);
    ASSERT_TRUE(n.ok()) << n.status();
    idle = *n == 0 ? idle + 1 : 0;
  }
}

std::vector<const Event*> Sensor::Find(std::string_view name, pid_t host_pid) const {
  std::vector<const Event*> out;
  for (const Event& e : events_)
    if (e.def->name == name && (host_pid < 0 || e.host_pid == static_cast<uint32_t>(host_pid)))
      out.push_back(&e);
  return out;
}

const Event* Sensor::First(std::string_view name, pid_t host_pid,
                           const std::function<bool(const Event&)>& match) const {
  for (const Event* e : Find(name, host_pid))
    if (!match || match(*e)) return e;
  return nullptr;
}

const Event* Sensor::Await(std::string_view name, pid_t host_pid,
                           const std::function<bool(const Event&)>& match) {
  DrainUntil([&] { return First(name, host_pid, match) != nullptr; });
  return First(name, host_pid, match);
}

void BpfTest::SetUp() {
  if (geteuid() != 0)
    GTEST_SKIP() << "kernel tests load BPF programs and need root (euid is " << geteuid() << ")";
  if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, nullptr) != 1)
    GTEST_SKIP() << "this kernel cannot load BPF tracepoint programs (bpf() unavailable or disabled)";
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
    GTEST_SKIP() << "this kernel has no BTF (/sys/kernel/btf/vmlinux), which the CO-RE programs need";
  engine::SetLogLevel(engine::LogLevel::kWarn);
}

void ExpectNothingFromThisProcess(const Sensor& s) {
  for (const Event& e : s.events())
    EXPECT_NE(e.host_pid, static_cast<uint32_t>(getpid())) << "the sensor reported its own " << e.def->name;
}

// ------------------------------------------------------------ child processes

pid_t Spawn(const std::function<int()>& body) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  return pid;
}

int WaitStatus(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

int WaitExit(pid_t pid) {
  int status = WaitStatus(pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

IntPipe::IntPipe() { EXPECT_EQ(pipe2(fds_, O_CLOEXEC), 0); }

IntPipe::~IntPipe() {
  for (int fd : fds_)
    if (fd >= 0) close(fd);
}

void IntPipe::Send(int64_t v) { (void)!write(fds_[1], &v, sizeof(v)); }

int64_t IntPipe::Receive() {
  if (fds_[1] >= 0) close(fds_[1]), fds_[1] = -1;
  int64_t v = -1;
  if (read(fds_[0], &v, sizeof(v)) != sizeof(v)) ADD_FAILURE() << "nothing came through the pipe";
  return v;
}

// ------------------------------------------------------------ small facts

std::string UniqueName(const char* what) {
  static std::mt19937_64 rng(std::random_device{}());
  return std::string("vigil-kt-") + what + "-" + std::to_string(getpid()) + "-" +
         std::to_string(rng() % 1000000007);
}

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  return realpath(path.c_str(), buf) ? std::string(buf) : std::string();
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

uint64_t InodeOf(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

int64_t RealtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * kNsPerSec + ts.tv_nsec;
}

uint64_t KernelDev(dev_t dev) { return (static_cast<uint64_t>(major(dev)) << 20) | minor(dev); }

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

uint64_t OwnCgroupV2Id() {
  std::ifstream cg("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(cg, line))
    if (line.starts_with("0::")) path = line.substr(3);
  std::ifstream mi("/proc/self/mountinfo");
  while (std::getline(mi, line)) {
    size_t dash = line.find(" - cgroup2 ");
    if (dash == std::string::npos) continue;
    std::istringstream f(line.substr(0, dash));
    std::string id, parent, dev, root, mount_point;
    f >> id >> parent >> dev >> root >> mount_point;
    struct stat st {};
    if (root == "/" && stat((mount_point + path).c_str(), &st) == 0) return st.st_ino;
  }
  return 0;
}

// ------------------------------------------------------------ argument accessors

const events::Arg* ArgOf(const Event& e, std::string_view name) {
  const events::Arg* a = e.FindArg(name);
  EXPECT_NE(a, nullptr) << e.def->name << " has no argument " << name;
  return a;
}

events::Value Shown(const events::Arg& a) {
  return events::Rendered(a);
}

std::string StrArg(const Event& e, std::string_view name) {
  const events::Arg* a = ArgOf(e, name);
  if (a == nullptr) return "<missing>";
  const events::Value v = Shown(*a);
  const auto* s = std::get_if<std::string>(&v);
  EXPECT_NE(s, nullptr) << e.def->name << "." << name << " is not a string";
  return s ? *s : "<not a string>";
}

std::string StrArgOrMark(const Event& e, std::string_view name) {
  const events::Arg* a = e.FindArg(name);
  if (a == nullptr) return "<missing>";
  const events::Value v = Shown(*a);
  const auto* s = std::get_if<std::string>(&v);
  return s ? *s : "<not a string>";
}

int64_t IntArg(const Event& e, std::string_view name) {
  const events::Arg* a = ArgOf(e, name);
  if (a == nullptr) return INT64_MIN;
  const events::Value v = Shown(*a);
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&v)) return static_cast<int64_t>(*u);
  ADD_FAILURE() << e.def->name << "." << name << " is not a number";
  return INT64_MIN;
}

std::vector<std::string> ListArg(const Event& e, std::string_view name) {
  const events::Arg* a = ArgOf(e, name);
  if (a == nullptr) return {};
  const events::Value shown = Shown(*a);
  const auto* v = std::get_if<std::vector<std::string>>(&shown);
  EXPECT_NE(v, nullptr) << e.def->name << "." << name << " is not a list";
  return v ? *v : std::vector<std::string>{};
}

events::Fields AddrArg(const Event& e, std::string_view name) {
  const events::Arg* a = ArgOf(e, name);
  if (a == nullptr) return {};
  const auto* f = std::get_if<events::Fields>(&a->value);
  EXPECT_NE(f, nullptr) << e.def->name << "." << name << " is not a socket address";
  return f ? *f : events::Fields{};
}

int ListenTcp4(const char* addr, uint16_t port, int backlog, sockaddr_in& bound) {
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bound = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {}};
  inet_pton(AF_INET, addr, &bound.sin_addr);
  socklen_t len = sizeof(bound);
  if (bind(l, reinterpret_cast<sockaddr*>(&bound), len) != 0 || listen(l, backlog) != 0) {
    close(l);
    return -1;
  }
  getsockname(l, reinterpret_cast<sockaddr*>(&bound), &len);
  return l;
}

events::Fields Inet(const char* addr, int port) {
  return {{"sa_family", "AF_INET"}, {"sin_addr", addr}, {"sin_port", std::to_string(port)}};
}

}  // namespace vigil::ktest
