// Kernel tests: the real BPF programs, loaded and attached in this process
// through the engine (BpfSensor) and decoded by the registry's decoder (the
// harness, harness.h). Each test makes a CHILD process do something known —
// exec a binary with known argv, create a file, exit with a code, fork — and
// asserts the decoded event's fields. Root and BPF are required; without them
// the tests skip and say why.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness.h"
#include "vigil/engine/bpf_sensor.h"
#include "vigil/events/event_ids.h"

// In the harness's namespace: Sensor, Spawn, IntPipe, the argument accessors.
namespace vigil::ktest {
namespace {

using engine::BpfSensor;
using engine::SyscallHook;
using events::Event;
using ::testing::StartsWith;
class KernelTest : public BpfTest {
 protected:
  void SetUp() override {
    BpfTest::SetUp();
    if (IsSkipped()) return;
    comm_ = ReadFirstLine("/proc/self/comm");
    mnt_ns_ = InodeOf("/proc/self/ns/mnt");
    pid_ns_ = InodeOf("/proc/self/ns/pid");
    started_ns_ = RealtimeNs();
  }

  // The event's context as the kernel saw it, for a child of this process
  // in the initial pid namespace.
  void ExpectChildContext(const Event& e, pid_t child) {
    SCOPED_TRACE(e.def->name);
    EXPECT_EQ(e.host_pid, static_cast<uint32_t>(child));
    EXPECT_EQ(e.host_tid, static_cast<uint32_t>(child));
    EXPECT_EQ(e.host_ppid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ(e.pid, static_cast<uint32_t>(child)) << "the initial namespace: same as the host pid";
    EXPECT_EQ(e.tid, static_cast<uint32_t>(child));
    EXPECT_EQ(e.ppid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ(e.uid, getuid());
    EXPECT_EQ(e.gid, getgid());
    EXPECT_EQ(e.mnt_ns, mnt_ns_);
    EXPECT_EQ(e.pid_ns, pid_ns_);
    EXPECT_NE(e.cgroup_id, 0u);
    EXPECT_LT(e.processor_id, static_cast<uint32_t>(sysconf(_SC_NPROCESSORS_CONF)));
    EXPECT_NE(e.start_time_ns, 0u);
    EXPECT_EQ(e.policies, 1u) << "selected by policy 0 only";
    ExpectRecentTimestamp(e);
  }
  // Epoch nanoseconds, between the test's start and now (with slack for clock steps).
  void ExpectRecentTimestamp(const Event& e) {
    int64_t ts = static_cast<int64_t>(e.timestamp_ns);
    EXPECT_GE(ts, started_ns_ - 2 * kNsPerSec) << e.def->name << ": timestamp before the test began";
    EXPECT_LE(ts, RealtimeNs() + 2 * kNsPerSec) << e.def->name << ": timestamp in the future";
  }

  std::string comm_;
  uint64_t mnt_ns_ = 0, pid_ns_ = 0;
  int64_t started_ns_ = 0;
};

// ------------------------------------------------------------ exec

TEST_F(KernelTest, ExecOfAKnownBinaryWithKnownArgv) {
  auto s = Sensor::Start({"execve", "sched_process_exec", "sched_process_exit"});
  ASSERT_NE(s, nullptr);
  const std::string marker = UniqueName("argv");
  const std::string path = "/bin/sh";
  const std::vector<std::string> argv = {"sh", "-c", "exit 42", marker};
  pid_t child = Spawn([&] {
    // Strings in memory this process has written (stack, heap): resident
    // in the child. (ExecveOfStringsInUntouchedPages covers the other case.)
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(path.c_str(), args.data());
    return 127;
  });
  int status = WaitStatus(child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 42);
  ASSERT_TRUE(s->DrainUntil([&] { return s->First("sched_process_exit", child) != nullptr; }))
      << "no sched_process_exit from the child";

  // execve: emitted at entry, before the image changes.
  const Event* execve = s->First("execve", child);
  ASSERT_NE(execve, nullptr);
  ExpectChildContext(*execve, child);
  EXPECT_EQ(execve->def->id, 59u);
  EXPECT_EQ(execve->syscall_nr, 59);
  EXPECT_EQ(execve->comm, comm_) << "still the parent's image when execve is entered";
  EXPECT_EQ(execve->retval, 0);
  EXPECT_EQ(StrArg(*execve, "pathname"), "/bin/sh");
  EXPECT_EQ(ListArg(*execve, "argv"), argv);
  EXPECT_THAT(StrArg(*execve, "envp"), StartsWith("0x"));
  EXPECT_FALSE(execve->truncated);

  // sched_process_exec: the new image.
  const Event* exec = s->First("sched_process_exec", child);
  ASSERT_NE(exec, nullptr);
  ExpectChildContext(*exec, child);
  EXPECT_EQ(exec->def->id, events::kSchedProcessExec);
  EXPECT_EQ(exec->syscall_nr, -1);
  EXPECT_EQ(exec->comm, "sh");
  const std::string binary = RealPath("/bin/sh");  // e.g. /usr/bin/dash: symlinks resolved
  ASSERT_FALSE(binary.empty());
  EXPECT_EQ(StrArg(*exec, "cmdpath"), "/bin/sh") << "the path as given to execve";
  EXPECT_EQ(StrArg(*exec, "pathname"), binary) << "the executable's real path";
  EXPECT_EQ(ListArg(*exec, "argv"), argv);
  EXPECT_EQ(IntArg(*exec, "argc"), 4);
  EXPECT_EQ(exec->FindArg("interpreter_pathname"), nullptr) << "not a script";
  EXPECT_GE(exec->timestamp_ns, execve->timestamp_ns);

  // The file the kernel executed, as stat(2) shows it.
  struct stat st {};
  ASSERT_EQ(stat(binary.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(IntArg(*exec, "inode")), st.st_ino);
  uint64_t dev = static_cast<uint64_t>(IntArg(*exec, "dev"));  // the kernel's encoding: major << 20 | minor
  EXPECT_EQ(dev >> 20, major(st.st_dev)) << "dev " << dev;
  EXPECT_EQ(dev & ((1u << 20) - 1), minor(st.st_dev)) << "dev " << dev;
  EXPECT_EQ(StrArg(*exec, "inode_mode"), "S_IFREG|0755");
  EXPECT_EQ((st.st_mode & 07777), 0755u) << "the test assumes a 0755 /bin/sh";
  uint64_t ctime = static_cast<uint64_t>(st.st_ctim.tv_sec) * kNsPerSec + st.st_ctim.tv_nsec;
  EXPECT_EQ(static_cast<uint64_t>(IntArg(*exec, "ctime")), ctime)
      << "ctime of " << binary << " is " << st.st_ctim.tv_sec << "." << st.st_ctim.tv_nsec;

  // sched_process_exit: the code the process exited with.
  const Event* exit = s->First("sched_process_exit", child);
  ASSERT_NE(exit, nullptr);
  ExpectChildContext(*exit, child);
  EXPECT_EQ(exit->comm, "sh");
  EXPECT_EQ(IntArg(*exit, "exit_code"), 42);
  EXPECT_EQ(StrArg(*exit, "signal"), "0");
  EXPECT_EQ(std::get<bool>(ArgOf(*exit, "process_group_exit")->value), true);
  EXPECT_GE(exit->timestamp_ns, exec->timestamp_ns);
  EXPECT_EQ(exit->start_time_ns, exec->start_time_ns) << "the same process";

  ExpectNothingFromThisProcess(*s);
}

TEST_F(KernelTest, ExecveOfStringsInUntouchedPages) {
  // A forked child does not inherit page-table entries for file-backed
  // pages its parent never wrote (here the literals in .rodata), so at
  // sys_enter_execve they are not resident yet. This is how C programs
  // commonly run commands: fork(); execl("/bin/sh", "sh", "-c", cmd, NULL).
  // The event must still carry the path and argv: an empty pathname is a
  // silent loss (not even marked truncated).
  auto s = Sensor::Start({"execve"});
  ASSERT_NE(s, nullptr);
  pid_t child = Spawn([] {
    execl("/bin/sh", "sh", "-c", "exit 0", nullptr);
    return 127;
  });
  ASSERT_EQ(WEXITSTATUS(WaitStatus(child)), 0);
  ASSERT_TRUE(s->DrainUntil([&] { return s->First("execve", child) != nullptr; }));
  const Event* e = s->First("execve", child);
  ExpectChildContext(*e, child);
  EXPECT_EQ(StrArg(*e, "pathname"), "/bin/sh");
  EXPECT_EQ(ListArg(*e, "argv"), (std::vector<std::string>{"sh", "-c", "exit 0"}));
}

TEST_F(KernelTest, ExecOfAScriptReportsItsInterpreter) {
  auto s = Sensor::Start({"sched_process_exec"});
  ASSERT_NE(s, nullptr);
  const std::string script = "/tmp/" + UniqueName("script");
  {
    std::ofstream out(script);
    out << "#!/bin/sh\nexit 3\n";
  }
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  pid_t child = Spawn([&] {
    execl(script.c_str(), "myscript", "one", nullptr);
    return 127;
  });
  int status = WaitStatus(child);
  unlink(script.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 3);
  ASSERT_TRUE(s->DrainUntil([&] { return s->First("sched_process_exec", child) != nullptr; }));
  const Event* exec = s->First("sched_process_exec", child);
  ExpectChildContext(*exec, child);
  EXPECT_EQ(StrArg(*exec, "cmdpath"), script);
  EXPECT_EQ(StrArg(*exec, "interpreter_pathname"), "/bin/sh");
  // The kernel runs the interpreter with the script's path as an argument.
  EXPECT_EQ(ListArg(*exec, "argv"), (std::vector<std::string>{"/bin/sh", script, "one"}));
}

TEST_F(KernelTest, OnlySelectedEventsAreReported) {
  auto s = Sensor::Start({"sched_process_exit"});
  ASSERT_NE(s, nullptr);
  pid_t child = Spawn([] {
    execl("/bin/true", "true", nullptr);
    return 127;
  });
  WaitStatus(child);
  ASSERT_TRUE(s->DrainUntil([&] { return s->First("sched_process_exit", child) != nullptr; }));
  for (const Event& e : s->events()) EXPECT_EQ(e.def->name, "sched_process_exit");
}

// The harness: an event Await returned stays where it is while later drains
// append more (security.SecurityTest.ExecAndForkInAnotherUtsNamespaceCarryItsNodename
// compared an exec's uts_ns after awaiting a fork, and once read it from the
// memory a growing vector had freed).
TEST_F(KernelTest, AwaitedEventsStayPutWhileMoreArrive) {
  auto s = Sensor::Start({"sched_process_exit"});
  ASSERT_NE(s, nullptr);
  pid_t first = Spawn([] { return 0; });
  WaitStatus(first);
  const Event* e = s->Await("sched_process_exit", first);
  ASSERT_NE(e, nullptr);
  size_t index = 0;
  while (index < s->events().size() && &s->events()[index] != e) ++index;
  ASSERT_LT(index, s->events().size());
  pid_t last = 0;
  for (int i = 0; i < 200; ++i) {  // 200 more exits at least: a vector would have grown and moved
    last = Spawn([] { return 0; });
    WaitStatus(last);
  }
  ASSERT_NE(s->Await("sched_process_exit", last), nullptr);
  EXPECT_GE(s->events().size(), index + 201);
  EXPECT_EQ(&s->events()[index], e) << "the first event moved";
  EXPECT_EQ(e->host_pid, static_cast<uint32_t>(first));
}

TEST_F(KernelTest, UnselectedLifecycleFeedsTheProcessTreeOnlyWhenTracking) {
  // With tracking on (the default), an exec the user did not select still
  // produces a policy-less record with the executable's path, for the
  // process tree; with tracking off, nothing.
  for (bool track : {true, false}) {
    SCOPED_TRACE(track ? "tracking" : "not tracking");
    BpfSensor::Options options;
    options.track_processes = track;
    auto s = Sensor::Start({"openat"}, options);
    ASSERT_NE(s, nullptr);
    pid_t child = Spawn([] {
      execl("/bin/true", "true", nullptr);
      return 127;
    });
    WaitStatus(child);
    auto exec_of_child = [&] {
      for (const Event& e : s->tracking())
        if (e.def->id == events::kSchedProcessExec && e.host_pid == static_cast<uint32_t>(child)) return &e;
      return static_cast<const Event*>(nullptr);
    };
    if (track) {
      ASSERT_TRUE(s->DrainUntil([&] { return exec_of_child() != nullptr; }));
      EXPECT_EQ(StrArg(*exec_of_child(), "pathname"), RealPath("/bin/true"));
    } else {
      s->DrainFor(300);
      EXPECT_TRUE(s->tracking().empty()) << s->tracking().size() << " lifecycle records without tracking";
    }
    for (const Event& e : s->events()) EXPECT_EQ(e.def->name, "openat");
  }
}

// ------------------------------------------------------------ exit

TEST_F(KernelTest, ExitCodeAndKillingSignal) {
  auto s = Sensor::Start({"sched_process_exit"});
  ASSERT_NE(s, nullptr);
  pid_t exits = Spawn([] { return 42; });
  pid_t killed = Spawn([] {
    raise(SIGKILL);
    return 0;
  });
  pid_t segv = Spawn([] {
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);  // no core file from this test
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    return 0;
  });
  EXPECT_EQ(WEXITSTATUS(WaitStatus(exits)), 42);
  EXPECT_EQ(WTERMSIG(WaitStatus(killed)), SIGKILL);
  WaitStatus(segv);
  ASSERT_TRUE(s->DrainUntil([&] {
    return s->First("sched_process_exit", exits) && s->First("sched_process_exit", killed) &&
           s->First("sched_process_exit", segv);
  }));

  const Event* e = s->First("sched_process_exit", exits);
  ExpectChildContext(*e, exits);
  EXPECT_EQ(e->comm, comm_);
  EXPECT_EQ(IntArg(*e, "exit_code"), 42);
  EXPECT_EQ(StrArg(*e, "signal"), "0");
  EXPECT_TRUE(std::get<bool>(ArgOf(*e, "process_group_exit")->value));

  e = s->First("sched_process_exit", killed);
  ExpectChildContext(*e, killed);
  EXPECT_EQ(IntArg(*e, "exit_code"), 0);
  EXPECT_EQ(StrArg(*e, "signal"), "SIGKILL");

  e = s->First("sched_process_exit", segv);
  EXPECT_EQ(StrArg(*e, "signal"), "SIGSEGV");
  ExpectNothingFromThisProcess(*s);
}

// ------------------------------------------------------------ fork

TEST_F(KernelTest, ForkFromAChildAndThreadCreation) {
  auto s = Sensor::Start({"sched_process_fork", "sched_process_exit"});
  ASSERT_NE(s, nullptr);
  IntPipe grandchild_pid, thread_tid;
  pid_t child = Spawn([&] {
    pid_t g = fork();
    if (g == 0) _exit(7);
    grandchild_pid.Send(g);
    int status;
    waitpid(g, &status, 0);
    pthread_t t;
    pthread_create(
        &t, nullptr,
        [](void* pipe) -> void* {
          static_cast<IntPipe*>(pipe)->Send(syscall(SYS_gettid));
          return nullptr;
        },
        &thread_tid);
    pthread_join(t, nullptr);
    return 0;
  });
  pid_t grandchild = static_cast<pid_t>(grandchild_pid.Receive());
  pid_t thread = static_cast<pid_t>(thread_tid.Receive());
  WaitStatus(child);
  ASSERT_GT(grandchild, 0);
  ASSERT_GT(thread, 0);
  ASSERT_NE(thread, child);

  auto fork_of = [&](pid_t child_tid) {
    return [child_tid](const Event& e) {
      const events::Arg* a = e.FindArg("child_tid");
      return a && std::get<int64_t>(a->value) == child_tid;
    };
  };
  ASSERT_TRUE(s->DrainUntil([&] {
    return s->First("sched_process_fork", child, fork_of(grandchild)) &&
           s->First("sched_process_fork", child, fork_of(thread)) && s->First("sched_process_exit", child) &&
           s->First("sched_process_exit", grandchild);
  })) << "missing fork or exit events";

  // A new process: the event comes from the parent (the child), and names both.
  const Event* f = s->First("sched_process_fork", child, fork_of(grandchild));
  ExpectChildContext(*f, child);
  EXPECT_EQ(f->def->id, events::kSchedProcessFork);
  EXPECT_EQ(f->comm, comm_);
  EXPECT_EQ(IntArg(*f, "parent_pid"), child);
  EXPECT_EQ(IntArg(*f, "parent_tid"), child);
  EXPECT_EQ(IntArg(*f, "child_pid"), grandchild);
  EXPECT_EQ(IntArg(*f, "child_tid"), grandchild);
  EXPECT_EQ(IntArg(*f, "child_ns_pid"), grandchild);
  EXPECT_EQ(IntArg(*f, "child_ns_tid"), grandchild);
  const Event* gexit = s->First("sched_process_exit", grandchild);
  EXPECT_EQ(gexit->host_ppid, static_cast<uint32_t>(child));
  EXPECT_EQ(gexit->ppid, static_cast<uint32_t>(child));
  EXPECT_EQ(IntArg(*gexit, "exit_code"), 7);
  EXPECT_EQ(static_cast<uint64_t>(IntArg(*f, "start_time")), gexit->start_time_ns)
      << "the fork's start_time identifies the new process";
  EXPECT_GE(gexit->timestamp_ns, f->timestamp_ns);

  // A new thread: same process, new thread id.
  const Event* t = s->First("sched_process_fork", child, fork_of(thread));
  EXPECT_EQ(IntArg(*t, "child_pid"), child);
  EXPECT_EQ(IntArg(*t, "child_tid"), thread);
  EXPECT_EQ(IntArg(*t, "child_ns_pid"), child);
  EXPECT_EQ(IntArg(*t, "child_ns_tid"), thread);

  // The thread's exit is not the process's.
  const Event* texit = nullptr;
  for (const Event* e : s->Find("sched_process_exit", child))
    if (e->host_tid == static_cast<uint32_t>(thread)) texit = e;
  ASSERT_NE(texit, nullptr) << "no exit event for the thread";
  EXPECT_EQ(texit->tid, static_cast<uint32_t>(thread));
  EXPECT_EQ(texit->pid, static_cast<uint32_t>(child));
  EXPECT_FALSE(std::get<bool>(ArgOf(*texit, "process_group_exit")->value));
  const Event* cexit = s->First("sched_process_exit", child,
                                [&](const Event& e) { return e.host_tid == static_cast<uint32_t>(child); });
  ASSERT_NE(cexit, nullptr);
  EXPECT_TRUE(std::get<bool>(ArgOf(*cexit, "process_group_exit")->value));

  ExpectNothingFromThisProcess(*s);  // this process forked `child`: not reported
}

TEST_F(KernelTest, PidNamespaceIdsAreReportedBesideHostIds) {
  auto s = Sensor::Start({"openat"});
  ASSERT_NE(s, nullptr);
  const std::string path = "/tmp/" + UniqueName("nspid");
  IntPipe host_pid, ns_inode;
  pid_t child = Spawn([&] {
    if (unshare(CLONE_NEWPID) != 0) return 1;
    pid_t g = fork();
    if (g == 0) {
      ns_inode.Send(static_cast<int64_t>(InodeOf("/proc/self/ns/pid")));
      int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);  // ENOENT is fine
      if (fd >= 0) close(fd);
      _exit(0);
    }
    host_pid.Send(g);
    int status;
    waitpid(g, &status, 0);
    return 0;
  });
  pid_t g = static_cast<pid_t>(host_pid.Receive());
  uint64_t inode = static_cast<uint64_t>(ns_inode.Receive());
  ASSERT_EQ(WEXITSTATUS(WaitStatus(child)), 0) << "unshare(CLONE_NEWPID) failed";
  auto is_ours = [&](const Event& e) { return StrArg(e, "pathname") == path; };
  ASSERT_TRUE(s->DrainUntil([&] { return s->First("openat", g, is_ours) != nullptr; }));
  const Event* e = s->First("openat", g, is_ours);
  EXPECT_EQ(e->host_pid, static_cast<uint32_t>(g));
  EXPECT_EQ(e->host_tid, static_cast<uint32_t>(g));
  EXPECT_EQ(e->host_ppid, static_cast<uint32_t>(child));
  EXPECT_EQ(e->pid, 1u) << "the first process of a new pid namespace is its pid 1";
  EXPECT_EQ(e->tid, 1u);
  EXPECT_EQ(e->pid_ns, inode);
  EXPECT_NE(e->pid_ns, pid_ns_);
  EXPECT_EQ(e->retval, -ENOENT);
}

// ------------------------------------------------------------ openat, both syscall hooks

class OpenatTest : public KernelTest, public ::testing::WithParamInterface<SyscallHook> {
 protected:
  // A sensor of openat alone, through the hook under test.
  std::unique_ptr<Sensor> StartOpenat() {
    BpfSensor::Options options;
    options.syscall_hook = GetParam();
    return Sensor::Start({"openat"}, options);
  }
};

TEST_P(OpenatTest, CreateMissingAndDirfdOpens) {
  auto s = StartOpenat();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->bpf().syscall_hook_used(),
            GetParam() == SyscallHook::kTracepoints ? "syscall_tracepoints" : "raw_syscalls");

