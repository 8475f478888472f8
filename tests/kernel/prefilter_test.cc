// The in-kernel prefilter of detection inputs (bpf/security.bpf.h,
// detect_open_passes): when only detections take security_file_open, opens
// no table entry matches are dropped before a record is built (and counted
// as filtered); the others arrive whole. Tables from the built-in rules and
// by hand, one per kind of entry.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness.h"
#include "vigil/engine/bpf_sensor.h"
#include "vigil/rules/rules.h"

namespace vigil::ktest {
namespace {

using engine::BpfSensor;
using engine::DetectPrefilterPlan;
using events::Event;
using rules::FileOpenPrefilter;

constexpr uint32_t kRead = (1u << 0) | (1u << 2), kWrite = (1u << 1) | (1u << 2);

class PrefilterTest : public BpfTest {
 protected:
  void SetUp() override {
    BpfTest::SetUp();
    if (IsSkipped()) return;
    char tmpl[] = "/tmp/vigil-kt-prefilter-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  std::unique_ptr<Sensor> Start(const DetectPrefilterPlan& plan) {
    BpfSensor::Options options;
    options.track_processes = false;
    auto s = Sensor::Start({"security_file_open"}, options);
    if (s == nullptr) return nullptr;
    absl::Status st = s->bpf().WritePolicyTables({}, {}, plan);
    EXPECT_TRUE(st.ok()) << st;
    return st.ok() ? std::move(s) : nullptr;
  }
  std::string File(const std::string& rel) {
    std::string path = dir_ + "/" + rel;
    std::system(("mkdir -p \"$(dirname '" + path + "')\"").c_str());
    std::ofstream(path) << "x";
    return path;
  }
  // Opens each (path, flags) `times` times in a child; returns its pid.
  pid_t OpenAll(const std::vector<std::pair<std::string, int>>& opens, int times = 1) {
    pid_t child = Spawn([&] {
      for (int i = 0; i < times; ++i)
        for (const auto& [path, flags] : opens) {
          int fd = open(path.c_str(), flags | O_CLOEXEC);
          if (fd < 0) return 1;
          close(fd);
        }
      return 0;
    });
    EXPECT_EQ(WaitExit(child), 0);
    return child;
  }
  static std::function<bool(const Event&)> Path(const std::string& p) {
    return [p](const Event& e) { return StrArgOrMark(e, "pathname") == p; };
  }
  std::string dir_;
};

TEST_F(PrefilterTest, BuiltinRulesDropUnrelatedOpensInTheKernel) {
  auto engine = rules::DetectionEngine::Create({}, events::Registry::Builtin());
  ASSERT_TRUE(engine.ok()) << engine.status();
  std::set<uint32_t> ids;
  for (const events::EventDef& d : (*engine)->event_defs()) ids.insert(d.id);
  (*engine)->Enable(ids);
  DetectPrefilterPlan plan{.open_detect_only = 1, .open = (*engine)->OpenPrefilter()};
  ASSERT_FALSE(plan.open.pass_all) << plan.open.reason;
  auto s = Start(plan);
  ASSERT_NE(s, nullptr);

  const std::string unrelated = RealPath(File("wlb_open.tmp"));
  const std::string shadow = RealPath(File("etc/shadow"));          // basename "shadow", read
  const std::string pam = RealPath(File("etc/pam.d/common-auth"));  // parent "pam.d", read
  const std::string sock = RealPath(File("run/docker.sock"));       // suffix "docker.sock", written
  const std::string loader = RealPath(File("lib/ld-evil.so.2"));    // basename prefix "ld", written
  engine::KernelCounters before = s->bpf().ReadCounters();
  constexpr int kTimes = 200;
  pid_t noise = OpenAll({{unrelated, O_RDONLY}, {sock, O_RDONLY}, {loader, O_RDONLY}}, kTimes);
  pid_t hits = OpenAll({{shadow, O_RDONLY}, {pam, O_RDONLY}, {sock, O_RDWR}, {loader, O_WRONLY}});
  ASSERT_NE(s->Await("security_file_open", hits, Path(loader)), nullptr) << "the written ld* file";
  s->DrainFor(300);
  engine::KernelCounters after = s->bpf().ReadCounters();
  for (const std::string& p : {shadow, pam, sock, loader})
    EXPECT_NE(s->First("security_file_open", hits, Path(p)), nullptr) << p << " was dropped";
  EXPECT_THAT(s->Find("security_file_open", noise), ::testing::IsEmpty())
      << "opens no rule can match reached user space";
  EXPECT_GE(after.filtered_kernel - before.filtered_kernel, 3u * kTimes);
  // The arriving records are whole (the prefilter only decides).
  const Event* e = s->First("security_file_open", hits, Path(shadow));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->policies, 1u);
  EXPECT_EQ(StrArgOrMark(*e, "syscall_pathname"), shadow);
}

TEST_F(PrefilterTest, PathPrefixesAreDecidedOnTheTopComponents) {
  // dir_ is /tmp/vigil-kt-prefilter-XXXXXX: prefixes below it, within the
  // four components the kernel compares, across /tmp's mount if it is one.
  FileOpenPrefilter pf;
  pf.pass_all = false;
  pf.prefixes.push_back({dir_ + "/keys/", {kRead, 0}});
  pf.prefixes.push_back({dir_ + "/lo", {kWrite, 01000 /* O_TRUNC */}});
  auto s = Start({.open_detect_only = 1, .open = pf});
  ASSERT_NE(s, nullptr);
  const std::string key = File("keys/a/b/c/d/secret");
  const std::string log = File("logs/x.log");
  const std::string other = File("other/keys/secret");
  pid_t child = OpenAll({{key, O_RDONLY},
                         {log, O_WRONLY | O_TRUNC},
                         {log, O_WRONLY | O_APPEND},
                         {other, O_RDONLY},
                         {key, O_WRONLY}});
  ASSERT_NE(s->Await("security_file_open", child, Path(log)), nullptr);
  s->DrainFor(300);
  std::vector<std::string> seen;
  for (const Event* e : s->Find("security_file_open", child))
    seen.push_back(StrArgOrMark(*e, "pathname") + " " + StrArgOrMark(*e, "flags"));
  EXPECT_THAT(seen, ::testing::UnorderedElementsAre(::testing::StartsWith(key + " O_RDONLY"),
                                                    ::testing::StartsWith(log + " O_WRONLY|O_TRUNC")));
}

TEST_F(PrefilterTest, PolicyThatOutputsTheEventGetsEveryOpen) {
  FileOpenPrefilter pf;
  pf.pass_all = false;  // nothing passes the tables
  // Policy 0 (bit 1) outputs security_file_open; only policy 1 (bit 2) would be detection-only.
  auto s = Start({.open_detect_only = 2, .open = pf});
  ASSERT_NE(s, nullptr);
  const std::string f = File("plain");
  pid_t child = OpenAll({{f, O_RDONLY}});
  EXPECT_NE(s->Await("security_file_open", child, Path(RealPath(f))), nullptr);
}

}  // namespace
}  // namespace vigil::ktest
