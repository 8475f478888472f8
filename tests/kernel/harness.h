// The kernel tests' harness: the real BPF programs loaded and attached in
// this process through the engine (BpfSensor), decoded by the registry's
// decoder, and the child-process helpers the tests act through. (The sensor
// never reports its own process, so every action must come from a child.)
#ifndef VIGIL_TESTS_KERNEL_HARNESS_H_
#define VIGIL_TESTS_KERNEL_HARNESS_H_

#include <netinet/in.h>
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "vigil/engine/bpf_sensor.h"
#include "vigil/events/decoder.h"
#include "vigil/events/event.h"

namespace vigil::ktest {

inline constexpr int64_t kNsPerSec = 1'000'000'000;

// ------------------------------------------------------------ the sensor under test

class Sensor {
 public:
  // Loads and attaches `names` (each selected by policy 0); fails the test
  // and returns null when it cannot.
  static std::unique_ptr<Sensor> Start(const std::vector<std::string>& names,
                                       engine::BpfSensor::Options options = {});
  // Fails the test if the decoder refused a record.
  ~Sensor();

  // Drains until `done` holds or the timeout passes; returns `done()`.
  bool DrainUntil(const std::function<bool()>& done, int timeout_ms = 5000);
  // Drains for a while (to show that something does NOT arrive).
  void DrainFor(int ms);
  // Drains until the ring buffer is empty.
  void DrainAll();

  // The events named `name` of `host_pid` (any process when -1).
  std::vector<const events::Event*> Find(std::string_view name, pid_t host_pid) const;
  // The first of them satisfying `match`, or null.
  const events::Event* First(std::string_view name, pid_t host_pid,
                             const std::function<bool(const events::Event&)>& match = nullptr) const;
  // Drains until First(...) finds the event; returns it or null.
  const events::Event* Await(std::string_view name, pid_t host_pid,
                             const std::function<bool(const events::Event&)>& match = nullptr);

  // What a user would see (records some policy selected). A deque: draining
  // appends, and the events Find, First and Await returned stay where they
  // are (a vector's growth moved them, and a test that awaited a second
  // event read the first from freed memory).
  const std::deque<events::Event>& events() const { return events_; }
  // Lifecycle records no policy selected: they only feed the process tree.
  const std::deque<events::Event>& tracking() const { return tracking_; }
  engine::BpfSensor& bpf() { return *bpf_; }

 private:
  Sensor();

  std::unique_ptr<engine::BpfSensor> bpf_;
  events::Decoder decoder_;
  std::deque<events::Event> events_;
  std::deque<events::Event> tracking_;
  uint64_t decode_errors_ = 0;
  std::string last_decode_error_;
};

// Skips the test (saying why) when this process cannot load the CO-RE
// programs: not root, no BPF tracepoint programs, no kernel BTF.
class BpfTest : public ::testing::Test {
 protected:
  void SetUp() override;
};

// The test fails when the sensor reported an event of this process.
void ExpectNothingFromThisProcess(const Sensor& s);

// ------------------------------------------------------------ child processes

// Runs `body` in a forked child and returns its pid; the child exits with
// body's return value. The test process is single-threaded, so the child may
// do anything.
pid_t Spawn(const std::function<int()>& body);
// waitpid's status of `pid`.
int WaitStatus(pid_t pid);
// The exit code of `pid`, or 128 + the signal that killed it.
int WaitExit(pid_t pid);

// A pipe carrying integers between processes: children report what they got,
// some wait for the test's go-ahead. Receive() first closes this process's
// write end, so that a reader whose writers all died sees end-of-file
// instead of blocking.
class IntPipe {
 public:
  IntPipe();
  ~IntPipe();
  IntPipe(const IntPipe&) = delete;
  IntPipe& operator=(const IntPipe&) = delete;
  void Send(int64_t v);
  int64_t Receive();

 private:
  int fds_[2] = {-1, -1};
};

// A TCP listener on IPv4 `addr` and `port` (0: an ephemeral one) with
// `backlog`; `bound` is the address it got. -1 when bind or listen fails.
int ListenTcp4(const char* addr, uint16_t port, int backlog, sockaddr_in& bound);

// ------------------------------------------------------------ small facts

// A name no other process on the machine will use.
std::string UniqueName(const char* what);
std::string RealPath(const std::string& path);
std::string ReadFirstLine(const std::string& path);
uint64_t InodeOf(const std::string& path);
int64_t RealtimeNs();
// The kernel's encoding of a device number (MKDEV), as the records carry it.
uint64_t KernelDev(dev_t dev);
// Lower-case hex of raw bytes, as raw byte arguments are rendered.
std::string Hex(std::string_view bytes);
// The cgroup v2 id of this process: the inode of its cgroup's directory.
uint64_t OwnCgroupV2Id();

// ------------------------------------------------------------ argument accessors

// What a sink shows for an argument (flags, modes, capability sets... rendered).
events::Value Shown(const events::Arg& a);
// These read arguments as a sink shows them, and fail the test, not the
// process, on a missing argument or a wrong type.
const events::Arg* ArgOf(const events::Event& e, std::string_view name);
std::string StrArg(const events::Event& e, std::string_view name);
int64_t IntArg(const events::Event& e, std::string_view name);
std::vector<std::string> ListArg(const events::Event& e, std::string_view name);
events::Fields AddrArg(const events::Event& e, std::string_view name);
// The string argument `name`, "<missing>" or "<not a string>" — no failure:
// for predicates over events that may lack it.
std::string StrArgOrMark(const events::Event& e, std::string_view name);
// An IPv4 socket address as the decoder renders it.
events::Fields Inet(const char* addr, int port);

}  // namespace vigil::ktest

#endif  // VIGIL_TESTS_KERNEL_HARNESS_H_