  const std::string name = UniqueName("create");
  const std::string created = "/tmp/" + name;
  const std::string missing = "/tmp/" + UniqueName("missing") + "/nope";
  IntPipe fds;
  pid_t child = Spawn([&] {
    long fd = syscall(SYS_openat, AT_FDCWD, created.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
    fds.Send(fd);
    long err = syscall(SYS_openat, AT_FDCWD, missing.c_str(), O_RDONLY, 0);
    fds.Send(err < 0 ? -errno : err);
    long dirfd = syscall(SYS_openat, AT_FDCWD, "/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    fds.Send(dirfd);
    long rel = syscall(SYS_openat, dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW, 0);
    fds.Send(rel);
    return 0;
  });
  int64_t create_fd = fds.Receive(), missing_ret = fds.Receive(), dirfd = fds.Receive(),
          rel_fd = fds.Receive();
  WaitStatus(child);
  unlink(created.c_str());
  ASSERT_GE(create_fd, 0);
  ASSERT_EQ(missing_ret, -ENOENT);
  ASSERT_GE(dirfd, 0);
  ASSERT_GE(rel_fd, 0);

  auto path_is = [](std::string p) {
    return [p](const Event& e) { return e.FindArg("pathname") && StrArg(e, "pathname") == p; };
  };
  ASSERT_TRUE(s->DrainUntil([&] { return s->First("openat", child, path_is(name)) != nullptr; }))
      << "the child's openat events did not arrive";

  const Event* c = s->First("openat", child, path_is(created));
  ASSERT_NE(c, nullptr);
  ExpectChildContext(*c, child);
  EXPECT_EQ(c->def->id, 257u);
  EXPECT_EQ(c->syscall_nr, 257);
  EXPECT_EQ(c->comm, comm_);
  EXPECT_EQ(c->retval, create_fd) << "the fd the child got";
  EXPECT_EQ(IntArg(*c, "dirfd"), AT_FDCWD);
  EXPECT_EQ(StrArg(*c, "flags"), "O_WRONLY|O_CREAT|O_CLOEXEC");
  EXPECT_EQ(StrArg(*c, "mode"), "0640");
  EXPECT_FALSE(c->truncated);
  ASSERT_EQ(c->args.size(), 4u);
  EXPECT_EQ(c->args[0].def->name, "dirfd");
  EXPECT_EQ(c->args[3].def->name, "mode");

  const Event* m = s->First("openat", child, path_is(missing));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->retval, -ENOENT) << "a failed open reports -errno";
  EXPECT_EQ(StrArg(*m, "flags"), "O_RDONLY");
  EXPECT_EQ(IntArg(*m, "mode"), 0) << "no mode given: the number 0";
  EXPECT_GE(m->timestamp_ns, c->timestamp_ns);

  const Event* r = s->First("openat", child, path_is(name));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(IntArg(*r, "dirfd"), dirfd);
  EXPECT_EQ(r->retval, rel_fd);
  EXPECT_EQ(StrArg(*r, "flags"), "O_RDONLY|O_NOFOLLOW");

  for (const Event& e : s->events()) EXPECT_EQ(e.def->name, "openat");
  ExpectNothingFromThisProcess(*s);
}

TEST_P(OpenatTest, UserIdOfTheCaller) {
  auto s = StartOpenat();
  ASSERT_NE(s, nullptr);
  const std::string path = "/tmp/" + UniqueName("uid");
  pid_t child = Spawn([&] {
    if (setgid(65534) != 0 || setuid(65534) != 0) return 1;
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    return fd < 0 ? 0 : 2;
  });
  ASSERT_EQ(WEXITSTATUS(WaitStatus(child)), 0);
  auto ours = [&](const Event& e) { return StrArg(e, "pathname") == path; };
  ASSERT_TRUE(s->DrainUntil([&] { return s->First("openat", child, ours) != nullptr; }));
  const Event* e = s->First("openat", child, ours);
  EXPECT_EQ(e->uid, 65534u);
  EXPECT_EQ(e->gid, 65534u);
  EXPECT_EQ(e->retval, -ENOENT);
}

TEST_P(OpenatTest, NothingIsReportedAfterDetach) {
  auto s = StartOpenat();
  ASSERT_NE(s, nullptr);
  const std::string before = "/tmp/" + UniqueName("before");
  const std::string after = "/tmp/" + UniqueName("after");
  auto open_in_child = [](const std::string& p) {
    pid_t c = Spawn([&] {
      int fd = open(p.c_str(), O_RDONLY);
      return fd < 0 ? 0 : 1;
    });
    WaitStatus(c);
    return c;
  };
  pid_t c1 = open_in_child(before);
  ASSERT_TRUE(s->DrainUntil([&] { return s->First("openat", c1) != nullptr; }));
  s->bpf().Detach();
  s->DrainAll();
  pid_t c2 = open_in_child(after);
  s->DrainFor(300);
  EXPECT_TRUE(s->Find("openat", c2).empty()) << "an event arrived after Detach()";
}

INSTANTIATE_TEST_SUITE_P(Hooks, OpenatTest,
                         ::testing::Values(SyscallHook::kTracepoints, SyscallHook::kRawSyscalls),
                         [](const ::testing::TestParamInfo<SyscallHook>& info) {
                           return info.param == SyscallHook::kTracepoints ? "Tracepoints" : "RawSyscalls";
                         });

TEST_F(KernelTest, AutoHookUsesTheDispatcherAboveTheTracepointLimit) {
  BpfSensor::Options options;
  options.syscall_hook = SyscallHook::kAuto;
  options.tracepoint_limit = 1;
  auto s = Sensor::Start({"openat", "openat2"}, options);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->bpf().syscall_hook_used(), "raw_syscalls");
  const std::string path = "/tmp/" + UniqueName("auto");
  pid_t child = Spawn([&] { return open(path.c_str(), O_RDONLY) < 0 ? 0 : 1; });
  WaitStatus(child);
  EXPECT_TRUE(s->DrainUntil([&] { return s->First("openat", child) != nullptr; }));

