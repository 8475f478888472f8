// Kernel test of bpf/inode_ctime.h (issue 9 item 9): vg_inode_ctime picks
// the ctime fields of whichever struct inode layout the kernel has, by CO-RE
// field-existence checks. The test object (inode_ctime_test.bpf.c) is
// loaded against a synthetic kernel BTF of each layout (libbpf's
// btf_custom_path), so its relocations resolve as on a 6.11+, a 6.6-6.10
// and an older kernel; its program reads a fake inode, an array-map value
// holding a different ctime at each layout's offsets, and the test checks
// that it returned the one of the layout it was loaded against.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "inode_ctime_test.skel.h"

namespace vigil::ktest {
namespace {

constexpr size_t kInodeBytes = 4096;  // VG_FAKE_INODE_BYTES
constexpr uint64_t kNs = 1000000000ULL;

// Where each layout keeps its ctime in the synthetic struct inode (bytes);
// distinct, so that reading another layout's offsets gives another value.
constexpr uint32_t kSecOffset611 = 360;   // time64_t i_ctime_sec
constexpr uint32_t kNsecOffset611 = 376;  // u32 i_ctime_nsec
constexpr uint32_t kDunderOffset = 200;   // struct timespec64 __i_ctime
constexpr uint32_t kOldOffset = 88;       // struct timespec64 i_ctime

// The ctime the fake inode holds at each layout's offsets.
constexpr int64_t kSec611 = 1700000011, kNsec611 = 111111111;
constexpr int64_t kSecDunder = 1600000066, kNsecDunder = 666666666;
constexpr int64_t kSecOld = 1500000005, kNsecOld = 555555555;
constexpr uint32_t kMultigrainQueried = 1u << 31;  // i_ctime_nsec's flag since 6.13

enum class Layout { k611, kDunder, kOld, kNone };

// libbpf's log, kept for the failure message of a load.
std::string& LibbpfLog() {
  static std::string log;
  return log;
}
int KeepLog(enum libbpf_print_level, const char* fmt, va_list args) {
  char line[1024];
  vsnprintf(line, sizeof(line), fmt, args);
  LibbpfLog() += line;
  return 0;
}

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};

// A kernel BTF whose struct inode has `layout`'s ctime fields, and a few
// fields around them, written to a temporary file whose path it returns.
std::string WriteKernelBtf(Layout layout) {
  std::unique_ptr<btf, BtfDeleter> b(btf__new_empty());
  EXPECT_NE(b, nullptr);
  if (!b) return "";
  const int s64 = btf__add_int(b.get(), "long long int", 8, BTF_INT_SIGNED);
  const int slong = btf__add_int(b.get(), "long int", 8, BTF_INT_SIGNED);
  const int u32 = btf__add_int(b.get(), "unsigned int", 4, 0);
  const int u16 = btf__add_int(b.get(), "short unsigned int", 2, 0);
  const int time64 = btf__add_typedef(b.get(), "time64_t", s64);
  const int u32_t = btf__add_typedef(b.get(), "u32", u32);
  const int umode = btf__add_typedef(b.get(), "umode_t", u16);
  const int ts64 = btf__add_struct(b.get(), "timespec64", 16);
  EXPECT_EQ(btf__add_field(b.get(), "tv_sec", time64, 0, 0), 0);
  EXPECT_EQ(btf__add_field(b.get(), "tv_nsec", slong, 64, 0), 0);
  const int inode = btf__add_struct(b.get(), "inode", 600);
  EXPECT_GT(inode, 0);
  EXPECT_EQ(btf__add_field(b.get(), "i_mode", umode, 0, 0), 0);
  switch (layout) {
    case Layout::k611:
      EXPECT_EQ(btf__add_field(b.get(), "i_ctime_sec", time64, kSecOffset611 * 8, 0), 0);
      EXPECT_EQ(btf__add_field(b.get(), "i_ctime_nsec", u32_t, kNsecOffset611 * 8, 0), 0);
      break;
    case Layout::kDunder:
      EXPECT_EQ(btf__add_field(b.get(), "__i_ctime", ts64, kDunderOffset * 8, 0), 0);
      break;
    case Layout::kOld:
      EXPECT_EQ(btf__add_field(b.get(), "i_ctime", ts64, kOldOffset * 8, 0), 0);
      break;
    case Layout::kNone:
      break;
  }
  EXPECT_EQ(btf__add_field(b.get(), "i_ino", slong, 512 * 8, 0), 0);

  uint32_t size = 0;
  const void* raw = btf__raw_data(b.get(), &size);
  EXPECT_NE(raw, nullptr);
  char path[] = "/tmp/vigil-inode-ctime-btf.XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0) << strerror(errno);
  if (fd < 0 || raw == nullptr) return "";
  EXPECT_EQ(write(fd, raw, size), static_cast<ssize_t>(size));
  close(fd);
  return path;
}

struct SkelDeleter {
  void operator()(inode_ctime_test_bpf* s) const { inode_ctime_test_bpf__destroy(s); }
};

template <typename T>
void Put(std::vector<uint8_t>& bytes, uint32_t offset, T value) {
  memcpy(bytes.data() + offset, &value, sizeof(value));
}

// What vg_inode_ctime returns, loaded against a kernel BTF of `layout`, for
// the fake inode (every layout's offsets hold their own ctime).
uint64_t CtimeAs(Layout layout) {
  const std::string btf_path = WriteKernelBtf(layout);
  if (btf_path.empty()) return 0;
  LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf_path.c_str());
  LibbpfLog().clear();
  libbpf_print_fn_t old_print = libbpf_set_print(KeepLog);
  std::unique_ptr<inode_ctime_test_bpf, SkelDeleter> skel(inode_ctime_test_bpf__open_opts(&opts));
  const int loaded = skel ? inode_ctime_test_bpf__load(skel.get()) : -1;
  libbpf_set_print(old_print);
  unlink(btf_path.c_str());
  EXPECT_NE(skel, nullptr) << LibbpfLog();
  EXPECT_EQ(loaded, 0) << LibbpfLog();
  if (!skel || loaded != 0) return 0;

