// events/ decoder: synthetic ring-buffer records, built with the layout the
// kernel side writes (bpf/vigil_event.h), decoded into events. Well-formed
// records decode field by field; short, overrunning and nonsensical ones are
// errors, never out-of-bounds reads.
#include "vigil/events/decoder.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "record_builder.h"
#include "vigil/events/event_ids.h"
#include "vigil/events/format.h"
#include "vigil/events/registry.h"
#include "syscall_nrs.h"
#include "vigil_event.h"

namespace vigil::events {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

using test_support::RecordBuilder;  // tests/support/record_builder.h

constexpr int64_t kOffset = 1'700'000'000'000'000'000LL;

const Registry& Reg() { return Registry::Builtin(); }
uint32_t Id(const char* name) { return Reg().Find(name)->id; }

absl::Status Decode(const std::vector<uint8_t>& record, Event& out) {
  Decoder decoder(Reg(), kOffset);
  return decoder.Decode(std::span<const uint8_t>(record.data(), record.size()), out);
}

// The names of the arguments decoded, in definition order.
std::vector<std::string> ArgNames(const Event& e) {
  std::vector<std::string> out;
  for (const Arg& a : e.args)
    if (a.def != nullptr) out.push_back(a.def->name);
  return out;
}

// The n-th argument decoded as a sink shows it (events::Rendered).
events::Value Shown(const Event& e, size_t n) {
  for (const Arg& a : e.args) {
    if (a.def == nullptr) continue;
    if (n-- == 0) {
          return events::Rendered(a);
    }
  }
  ADD_FAILURE() << "no argument " << n;
  return {};
}

// ------------------------------------------------------------ well-formed

TEST(Decoder, OpenatRecordDecodesEveryHeaderFieldAndArgument) {
  RecordBuilder b(Id("openat"), 257);
  b.header().retval = -2;
  std::vector<uint8_t> rec = b.U64(0, static_cast<uint64_t>(int64_t{-100}))
                                 .Str(1, "/etc/passwd")
                                 .U64(2, O_WRONLY | O_CREAT | O_CLOEXEC)
                                 .U64(3, 0640)
                                 .Build();
  Event e;
  ASSERT_TRUE(Decode(rec, e).ok());
  ASSERT_NE(e.def, nullptr);
  EXPECT_EQ(e.def->name, "openat");
  EXPECT_EQ(e.timestamp_ns, 5'000'000'123ULL + kOffset) << "boot time + the boot->epoch offset";
  // The numeric header fields, as RecordBuilder's header sets them.
  const struct {
    const char* field;
    uint64_t got, want;
  } header[] = {
      {"processor_id", e.processor_id, 1},     {"host_pid", e.host_pid, 4242},
      {"host_tid", e.host_tid, 4243},          {"host_ppid", e.host_ppid, 1},
      {"pid", e.pid, 10},                      {"tid", e.tid, 11},
      {"ppid", e.ppid, 0},                     {"uid", e.uid, 1000},
      {"gid", e.gid, 1001},                    {"mnt_ns", e.mnt_ns, 4026531841u},
      {"pid_ns", e.pid_ns, 4026531836u},       {"uts_ns", e.uts_ns, 4026531838u},
      {"cgroup_id", e.cgroup_id, 0x1234'5678'9abcULL}, {"start_time_ns", e.start_time_ns, 987654321u},
      {"policies", e.policies, 0b101u},
  };
  for (const auto& h : header) EXPECT_EQ(h.got, h.want) << h.field;
  EXPECT_EQ(e.comm, "cat");
  EXPECT_EQ(e.retval, -2);
  EXPECT_EQ(e.syscall_nr, 257);
  EXPECT_FALSE(e.truncated);

  ASSERT_THAT(ArgNames(e), ElementsAre("dirfd", "pathname", "flags", "mode"));
  EXPECT_EQ(std::get<int64_t>(Shown(e, 0)), -100) << "AT_FDCWD stays the number -100";
  EXPECT_EQ(std::get<std::string>(Shown(e, 1)), "/etc/passwd");
  EXPECT_EQ(std::get<std::string>(Shown(e, 2)), "O_WRONLY|O_CREAT|O_CLOEXEC");
  EXPECT_EQ(std::get<uint64_t>(e.args[2].value), uint64_t{O_WRONLY | O_CREAT | O_CLOEXEC}) << "kept typed";
  EXPECT_EQ(std::get<std::string>(Shown(e, 3)), "0640");
  EXPECT_EQ(e.FindArg("pathname"), &e.args[1]);
}

TEST(Decoder, ZeroModeStaysTheNumberZero) {
  std::vector<uint8_t> rec =
      RecordBuilder(Id("openat"), 257).U64(0, 3).Str(1, "x").U64(2, O_RDONLY).U64(3, 0).Build();
  Event e;
  ASSERT_TRUE(Decode(rec, e).ok());
  EXPECT_EQ(std::get<std::string>(Shown(e, 2)), "O_RDONLY");
  EXPECT_EQ(std::get<int64_t>(Shown(e, 3)), 0);
  EXPECT_EQ(std::get<int64_t>(Shown(e, 0)), 3);
}

TEST(Decoder, IntArgumentFromAZeroExtendedRegisterIsSigned) {
  // The dispatcher reads whole registers; an int's upper half may be zero.
  std::vector<uint8_t> rec = RecordBuilder(Id("openat"), 257).U64(0, 0xffffff9cULL).Build();
  Event e;
  ASSERT_TRUE(Decode(rec, e).ok());
  EXPECT_EQ(std::get<int64_t>(Shown(e, 0)), -100);
}

TEST(Decoder, CompatFlagOfTheHeaderMarksTheEvent) {
  RecordBuilder b(Id("open"), VG_NR_open);
  b.header().flags = VG_HDR_COMPAT;
  std::vector<uint8_t> rec = b.Str(0, "/etc/shadow").U64(1, O_RDONLY).U64(2, 0).Build();
  Event e;
  ASSERT_TRUE(Decode(rec, e).ok());
  EXPECT_TRUE(e.compat);
  EXPECT_FALSE(e.truncated);
  EXPECT_EQ(e.def->name, "open");
  EXPECT_EQ(std::get<std::string>(Shown(e, 0)), "/etc/shadow");

  std::vector<uint8_t> native = RecordBuilder(Id("open"), VG_NR_open).Str(0, "/etc/shadow").Build();
  ASSERT_TRUE(Decode(native, e).ok());
  EXPECT_FALSE(e.compat) << "a decoder reused for the next record must not keep the flag";
}

TEST(Decoder, CompatLongArgumentIsASigned32BitValue) {
  // truncate(path, long length): a compat syscall's registers hold 32 bits,
  // zero-extended by the kernel side; -1 is 0xffffffff there.
  RecordBuilder b(Id("truncate"), VG_NR_truncate);
  b.header().flags = VG_HDR_COMPAT;
  std::vector<uint8_t> rec = b.Str(0, "/tmp/f").U64(1, 0xffffffffULL).Build();
  Event e;
  ASSERT_TRUE(Decode(rec, e).ok());
  EXPECT_EQ(std::get<int64_t>(Shown(e, 1)), -1);
  // The same bits from an x86-64 syscall are a 64-bit long.
  rec = RecordBuilder(Id("truncate"), VG_NR_truncate).Str(0, "/tmp/f").U64(1, 0xffffffffULL).Build();
  ASSERT_TRUE(Decode(rec, e).ok());
  EXPECT_EQ(std::get<int64_t>(Shown(e, 1)), 0xffffffffLL);
}

// bpf/syscall_nrs.h (tools/gen_syscall_table.py): ia32 numbers map to the
// x86-64 syscall with the same arguments, and to none where they differ.
TEST(Ia32Table, MapsIa32NumbersToTheirX8664Twins) {
  EXPECT_EQ(VG_IA32_NR_open, 5);
  EXPECT_EQ(VG_IA32_NR_execve, 11);
  EXPECT_EQ(VG_IA32_NR_openat, 295);
  EXPECT_EQ(VG_IA32_NR_connect, 362);
  EXPECT_EQ(vg_ia32_to_x64[VG_IA32_NR_open], VG_NR_open);
  EXPECT_EQ(vg_ia32_to_x64[VG_IA32_NR_execve], VG_NR_execve);
  EXPECT_EQ(vg_ia32_to_x64[VG_IA32_NR_openat], VG_NR_openat);
  EXPECT_EQ(vg_ia32_to_x64[VG_IA32_NR_connect], VG_NR_connect);
  EXPECT_EQ(vg_ia32_to_x64[VG_IA32_NR_setuid32], VG_NR_setuid);
  EXPECT_EQ(vg_ia32_to_x64[VG_IA32_NR_fcntl64], VG_NR_fcntl);
  EXPECT_EQ(vg_ia32_to_x64[VG_IA32_NR_stat], VG_NR_stat);  // both newstat
  // 5 is fstat on x86-64: the table must not be the identity.
  EXPECT_NE(vg_ia32_to_x64[5], VG_NR_fstat);
  // Different arguments: old_mmap and old_select take one struct pointer,
  // clone orders tls before child_tid, pread64 splits its offset; socketcall
  // is unpacked by the kernel side itself.
  EXPECT_EQ(vg_ia32_to_x64[VG_IA32_NR_mmap], -1);
  EXPECT_EQ(vg_ia32_to_x64[VG_IA32_NR_select], -1);
  EXPECT_EQ(vg_ia32_to_x64[VG_IA32_NR_clone], -1);
  EXPECT_EQ(vg_ia32_to_x64[VG_IA32_NR_pread64], -1);
  EXPECT_EQ(vg_ia32_to_x64[VG_IA32_NR_socketcall], -1);
  // Every twin is a syscall of the registry.
  for (int nr = 0; nr < VG_IA32_NR_COUNT; ++nr) {
    if (vg_ia32_to_x64[nr] < 0) continue;
    EXPECT_NE(Reg().FindId(static_cast<uint32_t>(vg_ia32_to_x64[nr])), nullptr) << "ia32 " << nr;
  }
}

TEST(Decoder, CommWithoutNulIsCutAtSixteenBytes) {
  RecordBuilder b(Id("openat"), 257);
  std::memcpy(b.header().comm, "0123456789abcdefXXXX", VG_TASK_COMM_LEN);
  Event e;
  ASSERT_TRUE(Decode(b.Build(), e).ok());
  EXPECT_EQ(e.comm, "0123456789abcdef");
}

TEST(Decoder, ExecveArgvIsAListAndOutOfOrderArgumentsAreSortedToDefinitionOrder) {
  // The kernel writes argv after the other arguments (it is read last).
  std::vector<uint8_t> rec = RecordBuilder(Id("execve"), 59)
                                 .Str(0, "/usr/bin/env")
                                 .U64(2, 0x7ffd0000)
                                 .StrArr(1, {"env", "-i", "", "a b"})
                                 .Build();
  Event e;
  ASSERT_TRUE(Decode(rec, e).ok());
  ASSERT_THAT(ArgNames(e), ElementsAre("pathname", "argv", "envp"));
  EXPECT_EQ(std::get<std::string>(Shown(e, 0)), "/usr/bin/env");
  EXPECT_THAT(std::get<std::vector<std::string>>(Shown(e, 1)), ElementsAre("env", "-i", "", "a b"));
  EXPECT_EQ(std::get<std::string>(Shown(e, 2)), "0x7ffd0000");
}

TEST(Decoder, EmptyStringArrayIsAnEmptyList) {
  std::vector<uint8_t> rec = RecordBuilder(Id("execve"), 59).StrArr(1, {}).Build();
  Event e;
  ASSERT_TRUE(Decode(rec, e).ok());
  ASSERT_EQ(e.ArgCount(), 1u);
  EXPECT_TRUE(std::get<std::vector<std::string>>(Shown(e, 0)).empty());
}

TEST(Decoder, SchedProcessExecArgvBlobIsSplitAtNuls) {
  const char blob[] = "ls\0-l\0\0/tmp";  // an empty argument in the middle, no final NUL
  std::vector<uint8_t> rec = RecordBuilder(kSchedProcessExec)
                                 .Str(0, "/bin/ls")
                                 .Str(1, "/usr/bin/ls")
                                 .U64(5, 0100755)
                                 .Bytes(7, blob, sizeof(blob) - 1)
                                 .U64(8, 4)
                                 .Build();
  Event e;
  ASSERT_TRUE(Decode(rec, e).ok());
  ASSERT_THAT(ArgNames(e), ElementsAre("cmdpath", "pathname", "inode_mode", "argv", "argc"));
  EXPECT_EQ(e.syscall_nr, -1);
  EXPECT_EQ(std::get<std::string>(Shown(e, 1)), "/usr/bin/ls");
  EXPECT_EQ(std::get<std::string>(Shown(e, 2)), "S_IFREG|0755");
  EXPECT_THAT(std::get<std::vector<std::string>>(Shown(e, 3)), ElementsAre("ls", "-l", "", "/tmp"));
  EXPECT_EQ(std::get<int64_t>(Shown(e, 4)), 4);

  const char with_final_nul[] = "true\0x\0";
  rec = RecordBuilder(kSchedProcessExec).Bytes(7, with_final_nul, sizeof(with_final_nul) - 1).Build();
  ASSERT_TRUE(Decode(rec, e).ok());
  EXPECT_THAT(std::get<std::vector<std::string>>(Shown(e, 0)), ElementsAre("true", "x"))
      << "the terminating NUL does not add an empty argument";
}

TEST(Decoder, SchedProcessExitValues) {
  std::vector<uint8_t> rec = RecordBuilder(kSchedProcessExit).U64(0, 42).U64(1, 9).U64(2, 1).Build();
  Event e;
  ASSERT_TRUE(Decode(rec, e).ok());
  ASSERT_THAT(ArgNames(e), ElementsAre("exit_code", "signal", "process_group_exit"));
  EXPECT_EQ(std::get<int64_t>(Shown(e, 0)), 42);
  EXPECT_EQ(std::get<std::string>(Shown(e, 1)), "SIGKILL");
  EXPECT_EQ(std::get<bool>(Shown(e, 2)), true);
}

TEST(Decoder, SockaddrArgument) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(8080);
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<uint8_t> rec = RecordBuilder(Id("connect"), 42)
                                 .U64(0, 5)
                                 .Bytes(1, &in, sizeof(in), VG_KIND_SOCKADDR)
                                 .U64(2, sizeof(in))
                                 .Build();
  Event e;
  ASSERT_TRUE(Decode(rec, e).ok());
  ASSERT_THAT(ArgNames(e), ElementsAre("sockfd", "addr", "addrlen"));
  EXPECT_THAT(
      std::get<Fields>(Shown(e, 1)),
      ElementsAre(Pair("sa_family", "AF_INET"), Pair("sin_addr", "127.0.0.1"), Pair("sin_port", "8080")));
}

TEST(Decoder, TruncatedFlagMarksTheEventAndKeepsWhatWasCaptured) {
  RecordBuilder b(Id("openat"), 257);
  b.header().flags = VG_HDR_TRUNCATED;
  std::vector<uint8_t> rec = b.U64(0, 3).Str(1, "/very/long/path/cut").Build();
  Event e;
  ASSERT_TRUE(Decode(rec, e).ok());
  EXPECT_TRUE(e.truncated);
  ASSERT_EQ(e.ArgCount(), 2u);
  EXPECT_EQ(std::get<std::string>(Shown(e, 1)), "/very/long/path/cut");
}

TEST(Decoder, IoUringFlagMarksTheEvent) {
  RecordBuilder plain(Id("openat"), 257);
  Event e;
  ASSERT_TRUE(Decode(plain.U64(0, 3).Build(), e).ok());
  EXPECT_FALSE(e.io_uring);
  RecordBuilder b(Id("openat"), 257);
  b.header().flags = VG_HDR_IO_URING;
  ASSERT_TRUE(Decode(b.U64(0, 3).Str(1, "/etc/shadow").Build(), e).ok());
  EXPECT_TRUE(e.io_uring);
  EXPECT_FALSE(e.truncated);
}

TEST(Decoder, MaxSizeRecordDecodes) {
  // The largest record the kernel side writes: header + arguments = VG_MAX_RECORD.
  RecordBuilder b(Id("openat"), 257);
  b.U64(0, 3);
  size_t used = sizeof(vg_event_header) + 10 /* dirfd */ + 2 /* index, kind */ + 2 /* length */;
  std::string path(VG_MAX_RECORD - used, 'a');
  path.front() = '/';
  std::vector<uint8_t> rec = b.Str(1, path).Build();
  ASSERT_EQ(rec.size(), static_cast<size_t>(VG_MAX_RECORD));
  Event e;
  absl::Status st = Decode(rec, e);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(std::get<std::string>(Shown(e, 1)), path);
}

TEST(Decoder, EventStorageIsReusedWithoutLeftovers) {
  Event e;
  ASSERT_TRUE(Decode(RecordBuilder(Id("execve"), 59).Str(0, "/bin/a").StrArr(1, {"a", "b"}).Build(), e).ok());
  e.executable = "/bin/a";
  e.host_name = "h";
  e.container_id = "c";
  RecordBuilder b(kSchedProcessExit);
  std::memcpy(b.header().comm, "x", 2);
  ASSERT_TRUE(Decode(b.U64(0, 1).Build(), e).ok());
  EXPECT_EQ(e.def->name, "sched_process_exit");
  EXPECT_EQ(e.comm, "x");
  EXPECT_THAT(ArgNames(e), ElementsAre("exit_code"));
  EXPECT_EQ(e.executable, "") << "enrichment of the previous event must not carry over";
  EXPECT_EQ(e.host_name, "");
  EXPECT_EQ(e.container_id, "");
}

TEST(Decoder, BootToEpochOffsetMapsBootTimeToNow) {
  int64_t offset = Decoder::BootToEpochOffsetNow();
  timespec boot{}, real{};
  clock_gettime(CLOCK_BOOTTIME, &boot);
  clock_gettime(CLOCK_REALTIME, &real);
  int64_t boot_ns = boot.tv_sec * 1'000'000'000LL + boot.tv_nsec;
  int64_t real_ns = real.tv_sec * 1'000'000'000LL + real.tv_nsec;
  EXPECT_NEAR(static_cast<double>(boot_ns + offset), static_cast<double>(real_ns), 50e6);
}

// ------------------------------------------------------------ malformed

TEST(Decoder, RecordShorterThanItsHeaderIsAnError) {
  std::vector<uint8_t> rec = RecordBuilder(Id("openat"), 257).Build();
  for (size_t size : {size_t{0}, size_t{1}, sizeof(vg_event_header) - 1}) {
    std::vector<uint8_t> cut(rec.begin(), rec.begin() + static_cast<long>(size));
    Event e;
    absl::Status st = Decode(cut, e);
    EXPECT_FALSE(st.ok()) << size;
    EXPECT_THAT(Message(st), HasSubstr("header")) << size;
  }
}

TEST(Decoder, ArgsSizeOverrunningTheRecordIsAnError) {
  std::vector<uint8_t> rec = RecordBuilder(Id("openat"), 257).U64(0, 3).ArgsSize(11).Build();
  ASSERT_EQ(rec.size(), sizeof(vg_event_header) + 10);
  Event e;
  absl::Status st = Decode(rec, e);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(Message(st), HasSubstr("overrun"));

  rec = RecordBuilder(Id("openat"), 257).ArgsSize(0xffffffffu).Build();
  EXPECT_FALSE(Decode(rec, e).ok());
}

TEST(Decoder, StringLengthOverrunningTheRecordIsAnError) {
  std::vector<uint8_t> rec = RecordBuilder(Id("openat"), 257).Str(1, "/etc/passwd").Build();
  // Claim 200 bytes where 11 follow.
  uint16_t len = 200;
  std::memcpy(rec.data() + sizeof(vg_event_header) + 2, &len, sizeof(len));
  Event e;
  absl::Status st = Decode(rec, e);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(Message(st), HasSubstr("pathname"));
}

TEST(Decoder, StringLengthPastArgsSizeButInsideTheRecordIsAnError) {
  // args_size bounds the arguments even when the record has more bytes.
  std::vector<uint8_t> rec =
      RecordBuilder(Id("openat"), 257).Str(1, "/etc/passwd").ArgsSize(2 + 2 + 4).Build();
  Event e;
  EXPECT_FALSE(Decode(rec, e).ok());
}

TEST(Decoder, StringArrayItemOverrunningIsAnError) {
  std::vector<uint8_t> rec = RecordBuilder(Id("execve"), 59).StrArr(1, {"a", "bcd"}).Build();
  rec.pop_back();  // the last item's last byte
  vg_event_header h;
  std::memcpy(&h, rec.data(), sizeof(h));
  h.args_size -= 1;
  std::memcpy(rec.data(), &h, sizeof(h));
  Event e;
  absl::Status st = Decode(rec, e);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(Message(st), HasSubstr("argv"));
}

TEST(Decoder, ValueCutShortIsAnError) {
  std::vector<uint8_t> rec = RecordBuilder(Id("openat"), 257).Raw({0, VG_KIND_U64, 1, 2, 3}).Argc(1).Build();
  Event e;
  EXPECT_FALSE(Decode(rec, e).ok());
}

TEST(Decoder, MoreArgumentsClaimedThanEncodedIsAnError) {
  std::vector<uint8_t> rec = RecordBuilder(Id("openat"), 257).U64(0, 3).Argc(2).Build();
  Event e;
  EXPECT_FALSE(Decode(rec, e).ok());
}

TEST(Decoder, UnknownEventIdIsAnErrorNamingIt) {
  std::vector<uint8_t> rec = RecordBuilder(1999).Build();
  ASSERT_EQ(Reg().FindId(1999), nullptr);
  Event e;
  absl::Status st = Decode(rec, e);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(Message(st), HasSubstr("1999"));
}

TEST(Decoder, UnknownArgumentKindIsAnError) {
  for (uint8_t kind : {uint8_t{VG_KIND_NONE}, uint8_t{6}, uint8_t{0xff}}) {
    std::vector<uint8_t> rec =
        RecordBuilder(Id("openat"), 257).Raw({0, kind, 0, 0, 0, 0, 0, 0, 0, 0}).Argc(1).Build();
    Event e;
    absl::Status st = Decode(rec, e);
    EXPECT_FALSE(st.ok()) << int{kind};
    EXPECT_THAT(Message(st), HasSubstr("kind")) << int{kind};
  }
}

TEST(Decoder, ArgumentIndexOutOfRangeIsAnError) {
  // openat has 4 arguments: index 4 does not exist.
  std::vector<uint8_t> rec = RecordBuilder(Id("openat"), 257).U64(4, 1).Build();
  Event e;
  absl::Status st = Decode(rec, e);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(Message(st), HasSubstr("index 4"));

  rec = RecordBuilder(Id("getpid"), 39).U64(0, 1).Build();  // no arguments at all
  EXPECT_FALSE(Decode(rec, e).ok());
}

TEST(Decoder, GarbageNeverCrashes) {
  // Every prefix of a valid record, and random bytes in the argument area:
  // errors or events, but no out-of-bounds reads (run under ASan to be sure).
  std::vector<uint8_t> rec =
      RecordBuilder(Id("execve"), 59).Str(0, "/usr/bin/env").StrArr(1, {"env", "x"}).U64(2, 1).Build();
  Event e;
  for (size_t n = 0; n <= rec.size(); ++n) {
    std::vector<uint8_t> cut(rec.begin(), rec.begin() + static_cast<long>(n));
    (void)Decode(cut, e);
  }
  uint32_t seed = 12345;
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> r = rec;
    for (size_t i = sizeof(vg_event_header); i < r.size(); ++i) {
      seed = seed * 1103515245u + 12345u;
      if ((seed >> 16) % 7 == 0) r[i] = static_cast<uint8_t>(seed >> 24);
    }
    (void)Decode(r, e);
  }
  SUCCEED();
}

}  // namespace
}  // namespace vigil::events