  options.tracepoint_limit = 48;
  auto few = Sensor::Start({"openat", "openat2"}, options);
  ASSERT_NE(few, nullptr);
  EXPECT_EQ(few->bpf().syscall_hook_used(), "syscall_tracepoints");
}

// ------------------------------------------------------------ what does not fit is marked

TEST_F(KernelTest, PathLongerThanTheCaptureLimitIsMarkedTruncated) {
  auto s = Sensor::Start({"openat"});
  ASSERT_NE(s, nullptr);
  const std::string path = "/tmp/" + UniqueName("long") + "/" + std::string(6000, 'x');
  pid_t child = Spawn([&] {
    long r = syscall(SYS_openat, AT_FDCWD, path.c_str(), O_RDONLY, 0);
    return r < 0 && errno == ENAMETOOLONG ? 0 : 1;
  });
  ASSERT_EQ(WEXITSTATUS(WaitStatus(child)), 0);
  ASSERT_TRUE(s->DrainUntil([&] { return s->First("openat", child) != nullptr; }));
  const Event* e = s->First("openat", child);
  EXPECT_EQ(e->retval, -ENAMETOOLONG);
  std::string got = StrArg(*e, "pathname");
  EXPECT_GE(got.size(), 4000u);
  EXPECT_TRUE(path.starts_with(got)) << "the captured path is a prefix of the real one";
  EXPECT_LT(got.size(), path.size());
  EXPECT_TRUE(e->truncated) << "a " << path.size() << "-byte path was cut to " << got.size()
                            << " bytes without the event saying so";
}

TEST_F(KernelTest, ArgvBeyondTheCaptureLimitsIsMarkedTruncated) {
  auto s = Sensor::Start({"execve", "sched_process_exec"});
  ASSERT_NE(s, nullptr);
  // More entries than the kernel side captures, and one entry longer than an
  // entry's limit; together more than the exec event's argv area holds.
  std::vector<std::string> argv = {"true"};
  for (int i = 0; i < 100; ++i) argv.push_back("arg" + std::to_string(i));
  argv.push_back(std::string(3000, 'L'));
  argv.push_back(std::string(3000, 'M'));
  pid_t child = Spawn([&] {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv("/bin/true", args.data());
    return 127;
  });
  ASSERT_EQ(WEXITSTATUS(WaitStatus(child)), 0);
  ASSERT_TRUE(s->DrainUntil([&] {
    return s->First("execve", child) != nullptr && s->First("sched_process_exec", child) != nullptr;
  }));

  const Event* execve = s->First("execve", child);
  std::vector<std::string> got = ListArg(*execve, "argv");
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0], "true");
  for (size_t i = 0; i < got.size() && i < argv.size(); ++i)
    EXPECT_TRUE(argv[i].starts_with(got[i])) << "argv[" << i << "] is not a prefix of what was passed";
  if (got != argv) {
    EXPECT_TRUE(execve->truncated) << "execve captured " << got.size() << " of " << argv.size()
                                   << " argv entries (or cut one) without saying so";
  }

