// The file-open prefilter (DetectionEngine::OpenPrefilter): every open a rule
// fires on passes it; opens no rule can match do not; conditions the kernel
// cannot decide make it pass everything; user rules change the tables.
#include <iostream>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rules_test_util.h"

namespace vigil::rules {
namespace {

using testing::Ev;
using testing::FakeLookup;
using testing::Fired;
using ::testing::IsEmpty;

constexpr int64_t kRd = 0, kWr = 01, kRdWr = 02, kCreat = 0100, kTrunc = 01000, kAppend = 02000;

std::unique_ptr<DetectionEngine> Engine(std::vector<std::pair<std::string, std::string>> texts = {}) {
  auto e = DetectionEngine::Create({.texts = std::move(texts)}, events::Registry::Builtin());
  EXPECT_TRUE(e.ok()) << e.status();
  if (!e.ok()) return nullptr;
  (*e)->Enable(testing::AllIds(**e));
  return std::move(*e);
}

events::Event Open(const std::string& path, int64_t flags, bool container = false) {
  events::Event e = Ev("security_file_open", {{"pathname", path}, {"flags", flags}});
  if (container) e.container_id = "0123456789ab";
  return e;
}

// Opens that fire the built-in rules (from rules_builtin_test), in and out of containers.
struct Case {
  std::string path;
  int64_t flags;
  bool container;
};
const std::vector<Case>& FiringOpens() {
  static const std::vector<Case> cases = {
      {"/proc/sys/kernel/randomize_va_space", kRd, false},
      {"/sys/fs/cgroup/x/notify_on_release", kWr, true},
      {"/sys/fs/cgroup/rdma/release_agent", kWr, true},
      {"/proc/sys/kernel/core_pattern", kWr | kTrunc, true},
      {"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", kRdWr, false},
      {"/lib64/ld-linux-x86-64.so.2", kWr, false},
      {"/run/docker.sock", kRdWr, true},
      {"/var/run/secrets/kubernetes.io/serviceaccount/token", kRd, true},
      {"/etc/kubernetes/pki/ca.key", kRd, false},
      {"/etc/kubernetes/pki/etcd/ca.key", kRd, false},
      {"/etc/ld.so.preload", kWr | kCreat, false},
      {"/proc/kcore", kRd, true},
      {"/proc/1234/mem", kRd, false},
      {"/proc/self/mem", kWr, false},
      {"/proc/1234/task/1235/mem", kRdWr, false},
      {"/etc/init.d/evil", kWr | kCreat, false},
      {"/etc/rc.local", kWr, false},
      {"/proc/sched_debug", kRd, true},
      {"/sys/kernel/debug/sched/debug", kRd, true},
      {"/etc/cron.d/job", kWr | kCreat, false},
      {"/etc/crontab", kRdWr, false},
      {"/var/spool/cron/crontabs/root", kWr, false},
      {"/etc/sudoers", kWr, false},
      {"/etc/sudoers.d/evil", kWr | kCreat, false},
      {"/proc/sysrq-trigger", kWr, true},
      {"/proc/sys/kernel/sysrq", kWr, true},
      {"/etc/shadow", kRd, false},
      {"/etc/gshadow", kRdWr, false},
      {"/etc/pam.d/common-auth", kRd, false},
      {"/etc/sudoers.d/README", kRd, false},
      {"/var/log/auth.log", kWr | kTrunc, false},
      {"/var/log/nginx/access.log", kRdWr | kTrunc, false},
      {"/home/u/.bashrc", kWr | kAppend, false},
      {"/etc/profile", kWr, false},
      {"/root/.ssh/authorized_keys", kWr | kAppend, false},
      {"/root/.bash_history", kWr | kTrunc, false},
  };
  return cases;
}

// The inputs of `name` (a detection of `engine`) include security_file_open.
bool ConsumesOpen(const events::EventDef& d) {
  return std::find(d.dependencies.begin(), d.dependencies.end(), "security_file_open") != d.dependencies.end();
}

TEST(OpenPrefilter, EveryBuiltinRuleOnOpensHasAFiringOpenAndItPasses) {
  auto engine = Engine();
  ASSERT_NE(engine, nullptr);
  FileOpenPrefilter pf = engine->OpenPrefilter();
  ASSERT_FALSE(pf.pass_all) << pf.reason;
  std::cout << "built-in prefilter: " << pf.Describe() << "\n";
  std::set<std::string> fired;
  for (const Case& c : FiringOpens()) {
    std::vector<std::string> names = Fired(*engine, Open(c.path, c.flags, c.container));
    EXPECT_THAT(names, ::testing::Not(IsEmpty())) << c.path << " fires nothing (fix the case)";
    fired.insert(names.begin(), names.end());
    EXPECT_TRUE(pf.Passes(c.path, c.flags)) << c.path << " flags " << c.flags << " fires " << names.size()
                                            << " detections but the prefilter drops it";
  }
  // A new built-in rule on opens needs a case here.
  for (const events::EventDef& d : engine->event_defs()) {
    if (!ConsumesOpen(d) || !d.detection->unavailable.empty()) continue;
    EXPECT_TRUE(fired.contains(d.name)) << d.name << " consumes security_file_open: add an open that fires it";
  }
}

// Soundness over a corpus: each firing open, its neighbours (other modes and
// flags, other directories, containers), and unrelated files.
TEST(OpenPrefilter, NoOpenThatFiresIsDropped) {
  auto engine = Engine();
  ASSERT_NE(engine, nullptr);
  FileOpenPrefilter pf = engine->OpenPrefilter();
  std::vector<std::string> paths = {"/tmp/x", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/etc/ld.so.cache",
                                    "/a/b/c/d/e/f/g", "/", "/etc", "/var/log", "/etc/kubernetes/pki"};
  for (const Case& c : FiringOpens()) {
    std::string p = c.path;
    paths.push_back(p);
    size_t slash = p.rfind('/');
    paths.push_back("/x" + p);                                   // one level deeper
    paths.push_back(p.substr(0, slash) + "/sub" + p.substr(slash));  // a directory more
    paths.push_back(p + ".bak");
    paths.push_back(p.substr(0, slash + 1) + "x" + p.substr(slash + 1));
  }
  FakeLookup lookup;
  lookup.ancestors = {{"bash", "/usr/bin/bash"}, {"sshd", "/usr/sbin/sshd"}};
  int checked = 0, firing = 0;
  for (const std::string& p : paths)
    for (int64_t mode : {kRd, kWr, kRdWr, int64_t{3}})
      for (int64_t extra : {int64_t{0}, kCreat, kTrunc, kAppend, kCreat | kTrunc})
        for (bool container : {false, true}) {
          ++checked;
          if (Fired(*engine, Open(p, mode | extra, container), lookup).empty()) continue;
          ++firing;
          EXPECT_TRUE(pf.Passes(p, mode | extra)) << p << " flags " << (mode | extra);
        }
  EXPECT_GT(firing, 100) << "of " << checked;
}

TEST(OpenPrefilter, UnrelatedOpensDoNotPass) {
  auto engine = Engine();
  ASSERT_NE(engine, nullptr);
  FileOpenPrefilter pf = engine->OpenPrefilter();
  EXPECT_FALSE(pf.Passes("/tmp/tmp.XyZ/wlb_open.tmp", kRd));
  EXPECT_FALSE(pf.Passes("/tmp/tmp.XyZ/wlb_open.tmp", kRd | 0400 /* O_NOCTTY */));
  EXPECT_FALSE(pf.Passes("/usr/lib/x86_64-linux-gnu/libc.so.6", kRd | 02000000));
  EXPECT_FALSE(pf.Passes("/etc/ld.so.cache", kRd | 02000000));
  EXPECT_FALSE(pf.Passes("/home/u/src/main.cc", kWr | kCreat));
  // Kinds the tables hold for the built-ins.
  EXPECT_TRUE(pf.Passes("/etc/shadow", kRd));                       // basename
  EXPECT_TRUE(pf.Passes("/etc/pam.d/common-auth", kRd));            // parent directory name
  EXPECT_TRUE(pf.Passes("/etc/kubernetes/pki/apiserver.key", kRd)); // path prefix
  EXPECT_TRUE(pf.Passes("/x/y/docker.sock", kWr));                  // basename suffix
  EXPECT_TRUE(pf.Passes("/var/log/x/y.log", kWr | kTrunc));         // path prefix and flags
  EXPECT_FALSE(pf.Passes("/var/log/x/y.log", kWr | kAppend));
}

TEST(OpenPrefilter, IrreducibleConditionsPassEverything) {
  for (std::string cond : {"evt.name = security_file_open and proc.name = evil",
                           "evt.name = security_file_open and not fd.name = /tmp/x",
                           "evt.name = security_file_open and fd.name contains secret",
                           "evt.name = security_file_open and (fd.filename = a or user.uid = 0)"}) {
    auto engine = Engine({{"user.yaml", "- rule: User open rule\n  desc: d\n  condition: " + cond +
                                            "\n  output: o\n  priority: warning\n"}});
    ASSERT_NE(engine, nullptr);
    FileOpenPrefilter pf = engine->OpenPrefilter();
    EXPECT_TRUE(pf.pass_all) << cond;
    EXPECT_FALSE(pf.reason.empty());
    EXPECT_TRUE(pf.Passes("/tmp/anything", kRd)) << cond;
  }
}

TEST(OpenPrefilter, AUserRuleChangesTheTables) {
  auto builtin = Engine();
  ASSERT_NE(builtin, nullptr);
  EXPECT_FALSE(builtin->OpenPrefilter().Passes("/srv/app/wlb_special.conf", kRd));
  auto engine = Engine({{"user.yaml",
                         "- rule: Special config read\n  desc: d\n"
                         "  condition: open_read and fd.filename = wlb_special.conf\n"
                         "  output: o\n  priority: warning\n"
                         "- rule: Secrets dir write\n  desc: d\n"
                         "  condition: open_write and fd.name startswith /srv/secrets/\n"
                         "  output: o\n  priority: warning\n"}});
  ASSERT_NE(engine, nullptr);
  FileOpenPrefilter pf = engine->OpenPrefilter();
  ASSERT_FALSE(pf.pass_all) << pf.reason;
  EXPECT_TRUE(pf.Passes("/srv/app/wlb_special.conf", kRd));
  EXPECT_FALSE(pf.Passes("/srv/app/wlb_special.conf", kWr)) << "open_read: written opens need another rule";
  EXPECT_TRUE(pf.Passes("/srv/secrets/a/b", kWr));
  EXPECT_FALSE(pf.Passes("/srv/secrets/a/b", kRd));
  EXPECT_FALSE(pf.Passes("/srv/other/a", kWr));
  bool listed = false;
  for (const FileOpenPrefilter::Name& n : pf.names)
    listed |= n.kind == FileOpenPrefilter::NameKind::kBasename && n.text == "wlb_special.conf";
  EXPECT_TRUE(listed);
}

TEST(OpenPrefilter, NoEnabledRuleOnOpensDropsEveryOpen) {
  auto e = DetectionEngine::Create({}, events::Registry::Builtin());
  ASSERT_TRUE(e.ok());
  (*e)->Enable({});
  FileOpenPrefilter pf = (*e)->OpenPrefilter();
  EXPECT_FALSE(pf.pass_all);
  EXPECT_FALSE(pf.Passes("/etc/shadow", kRd));
}

TEST(OpenPrefilter, LongNamesAndDeepPrefixesStaySound) {
  std::string long_name(80, 'n');
  auto engine = Engine({{"user.yaml", "- rule: Long name\n  desc: d\n  condition: open_write and fd.filename = " +
                                          long_name +
                                          "\n  output: o\n  priority: warning\n"
                                          "- rule: Deep prefix\n  desc: d\n"
                                          "  condition: open_read and fd.name startswith /a/b/c/d/e/f/\n"
                                          "  output: o\n  priority: warning\n"}});
  ASSERT_NE(engine, nullptr);
  FileOpenPrefilter pf = engine->OpenPrefilter();
  EXPECT_TRUE(pf.Passes("/x/" + long_name, kWr));
  EXPECT_TRUE(pf.Passes("/a/b/c/d/e/f/g", kRd));
  EXPECT_TRUE(pf.Passes("/a/b/c/d/x", kRd)) << "cut to 4 components: a weaker condition";
  EXPECT_FALSE(pf.Passes("/a/b/c/x/e/f/g", kRd));
}

}  // namespace
}  // namespace vigil::rules
