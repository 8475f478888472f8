// The kernel's pathname filters as planned from policies (engine/path_filters.h):
// which events and policies the kernel decides, the trie entries, and that
// user space then trusts the kernel's verdict (the record's pathname is the
// caller's string, e.g. "shadow" after cd /etc, which the pattern does not
// match as text).
#include "vigil/engine/path_filters.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "path_watch.h"
#include "vigil/events/registry.h"
#include "vigil/policies/compile.h"
#include "vigil/policies/policy.h"

namespace vigil::engine {
namespace {

policies::CompiledPolicies CompileYaml(const std::string& yaml) {
  absl::StatusOr<std::vector<policies::Policy>> parsed = policies::ParsePolicies(yaml, "p.yaml");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<policies::CompiledPolicies> c = policies::Compile(*parsed, events::Registry::Builtin());
  EXPECT_TRUE(c.ok()) << c.status();
  return std::move(*c);
}

constexpr const char* kPolicy = R"(apiVersion: vigil.dev/v1
kind: Policy
metadata:
  name: files
spec:
  scope:
    - global
  rules:
    - event: openat
      filters:
        - data.pathname=/etc/shadow,/etc/sudoers.d/*
        - data.flags=*O_RDONLY*
    - event: security_inode_rename
      filters:
        - data.new_path=/etc/cron.d/*
    - event: open
      filters:
        - data.pathname=*shadow
)";

events::Event EventOf(const char* name, const char* arg, const char* value) {
  const events::Registry& r = events::Registry::Builtin();
  events::Event e;
  e.def = r.Find(name);
  e.SetArg(e.def->ArgIndex(arg)).value = std::string(value);
  return e;
}

TEST(PathFiltersTest, ThePlannedFilterIsDecidedInTheKernelAndTrustedInUserSpace) {
  policies::CompiledPolicies c = CompileYaml(kPolicy);
  const events::Registry& r = events::Registry::Builtin();
  PathFilterPlan plan = PlanPathFilters(c, r);
  const uint32_t openat = r.Find("openat")->id, rename = r.Find("security_inode_rename")->id;
  ASSERT_TRUE(plan.events.contains(openat));
  EXPECT_EQ(plan.events[openat].policies, 1u);
  EXPECT_EQ(plan.events[openat].arg, r.Find("openat")->ArgIndex("pathname"));
  ASSERT_TRUE(plan.events.contains(rename)) << "security_inode_rename's new_path is filtered in the kernel";
  EXPECT_EQ(plan.events[rename].arg, r.Find("security_inode_rename")->ArgIndex("new_path"));
  // A suffix pattern is no trie key: user space decides it.
  EXPECT_FALSE(plan.events.contains(r.Find("open")->id));

  std::vector<std::string> keys;
  for (const PathFilterEntry& e : plan.entries) keys.push_back(e.key);
  EXPECT_EQ(keys, (std::vector<std::string>{std::string("/etc/shadow\0", 12), "/etc/sudoers.d/",
                                            "/etc/cron.d/"}));

  // The kernel passed "shadow" (opened after cd /etc): user space keeps it,
  // and still applies the other filter of the rule.
  events::Event rel = EventOf("openat", "pathname", "shadow");
  const int flags = rel.def->ArgIndex("flags");
  rel.SetArg(flags).value = uint64_t{O_RDONLY};  // typed, as decoded
  EXPECT_EQ(c.MatchUser(rel, 1), 1u);
  rel.SetArg(flags).value = uint64_t{O_WRONLY};
  EXPECT_EQ(c.MatchUser(rel, 1), 0u);
  // A renamed file the kernel passed (resolved against its directory).
  EXPECT_EQ(c.MatchUser(EventOf("security_inode_rename", "new_path", "/etc/cron.d/x"), 1), 1u);
  // What the kernel does not decide is still matched as text.
  EXPECT_EQ(c.MatchUser(EventOf("open", "pathname", "/tmp/x"), 1), 0u);
  EXPECT_EQ(c.MatchUser(EventOf("open", "pathname", "/tmp/shadow"), 1), 1u);
}

TEST(PathFiltersTest, WithoutThePlanUserSpaceMatchesTheTextAsBefore) {
  policies::CompiledPolicies c = CompileYaml(kPolicy);
  events::Event rel = EventOf("openat", "pathname", "shadow");
  rel.SetArg(rel.def->ArgIndex("flags")).value = uint64_t{O_RDONLY};
  EXPECT_EQ(c.MatchUser(rel, 1), 0u);
}

// The open fast path's plan (bpf/path_watch.h): each absolute pattern's
// directory, the exact patterns' files, and the string bloom over the
// first bytes (the shortest pattern's length) of every pattern.
TEST(PathWatchTest, PlansDirectoriesFilesAndTheStringBloom) {
  PathFilterPlan paths;
  paths.entries = {{1, std::string("/etc/shadow\0", 12), 1},
                   {1, "/etc/ssh/ssh_host_", 1},
                   {2, std::string("shadow\0", 7), 2}};
  const PathWatchPlan plan = PlanPathWatch(paths, {"/var/log/", "relative/"});
  EXPECT_EQ(plan.dirs, (std::vector<std::string>{"/etc", "/etc/ssh", "/var/log"}));
  EXPECT_EQ(plan.files, (std::vector<std::string>{"/etc/shadow"}));
  ASSERT_EQ(plan.str_prefix_len, 7u);  // "shadow\0"
  ASSERT_EQ(plan.str_bloom.size(), size_t{VG_STR_BLOOM_WORDS});
  auto has = [&](std::string_view s) {
    uint64_t first = 0;
    std::memcpy(&first, s.data(), std::min<size_t>(s.size(), plan.str_prefix_len));
    uint32_t bit = vg_str_bit(first);
    return ((plan.str_bloom[bit / 64] >> (bit % 64)) & 1) != 0;
  };
  EXPECT_TRUE(has("/etc/shadow"));
  EXPECT_TRUE(has("/etc/ssh/ssh_host_rsa_key"));
  EXPECT_TRUE(has(std::string("shadow\0", 7)));
  int unrelated = 0;
  for (std::string_view s : {"/tmp/wlb_target", "/usr/lib/x86_64", "/proc/self/maps", "/home/user/.cache"})
    unrelated += has(s);
  EXPECT_LE(unrelated, 1);  // 3 bits of 4096 set
}

TEST(PathWatchTest, NoStringBloomWithoutPatterns) {
  const PathWatchPlan plan = PlanPathWatch({}, {"/etc/kubernetes/pki/"});
  EXPECT_EQ(plan.str_prefix_len, 0u);
  EXPECT_EQ(plan.dirs, (std::vector<std::string>{"/etc/kubernetes/pki"}));
}

// The deepest existing directory and its parent, never "/" nor a top-level
// directory's parent.
TEST(PathWatchTest, WatchesTheDeepestExistingDirectoryAndItsParent) {
  auto only = [](std::vector<std::string> existing) {
    return [existing](const std::string& d) {
      return std::find(existing.begin(), existing.end(), d) != existing.end();
    };
  };
  const auto all = only({"/a", "/a/b", "/a/b/c"});
  EXPECT_EQ(WatchedDirsFor("/a/b/c", all), (std::vector<std::string>{"/a/b/c", "/a/b"}));
  EXPECT_EQ(WatchedDirsFor("/a/b", all), (std::vector<std::string>{"/a/b"}));  // not "/a": top-level
  EXPECT_EQ(WatchedDirsFor("/a/b/c/d/e", all), (std::vector<std::string>{"/a/b/c", "/a/b"}));
  EXPECT_EQ(WatchedDirsFor("/a/x/y", only({"/a"})), (std::vector<std::string>{"/a"}));
  EXPECT_TRUE(WatchedDirsFor("/nowhere/x", only({})).empty());
}

}  // namespace
}  // namespace vigil::engine
