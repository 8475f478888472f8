// Unit tests of the user-space process tree (engine/src/process_tree.cc):
// fork/exec/exit sequences as the decoder hands them over, comm and parent
// from the headers, ancestry, pid reuse and the memory bound. No kernel
// needed (kept beside the kernel tests that feed it real records).
#include "vigil/engine/process_tree.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "synthetic_event.h"
#include "vigil/events/event_ids.h"
#include "vigil/events/registry.h"

namespace vigil::engine {
namespace {

using events::Event;

using test_support::Def;  // tests/support/synthetic_event.h

Event Header(const char* event, uint32_t pid, uint32_t ppid, const std::string& comm, uint64_t start,
             uint32_t tid = 0) {
  Event e;
  e.def = &Def(event);
  e.host_pid = pid;
  e.host_tid = tid ? tid : pid;
  e.host_ppid = ppid;
  e.comm = comm;
  e.start_time_ns = start;
  return e;
}

using test_support::AddArg;  // tests/support/synthetic_event.h

Event Fork(uint32_t parent, uint32_t grandparent, const std::string& comm, uint64_t start, uint32_t child,
           uint64_t child_start, uint32_t tid = 0) {
  Event e = Header("sched_process_fork", parent, grandparent, comm, start, tid);
  AddArg(e, "child_pid", int64_t{child});
  AddArg(e, "start_time", uint64_t{child_start});
  return e;
}

Event Exec(uint32_t pid, uint32_t ppid, const std::string& comm, uint64_t start, const std::string& path) {
  Event e = Header("sched_process_exec", pid, ppid, comm, start);
  AddArg(e, "pathname", path);
  return e;
}

Event Exit(uint32_t pid, uint32_t ppid, const std::string& comm, uint64_t start, bool group,
           uint32_t tid = 0) {
  Event e = Header("sched_process_exit", pid, ppid, comm, start, tid);
  AddArg(e, "process_group_exit", group);
  return e;
}

std::vector<uint32_t> Pids(const std::vector<ProcessTree::Info>& chain) {
  std::vector<uint32_t> pids;
  for (const auto& i : chain) pids.push_back(i.pid);
  return pids;
}

TEST(ProcessTree, ForkExecExitKeepParentCommAndExecutable) {
  ProcessTree tree;
  // bash (100, child of 1) forks 200, which execs curl; 200 forks 300 (sh -> python3).
  tree.Apply(Exec(100, 1, "bash", 1000, "/usr/bin/bash"));
  tree.Apply(Fork(100, 1, "bash", 1000, 200, 2000));
  auto child = tree.Find(200);
  ASSERT_TRUE(child);
  EXPECT_EQ(child->ppid, 100u);
  EXPECT_EQ(child->comm, "bash") << "a fork copies its parent";
  EXPECT_EQ(child->exe, "/usr/bin/bash");
  tree.Apply(Exec(200, 100, "curl", 2000, "/usr/bin/curl"));
  EXPECT_EQ(tree.Find(200)->comm, "curl");
  EXPECT_EQ(tree.Executable(200, 2000), "/usr/bin/curl");
  tree.Apply(Fork(200, 100, "curl", 2000, 300, 3000));
  tree.Apply(Exec(300, 200, "python3", 3000, "/usr/bin/python3"));

  auto parent = tree.Parent(300);
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->pid, 200u);
  EXPECT_EQ(parent->comm, "curl");
  EXPECT_EQ(tree.Parent(200)->comm, "bash");
  EXPECT_THAT(Pids(tree.Ancestors(300, 10)), ::testing::ElementsAre(200, 100))
      << "stops at the first unknown process (1 was never seen)";
  EXPECT_THAT(Pids(tree.Ancestors(300, 1)), ::testing::ElementsAre(200));