  std::vector<uint8_t> inode(kInodeBytes, 0);
  Put<int64_t>(inode, kSecOffset611, kSec611);
  Put<uint32_t>(inode, kNsecOffset611, static_cast<uint32_t>(kNsec611) | kMultigrainQueried);
  Put<int64_t>(inode, kDunderOffset, kSecDunder);
  Put<int64_t>(inode, kDunderOffset + 8, kNsecDunder);
  Put<int64_t>(inode, kOldOffset, kSecOld);
  Put<int64_t>(inode, kOldOffset + 8, kNsecOld);
  const uint32_t key = 0;
  EXPECT_EQ(bpf_map__update_elem(skel->maps.fake_inode, &key, sizeof(key), inode.data(), inode.size(), BPF_ANY), 0)
      << strerror(errno);

  LIBBPF_OPTS(bpf_test_run_opts, run);
  EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.vg_test_inode_ctime), &run), 0) << strerror(errno);
  EXPECT_EQ(run.retval, 0u);
  EXPECT_EQ(skel->bss->ran, 1u) << "the program did not run";
  return skel->bss->ctime_ns;
}

class InodeCtimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "loads BPF programs and needs root (euid is " << geteuid() << ")";
  }
};

TEST_F(InodeCtimeTest, Since611ReadsCtimeSecAndNsecWithoutTheMultigrainBit) {
  EXPECT_EQ(CtimeAs(Layout::k611), kSec611 * kNs + kNsec611);
}

TEST_F(InodeCtimeTest, From66To610ReadsDunderICtime) {
  EXPECT_EQ(CtimeAs(Layout::kDunder), kSecDunder * kNs + kNsecDunder);
}

TEST_F(InodeCtimeTest, Before66ReadsICtime) {
  EXPECT_EQ(CtimeAs(Layout::kOld), kSecOld * kNs + kNsecOld);
}

TEST_F(InodeCtimeTest, NoKnownLayoutGivesZero) {
  EXPECT_EQ(CtimeAs(Layout::kNone), 0u);
}

}  // namespace
}  // namespace vigil::ktest
