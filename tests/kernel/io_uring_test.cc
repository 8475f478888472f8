// Kernel tests of io_uring operations reported as their syscall twins
// (bpf/io_uring.bpf.h, events/src/io_uring_events.cc): a CHILD performs
// IORING_OP_MKDIRAT, OPENAT, WRITE, RENAMEAT, UNLINKAT and CONNECT through a
// raw ring (tests/support/iouring_raw.h), none of which enters the syscall
// it stands for; each must arrive under the twin's name with the decoded
// path or address, marked io_uring, from the child.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "harness.h"
#include "iouring_raw.h"
#include "vigil/engine/bpf_sensor.h"

namespace vigil::ktest {
namespace {

using engine::BpfSensor;
using events::Event;

std::unique_ptr<Sensor> StartSensor(const std::vector<std::string>& names) {
  BpfSensor::Options options;
  options.track_processes = false;
  return Sensor::Start(names, options);
}

class IoUringTest : public BpfTest {
 protected:
  void SetUp() override {
    BpfTest::SetUp();
    char tmpl[] = "/tmp/vigil-iouring-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = RealPath(tmpl);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  // The header describes the child, and the record is marked io_uring.
  void ExpectFromChild(const Event& e, pid_t child) {
    SCOPED_TRACE(e.def->name);
    EXPECT_EQ(e.host_pid, static_cast<uint32_t>(child));
    EXPECT_EQ(e.host_ppid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ(e.policies, 1u);
    EXPECT_TRUE(e.io_uring);
  }
  std::string dir_;
};

// A TCP listener on 127.0.0.1 (in this process, which the sensor ignores).
int Listener(int& port) {
  sockaddr_in sin;
  int fd = ListenTcp4("127.0.0.1", 0, 4, sin);
  port = ntohs(sin.sin_port);
  return fd;
}

TEST_F(IoUringTest, OperationsAreReportedAsTheirSyscallAndSecurityTwins) {
  auto s = StartSensor({"openat", "write", "magic_write", "renameat2", "unlinkat", "mkdirat", "connect", "security_file_open",
                        "security_socket_connect", "security_inode_rename", "security_inode_unlink",
                        "io_uring_submit_req", "io_uring_complete"});
  ASSERT_NE(s, nullptr);
  int port = 0;
  int listener = Listener(port);
  ASSERT_GE(listener, 0);
  const std::string sub = dir_ + "/sub";
  const std::string file = UniqueName("iou-open");
  const std::string moved = UniqueName("iou-moved");
  IntPipe results;
  // Relative names against a directory fd, as an attacker's ring would use them.
  pid_t child = Spawn([&] {
    vg_iou r;
    if (vg_iou_init(&r) != 0) return 10;
    int dfd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    results.Send(dfd);
    results.Send(vg_iou_mkdirat(&r, AT_FDCWD, sub.c_str(), 0750));
    int fd = vg_iou_openat(&r, dfd, file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    results.Send(fd);
    results.Send(vg_iou_write(&r, fd, "#!/bin/sh\n", 10));
    results.Send(vg_iou_renameat(&r, dfd, file.c_str(), dfd, moved.c_str()));
    results.Send(vg_iou_unlinkat(&r, dfd, moved.c_str(), 0));
    int sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(static_cast<uint16_t>(port));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    results.Send(sock);
    results.Send(vg_iou_connect(&r, sock, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)));
    return 0;
  });
  int64_t dfd = results.Receive();
  int64_t mkdir_res = results.Receive(), fd = results.Receive(), write_res = results.Receive(),
          rename_res = results.Receive(), unlink_res = results.Receive(), sock = results.Receive(),
          connect_res = results.Receive();
  ASSERT_EQ(WaitExit(child), 0);
  close(listener);
  ASSERT_EQ(mkdir_res, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write_res, 10);
  ASSERT_EQ(rename_res, 0);
  ASSERT_EQ(unlink_res, 0);
  ASSERT_EQ(connect_res, 0) << "io_uring connect to 127.0.0.1:" << port;

  const Event* mk = s->Await("mkdirat", child, [&](const Event& e) { return StrArgOrMark(e, "pathname") == sub; });
  ASSERT_NE(mk, nullptr) << "no io_uring mkdirat of " << sub;
  ExpectFromChild(*mk, child);
  EXPECT_EQ(StrArgOrMark(*mk, "mode"), "0750");

  const Event* op = s->Await("openat", child, [&](const Event& e) { return StrArgOrMark(e, "pathname") == file; });
  ASSERT_NE(op, nullptr) << "no io_uring openat of " << file;
  ExpectFromChild(*op, child);
  EXPECT_EQ(op->syscall_nr, SYS_openat);
  EXPECT_EQ(op->retval, 0) << "reported at submission";
  EXPECT_EQ(IntArg(*op, "dirfd"), dfd) << "the directory fd the child opened first";
  EXPECT_EQ(StrArgOrMark(*op, "flags"), "O_WRONLY|O_CREAT|O_CLOEXEC");

  const Event* fo = s->Await("security_file_open", child,
                             [&](const Event& e) { return StrArgOrMark(e, "pathname") == dir_ + "/" + file; });
  ASSERT_NE(fo, nullptr) << "no io_uring security_file_open of " << dir_ << "/" << file;
  ExpectFromChild(*fo, child);
  EXPECT_EQ(StrArgOrMark(*fo, "syscall"), "openat");
  EXPECT_NE(StrArgOrMark(*fo, "flags").find("O_CREAT"), std::string::npos);
  EXPECT_NE(IntArg(*fo, "inode"), 0);

  const Event* wr = s->Await("write", child, [&](const Event& e) { return e.io_uring && IntArg(e, "fd") == fd; });
  ASSERT_NE(wr, nullptr) << "no io_uring write to fd " << fd;
  ExpectFromChild(*wr, child);
  EXPECT_EQ(IntArg(*wr, "count"), 10);

  const Event* mw = s->Await("magic_write", child, [&](const Event& e) {
    return StrArgOrMark(e, "pathname") == dir_ + "/" + file;
  });
  ASSERT_NE(mw, nullptr) << "no io_uring magic_write of " << file;
  ExpectFromChild(*mw, child);
  EXPECT_EQ(StrArgOrMark(*mw, "bytes"), Hex("#!/bin/sh\n"));
  EXPECT_EQ(StrArgOrMark(*mw, "syscall"), "write");

  const Event* rn = s->Await("renameat2", child, [&](const Event& e) { return StrArgOrMark(e, "oldname") == file; });
  ASSERT_NE(rn, nullptr) << "no io_uring renameat2 of " << file;
  ExpectFromChild(*rn, child);
  EXPECT_EQ(StrArgOrMark(*rn, "newname"), moved);

  const Event* sr = s->Await("security_inode_rename", child, [&](const Event& e) {
    return StrArgOrMark(e, "old_path") == dir_ + "/" + file;
  });
  ASSERT_NE(sr, nullptr) << "no io_uring security_inode_rename of " << file;
  ExpectFromChild(*sr, child);
  EXPECT_EQ(StrArgOrMark(*sr, "new_path"), dir_ + "/" + moved) << "made full against the directory fd";

  const Event* ul = s->Await("unlinkat", child, [&](const Event& e) { return StrArgOrMark(e, "pathname") == moved; });
  ASSERT_NE(ul, nullptr) << "no io_uring unlinkat of " << moved;
  ExpectFromChild(*ul, child);
  const Event* su = s->Await("security_inode_unlink", child, [&](const Event& e) {
    return StrArgOrMark(e, "pathname") == dir_ + "/" + moved;
  });
  ASSERT_NE(su, nullptr) << "no io_uring security_inode_unlink of " << moved;
  ExpectFromChild(*su, child);

  const Event* cn = s->Await("connect", child, [&](const Event& e) { return e.io_uring; });
  ASSERT_NE(cn, nullptr) << "no io_uring connect";
  ExpectFromChild(*cn, child);
  EXPECT_EQ(IntArg(*cn, "sockfd"), sock);
  EXPECT_EQ(AddrArg(*cn, "addr"), Inet("127.0.0.1", port));
  const Event* sc = s->Await("security_socket_connect", child, [&](const Event& e) { return e.io_uring; });
  ASSERT_NE(sc, nullptr) << "no io_uring security_socket_connect";
  ExpectFromChild(*sc, child);
  EXPECT_EQ(AddrArg(*sc, "remote_addr"), Inet("127.0.0.1", port));
  EXPECT_EQ(StrArgOrMark(*sc, "type"), "SOCK_STREAM");

  // None of these came from a syscall of the child: only the io_uring twins.
  for (const Event* e : s->Find("openat", child))
    if (StrArgOrMark(*e, "pathname") == file) EXPECT_TRUE(e->io_uring);
}

// With IORING_SETUP_SQPOLL the kernel's SQ thread (a thread of the ring's
// process) submits: the child makes no syscall per request at all.
TEST_F(IoUringTest, SqpollSubmissionsAreTheRingOwnersProcess) {
  auto s = StartSensor({"openat", "io_uring_setup", "io_uring_submit_req"});
  ASSERT_NE(s, nullptr);
  const std::string path = dir_ + "/" + UniqueName("sqpoll");
  pid_t child = Spawn([&] {
    vg_iou r;
    if (vg_iou_init_flags(&r, IORING_SETUP_SQPOLL) != 0) return 10;
    return vg_iou_openat(&r, AT_FDCWD, path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600) >= 0 ? 0 : 11;
  });
  ASSERT_EQ(WaitExit(child), 0);
  const Event* setup = s->Await("io_uring_setup", child);
  ASSERT_NE(setup, nullptr) << "no io_uring_setup of the child";
  EXPECT_FALSE(setup->io_uring) << "a real syscall";
  const Event* op = s->Await("openat", child, [&](const Event& e) { return StrArgOrMark(e, "pathname") == path; });
  ASSERT_NE(op, nullptr) << "no openat of " << path << " submitted by the SQ thread";
  EXPECT_TRUE(op->io_uring);
  EXPECT_EQ(op->host_pid, static_cast<uint32_t>(child));
  EXPECT_NE(op->host_tid, static_cast<uint32_t>(child)) << "the SQ thread, not the child's main thread";
  EXPECT_EQ(op->comm.rfind("iou-sqp-", 0), 0u) << op->comm;
}

// The twins' in-kernel pathname filters apply to io_uring's names too.
TEST_F(IoUringTest, PathFiltersApplyToIoUringOpens) {
  const std::string wanted = dir_ + "/" + UniqueName("wanted");
  const std::string other = dir_ + "/" + UniqueName("other");
  const events::Registry& reg = events::Registry::Builtin();
  std::vector<engine::SelectedEvent> selected = {{reg.Find("openat"), 1, 1, 1},
                                                 {reg.Find("io_uring_submit_req"), 0}};
  std::vector<engine::Cancellation> cancelled;
  BpfSensor::Options options;
  options.track_processes = false;
  auto loaded = BpfSensor::Load(selected, options, cancelled);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::unique_ptr<BpfSensor> bpf = std::move(*loaded);
  engine::PathFilterPlan plan;
  plan.entries.push_back({.event_id = static_cast<uint32_t>(SYS_openat),
                          .key = std::string(wanted.c_str(), wanted.size() + 1),
                          .policies = 1});
  ASSERT_TRUE(bpf->WritePolicyTables({}, plan).ok());
  ASSERT_TRUE(bpf->Attach().empty());
  std::vector<Event> got;
  events::Decoder decoder(reg, events::Decoder::BootToEpochOffsetNow());
  ASSERT_TRUE(bpf->OpenRingBuffer([&](std::span<const uint8_t> rec) {
                   Event e;
                   if (decoder.Decode(rec, e).ok()) got.push_back(std::move(e));
                 })
                  .ok());
  pid_t child = Spawn([&] {
    vg_iou r;
    if (vg_iou_init(&r) != 0) return 10;
    int a = vg_iou_openat(&r, AT_FDCWD, other.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    int b = vg_iou_openat(&r, AT_FDCWD, wanted.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    return a >= 0 && b >= 0 ? 0 : 11;
  });
  ASSERT_EQ(WaitExit(child), 0);
  bool seen_wanted = false;
  for (int i = 0; i < 50 && !seen_wanted; ++i) {
    ASSERT_TRUE(bpf->PollAndDrain(100).ok());
    for (const Event& e : got)
      if (e.host_pid == static_cast<uint32_t>(child) && StrArgOrMark(e, "pathname") == wanted) seen_wanted = true;
  }
  EXPECT_TRUE(seen_wanted) << "the filtered path, opened through io_uring, was not reported";
  for (const Event& e : got)
    if (e.host_pid == static_cast<uint32_t>(child))
      EXPECT_NE(StrArgOrMark(e, "pathname"), other) << "a path no filter matches left the kernel";
}

}  // namespace
}  // namespace vigil::ktest