  // A thread's exit leaves the process; the group exit removes it.
  tree.Apply(Exit(200, 100, "curl", 2000, false, 201));
  EXPECT_TRUE(tree.Find(200));
  tree.Apply(Exit(200, 100, "curl", 2000, true));
  EXPECT_FALSE(tree.Find(200));
  EXPECT_FALSE(tree.Parent(300)) << "the parent exited";
  EXPECT_TRUE(tree.Ancestors(300, 10).empty());
}

TEST(ProcessTree, HeadersRefreshCommAndParentAndThreadsDoNotRenameTheProcess) {
  ProcessTree tree;
  Event openat = Header("security_file_open", 400, 100, "nginx", 4000);
  tree.Apply(openat);
  EXPECT_EQ(tree.Find(400)->comm, "nginx");
  EXPECT_EQ(tree.Find(400)->ppid, 100u);
  // A worker thread named itself: the process keeps the leader's comm.
  tree.Apply(Header("security_file_open", 400, 100, "nginx-worker", 4000, 401));
  EXPECT_EQ(tree.Find(400)->comm, "nginx");
  // Reparented to init when its parent died.
  tree.Apply(Header("security_file_open", 400, 1, "nginx", 4000));
  EXPECT_EQ(tree.Find(400)->ppid, 1u);
  // A fork by a named thread: the child carries the thread's comm.
  tree.Apply(Fork(400, 1, "nginx-worker", 4000, 500, 5000, 401));
  EXPECT_EQ(tree.Find(500)->comm, "nginx-worker");
  EXPECT_EQ(tree.Find(500)->ppid, 400u);
}

TEST(ProcessTree, AReusedPidIsANewProcess) {
  ProcessTree tree;
  tree.Apply(Exec(600, 100, "old", 6000, "/usr/bin/old"));
  tree.Apply(Fork(100, 1, "bash", 1000, 600, 7000));  // exit missed; the pid came back
  auto p = tree.Find(600);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->comm, "bash");
  EXPECT_EQ(p->start_time_ns, 7000u);
}

TEST(ProcessTree, AncestorsStopAtCycles) {
  ProcessTree tree;
  tree.Apply(Header("security_file_open", 10, 20, "a", 1));
  tree.Apply(Header("security_file_open", 20, 10, "b", 2));  // impossible, but must not loop
  EXPECT_THAT(Pids(tree.Ancestors(10, 100)), ::testing::ElementsAre(20));
}

TEST(ProcessTree, MemoryIsBoundedAndTheLeastRecentlySeenGo) {
  ProcessTree tree(/*max_entries=*/100);
  tree.Apply(Exec(1, 0, "init", 1, "/sbin/init"));
  for (uint32_t pid = 1000; pid < 1500; ++pid) {
    tree.Apply(Fork(1, 0, "init", 1, pid, pid));
    tree.Apply(Header("security_file_open", 1, 0, "init", 1));  // init stays busy
    EXPECT_LE(tree.size(), 100u);
  }
  EXPECT_TRUE(tree.Find(1)) << "a process seen recently is kept";
  EXPECT_TRUE(tree.Find(1499));
  EXPECT_FALSE(tree.Find(1000)) << "the oldest went";
  EXPECT_EQ(tree.Parent(1499)->comm, "init");
}

// Without CAP_SYS_PTRACE the sensor reads /proc/<pid>/exe only where the
// kernel allows it without one (its own uid and gid): any other read would
// be a denied capability check in the steady state.
TEST(ProcessTree, LazyExecutableReadsOnlyOfTheAllowedOwner) {
  const uint32_t self = static_cast<uint32_t>(getpid());
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf));
  ASSERT_GT(n, 0);
  const std::string exe(buf, static_cast<size_t>(n));
  {
    ProcessTree tree;
    EXPECT_EQ(tree.Executable(self, 1), exe);  // unrestricted: read
  }
  if (geteuid() != 0) {
    ProcessTree tree;
    tree.ReadExeOnlyOf(geteuid(), getegid());
    EXPECT_EQ(tree.Executable(self, 1), exe);  // its own process: read
  }
  {
    ProcessTree tree;
    tree.ReadExeOnlyOf(0, 0);
    EXPECT_EQ(tree.Executable(self, 1), "");  // uid 0 without the capability: never read
  }
  {
    ProcessTree tree;
    tree.ReadExeOnlyOf(geteuid() + 1, getegid());
    EXPECT_EQ(tree.Executable(self, 1), "");  // another owner: not even tried
  }
}

}  // namespace
}  // namespace vigil::engine