  const Event* exec = s->First("sched_process_exec", child);
  std::vector<std::string> image_argv = ListArg(*exec, "argv");
  EXPECT_EQ(IntArg(*exec, "argc"), static_cast<int64_t>(argv.size()));
  ASSERT_FALSE(image_argv.empty());
  for (size_t i = 0; i + 1 < image_argv.size() && i < argv.size(); ++i)
    EXPECT_EQ(image_argv[i], argv[i]) << i;
  if (image_argv != argv) {
    EXPECT_TRUE(exec->truncated) << "sched_process_exec captured " << image_argv.size() << " of "
                                 << argv.size() << " argv entries without saying so";
  }
}

// ------------------------------------------------------------ losses are counted

TEST_F(KernelTest, RingBufferOverflowIsCountedNotHidden) {
  constexpr int kBurst = 50000;
  BpfSensor::Options options;
  options.ring_bytes = 4 * 4096;  // room for ~100 records
  auto s = Sensor::Start({"openat"}, options);
  ASSERT_NE(s, nullptr);
  s->DrainAll();  // start with an empty ring
  engine::KernelCounters before = s->bpf().ReadCounters();
  const std::string path = "/tmp/" + UniqueName("burst") + "/nope";
  // Nothing drains while the child runs: the ring fills and the rest is lost.
  pid_t child = Spawn([&] {
    for (int i = 0; i < kBurst; ++i) syscall(SYS_openat, AT_FDCWD, path.c_str(), O_RDONLY, 0);
    return 0;
  });
  ASSERT_EQ(WEXITSTATUS(WaitStatus(child)), 0);
  s->DrainAll();
  engine::KernelCounters after = s->bpf().ReadCounters();
  uint64_t emitted = after.emitted - before.emitted;
  uint64_t lost = after.lost_reserve - before.lost_reserve;
  size_t received = s->Find("openat", child).size();
  std::printf("burst of %d openat: %zu received, %llu emitted, %llu lost (ring full)\n", kBurst, received,
              static_cast<unsigned long long>(emitted), static_cast<unsigned long long>(lost));

  EXPECT_GT(lost, 0u) << "a burst of " << kBurst << " into a 16 KiB ring must lose records";
  EXPECT_GE(emitted + lost, static_cast<uint64_t>(kBurst))
      << "every openat of the burst was either emitted or counted as lost";
  EXPECT_GE(received + lost, static_cast<size_t>(kBurst))
      << "each of the child's openat calls was received or counted as lost (received " << received << ")";
  // (On a busy host other processes' opens may take the whole ring.)
  EXPECT_GT(s->Find("openat", -1).size(), 0u) << "what fit in the ring was delivered";
  EXPECT_LT(received, static_cast<size_t>(kBurst));
  for (const Event* e : s->Find("openat", child)) {
    EXPECT_EQ(StrArg(*e, "pathname"), path);
    EXPECT_EQ(e->retval, -ENOENT);
  }
}

// ------------------------------------------------------------ drain loop (issue 9, item 12)

// Under a sustained flood that the consumer cannot keep up with, every
// PollAndDrain still returns, after at most one batch: libbpf alone keeps
// consuming for as long as the producer stays ahead, so the sensor's loop
// would never see its stop, --duration or metrics time again.
TEST_F(KernelTest, DrainReturnsUnderAFloodThatOutpacesTheConsumer) {
  std::unique_ptr<Sensor> s = Sensor::Start({"openat"});
  ASSERT_NE(s, nullptr);
  // A slow consumer: 20 µs per record, far below what two opening processes produce.
  uint64_t handled = 0;
  ASSERT_TRUE(s->bpf()
                  .OpenRingBuffer([&handled](std::span<const uint8_t>) {
                    ++handled;
                    struct timespec ts = {0, 20000};
                    nanosleep(&ts, nullptr);
                  })
                  .ok());
  std::vector<pid_t> flood;
  for (int i = 0; i < 2; ++i)
    flood.push_back(Spawn([] {
      alarm(8);  // ends the flood even when PollAndDrain never returns (the bug)
      for (;;) close(open("/etc/hostname", O_RDONLY));
      return 0;
    }));
  const auto start = std::chrono::steady_clock::now();
  double longest_ms = 0;
  int full_batches = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(3)) {
    const auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<int> n = s->bpf().PollAndDrain(20);
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_LE(*n, engine::BpfSensor::kDrainBatch);
    if (*n == engine::BpfSensor::kDrainBatch) ++full_batches;
    longest_ms = std::max(
        longest_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  for (pid_t p : flood) {
    kill(p, SIGKILL);
    WaitStatus(p);
  }
  EXPECT_GT(full_batches, 0) << "the flood never filled a batch: the test did not outpace the consumer";
  // One batch at 20 µs per record is ~0.1-0.5 s; without the bound a single call
  // lasts the whole flood.
  EXPECT_LT(longest_ms, 1500.0) << "PollAndDrain held the caller for " << longest_ms << " ms";
  EXPECT_GT(handled, 0u);
}

}  // namespace
}  // namespace vigil::ktest
