// Kernel tests of the security events (bpf/security.bpf.h,
// events/src/security_events.cc): the real programs, loaded and attached in
// this process through the harness (harness.h), with CHILD processes doing
// the real action (the sensor never reports its own process). Each test asserts the
// decoded fields a user would check. Root and BPF are required; without them
// the tests skip and say why.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness.h"
#include "vigil/engine/bpf_sensor.h"
#include "vigil/events/event_ids.h"
#include "vigil/events/format.h"
#include "vigil_event.h"

// In the harness's namespace: Sensor, Spawn, IntPipe, the argument accessors.
namespace vigil::ktest {
namespace {

using engine::BpfSensor;
using events::Event;
using events::Fields;
using ::testing::HasSubstr;

// The security events without process tracking: only what was selected.
std::unique_ptr<Sensor> StartSensor(const std::vector<std::string>& names, bool exec_env = false) {
  BpfSensor::Options options;
  options.track_processes = false;
  options.exec_env = exec_env;
  return Sensor::Start(names, options);
}

// Shadows the harness's strict StrArg: the predicates here look at events
// that may lack an argument, which is no failure ("<missing>" instead).
std::string StrArg(const Event& e, std::string_view name) { return StrArgOrMark(e, name); }

class SecurityTest : public BpfTest {
 protected:
  // The header describes the child that acted.
  void ExpectChild(const Event& e, pid_t child) {
    SCOPED_TRACE(e.def->name);
    EXPECT_EQ(e.host_pid, static_cast<uint32_t>(child));
    EXPECT_EQ(e.host_tid, static_cast<uint32_t>(child));
    EXPECT_EQ(e.host_ppid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ(e.pid, static_cast<uint32_t>(child));
    EXPECT_EQ(e.policies, 1u);
    EXPECT_NE(e.cgroup_id, 0u);
  }
};

// ------------------------------------------------------------ security_file_open

TEST_F(SecurityTest, FileOpenResolvesDirfdRelativeSymlinkedAndOPathOpens) {
  // Not selecting openat: the event has its own programs.
  auto s = StartSensor({"security_file_open"});
  ASSERT_NE(s, nullptr);
  const std::string dir = "/tmp/" + UniqueName("dir");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  const std::string file = dir + "/target";
  const std::string link = dir + "/link";
  { std::ofstream(file) << "x"; }
  ASSERT_EQ(symlink("target", link.c_str()), 0);
  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  const std::string resolved = RealPath(file);

  IntPipe fds;
  pid_t child = Spawn([&] {
    int dirfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    fds.Send(openat(dirfd, "target", O_RDONLY | O_CLOEXEC));  // dirfd-relative
    fds.Send(open(link.c_str(), O_WRONLY | O_APPEND));        // through a symlink
    fds.Send(open(file.c_str(), O_PATH));                     // O_PATH
    open_how how{.flags = O_RDONLY, .mode = 0, .resolve = RESOLVE_NO_SYMLINKS};
    fds.Send(syscall(SYS_openat2, dirfd, "target", &how, sizeof(how)));                           // openat2
    fds.Send(syscall(SYS_open, (dir + "/./../" + dir.substr(5) + "/target").c_str(), O_RDONLY));  // open(2)
    fds.Send(open((dir + "/missing").c_str(), O_RDONLY));  // fails: no event
    fds.Send(creat(file.c_str(), 0600));                   // creat(2): its implied flags
    return 0;
  });
  int64_t rel_fd = fds.Receive(), link_fd = fds.Receive(), opath_fd = fds.Receive(), how_fd = fds.Receive(),
          open_fd = fds.Receive(), missing = fds.Receive(), creat_fd = fds.Receive();
  ASSERT_EQ(WaitExit(child), 0);
  ASSERT_GE(rel_fd, 0);
  ASSERT_GE(link_fd, 0);
  ASSERT_GE(opath_fd, 0);
  ASSERT_GE(how_fd, 0);
  ASSERT_GE(open_fd, 0);
  ASSERT_LT(missing, 0);
  ASSERT_GE(creat_fd, 0);
  // This process opens it too: never reported.
  close(open(file.c_str(), O_RDONLY | O_CLOEXEC));

  auto opened = [&](const std::string& caller_path, const std::string& sys) {
    return [=](const Event& e) {
      return StrArg(e, "syscall_pathname") == caller_path && StrArg(e, "syscall") == sys;
    };
  };
  std::vector<std::string> flags_seen;
  const Event* rel = s->Await("security_file_open", child, opened("target", "openat"));
  ASSERT_NE(rel, nullptr) << "the dirfd-relative open did not arrive";
  ExpectChild(*rel, child);
  EXPECT_EQ(StrArg(*rel, "pathname"), resolved) << "the resolved path, not the caller's";
  EXPECT_EQ(StrArg(*rel, "flags"), "O_RDONLY|O_LARGEFILE|O_CLOEXEC")
      << "the file's flags (the kernel adds O_LARGEFILE on 64-bit) and the descriptor's O_CLOEXEC";
  EXPECT_EQ(static_cast<uint64_t>(IntArg(*rel, "inode")), st.st_ino);
  EXPECT_EQ(static_cast<uint64_t>(IntArg(*rel, "dev")), KernelDev(st.st_dev));
  EXPECT_EQ(static_cast<uint64_t>(IntArg(*rel, "ctime")),
            static_cast<uint64_t>(st.st_ctim.tv_sec) * 1000000000ULL + st.st_ctim.tv_nsec);
  EXPECT_EQ(rel->syscall_nr, SYS_openat);

  const Event* lnk = s->First("security_file_open", child, opened(link, "openat"));
  ASSERT_NE(lnk, nullptr);
  EXPECT_EQ(StrArg(*lnk, "pathname"), resolved) << "the symlink's target";
  EXPECT_THAT(StrArg(*lnk, "flags"), HasSubstr("O_WRONLY"));
  EXPECT_THAT(StrArg(*lnk, "flags"), HasSubstr("O_APPEND"));

  const Event* opath = s->First("security_file_open", child, [&](const Event& e) {
    return opened(file, "openat")(e) && StrArg(e, "flags").find("O_PATH") != std::string::npos;
  });
  ASSERT_NE(opath, nullptr) << "the O_PATH open";
  EXPECT_EQ(StrArg(*opath, "pathname"), resolved);
  EXPECT_EQ(static_cast<uint64_t>(IntArg(*opath, "inode")), st.st_ino);

  const Event* how = s->First("security_file_open", child, opened("target", "openat2"));
  ASSERT_NE(how, nullptr) << "openat2";
  EXPECT_EQ(StrArg(*how, "pathname"), resolved);
  EXPECT_EQ(how->syscall_nr, SYS_openat2);

  const Event* old = s->First("security_file_open", child, [&](const Event& e) {
    return StrArg(e, "syscall") == "open" && StrArg(e, "pathname") == resolved;
  });
  ASSERT_NE(old, nullptr) << "open(2) with ./.. in the path";
  EXPECT_THAT(StrArg(*old, "syscall_pathname"), HasSubstr("/./../"));

  const Event* created = s->First("security_file_open", child, opened(file, "creat"));
  ASSERT_NE(created, nullptr) << "creat(2)";
  EXPECT_EQ(StrArg(*created, "flags"), "O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE")
      << "creation flags the file does not keep, from the request";
  EXPECT_EQ(created->retval, 0) << "as the LSM hook would: 0";

  EXPECT_EQ(s->First("security_file_open", child,
                     [&](const Event& e) { return StrArg(e, "syscall_pathname") == dir + "/missing"; }),
            nullptr)
      << "a failed open opened no file";
  ExpectNothingFromThisProcess(*s);
  unlink(link.c_str());
  unlink(file.c_str());
  rmdir(dir.c_str());
}

// ------------------------------------------------- security_inode_unlink / _rename

// Issue 9, item 6: a path built from dentries that does not fit (more
// components than the walk takes, or more bytes than the buffer) is marked
// truncated and keeps its last components behind "..."; never empty, never
// passed off as whole. Each tree is built and opened relative to the cwd by
// a child (such paths are too long to name whole).
TEST_F(SecurityTest, FileOpenMarksPathsTooDeepOrTooLongAsTruncated) {
  auto s = StartSensor({"security_file_open"});
  ASSERT_NE(s, nullptr);
  const std::string base = RealPath("/tmp") + "/" + UniqueName("long");
  ASSERT_EQ(mkdir(base.c_str(), 0700), 0);
  // Builds `dirs` under base, then creates and reopens `file` at the bottom.
  auto open_at_bottom = [&](const std::vector<std::string>& dirs, const std::string& file) {
    pid_t child = Spawn([&] {
      if (chdir(base.c_str()) != 0) return 10;
      for (const std::string& d : dirs)
        if (mkdir(d.c_str(), 0700) != 0 || chdir(d.c_str()) != 0) return 11;
      int fd = open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
      if (fd < 0) return 12;
      close(fd);
      fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
      return fd < 0 ? 13 : 0;
    });
    EXPECT_EQ(WaitExit(child), 0);
    return child;
  };
  auto read_of = [&](pid_t child, const std::string& file) {
    return s->Await("security_file_open", child, [&](const Event& e) {
      return StrArg(e, "syscall_pathname") == file && StrArg(e, "flags").find("O_WRONLY") == std::string::npos;
    });
  };

  // 45 nested directories: more than the walk's 40 steps.
  pid_t deep = open_at_bottom(std::vector<std::string>(45, "d"), "deep-file");
  const Event* d = read_of(deep, "deep-file");
  ASSERT_NE(d, nullptr) << "the open 45 directories down did not arrive";
  const std::string dpath = StrArg(*d, "pathname");
  EXPECT_TRUE(d->truncated) << dpath;
  EXPECT_TRUE(dpath.starts_with(".../")) << dpath;
  EXPECT_TRUE(dpath.ends_with("/d/d/deep-file")) << dpath;
  EXPECT_EQ(dpath.find(base), std::string::npos) << "the leading components cannot all be there: " << dpath;

  // A path of exactly 4096 bytes (once: empty, 4096 & 4095).
  std::vector<std::string> dirs;
  size_t left = 4096 - (base.size() + 1);  // "/a..." under "/" "long-" "/": what remains
  std::string top = "t";
  dirs.push_back(top);
  left -= 1;  // "t"
  while (left > 300) {
    dirs.push_back(std::string(255, 'x'));
    left -= 256;
  }
  if (left > 256) {
    dirs.push_back(std::string(left - 129, 'y'));
    left = 128;
  }
  const std::string name(left - 1, 'f');  // "/" + name
  std::string whole = base + "/";
  for (size_t i = 0; i < dirs.size(); ++i) whole += (i ? "/" : "") + dirs[i];
  whole += "/" + name;
  ASSERT_EQ(whole.size(), 4096u);
  ASSERT_LE(dirs.size(), 30u);
  pid_t longest = open_at_bottom(dirs, name);
  const Event* l = read_of(longest, name);
  ASSERT_NE(l, nullptr) << "the open of a 4096-byte path did not arrive";
  const std::string lpath = StrArg(*l, "pathname");
  EXPECT_TRUE(l->truncated);
  EXPECT_FALSE(lpath.empty());
  EXPECT_TRUE(lpath.starts_with(".../")) << lpath.substr(0, 40);
  EXPECT_TRUE(lpath.ends_with("/" + name));
  EXPECT_LT(lpath.size(), 4096u);

  // A path that fits is whole and not marked.
  pid_t shallow = open_at_bottom({"s"}, "shallow-file");
  const Event* sh = read_of(shallow, "shallow-file");
  ASSERT_NE(sh, nullptr);
  EXPECT_EQ(StrArg(*sh, "pathname"), base + "/s/shallow-file");
  EXPECT_FALSE(sh->truncated);
  EXPECT_EQ(system(("rm -rf '" + base + "'").c_str()), 0);
}

TEST_F(SecurityTest, UnlinkAndRenameCarryFullPathsResolvedAgainstDirfdAndCwd) {
  auto s = StartSensor({"security_inode_unlink", "security_inode_rename"});
  ASSERT_NE(s, nullptr);
  const std::string dir = RealPath("/tmp") + "/" + UniqueName("unlink");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(mkdir((dir + "/sub").c_str(), 0700), 0);
  ASSERT_EQ(mkdir((dir + "/gone").c_str(), 0700), 0);
  ASSERT_EQ(mkdir((dir + "/gone2").c_str(), 0700), 0);
  for (const char* f : {"cwd-file", "dirfd-file", "abs-file", "old", "sub/inner"})
    std::ofstream(dir + "/" + f) << "x";

  pid_t child = Spawn([&] {
    if (chdir(dir.c_str()) != 0) return 1;
    int dirfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int subfd = open((dir + "/sub").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0 || subfd < 0) return 2;
    if (unlink("cwd-file") != 0) return 3;                       // cwd-relative
    if (unlinkat(dirfd, "dirfd-file", 0) != 0) return 4;         // dirfd-relative
    if (unlinkat(dirfd, "gone", AT_REMOVEDIR) != 0) return 5;    // a directory
    if (rmdir("gone2") != 0) return 6;                           // rmdir(2), cwd-relative
    if (unlink((dir + "/abs-file").c_str()) != 0) return 7;      // absolute
    if (unlink("missing") == 0) return 8;                        // fails: no event
    if (rename("old", "new") != 0) return 9;                     // rename(2), cwd
    if (renameat(dirfd, "new", subfd, "moved") != 0) return 10;  // two dirfds
    if (syscall(SYS_renameat2, subfd, "inner", AT_FDCWD, "sub/../back", 0) != 0) return 11;
    return 0;
  });
  ASSERT_EQ(WaitExit(child), 0);

  auto unlinked = [&](const std::string& path, const std::string& sys) {
    const Event* e = s->Await("security_inode_unlink", child, [&](const Event& e) {
      return StrArg(e, "pathname") == path && StrArg(e, "syscall") == sys;
    });
    EXPECT_NE(e, nullptr) << "no security_inode_unlink of " << path << " by " << sys;
    if (e != nullptr) {
      ExpectChild(*e, child);
      EXPECT_EQ(e->retval, 0);
      EXPECT_EQ(IntArg(*e, "inode"), 0) << "not seen at the syscall exit";
    }
  };
  unlinked(dir + "/cwd-file", "unlink");
  unlinked(dir + "/dirfd-file", "unlinkat");
  unlinked(dir + "/gone", "unlinkat");
  unlinked(dir + "/gone2", "rmdir");
  unlinked(dir + "/abs-file", "unlink");
  EXPECT_EQ(s->First("security_inode_unlink", child,
                     [](const Event& e) { return StrArg(e, "pathname").ends_with("/missing"); }),
            nullptr)
      << "a failed unlink removed nothing";

  auto renamed = [&](const std::string& from, const std::string& to, const std::string& sys) {
    const Event* e = s->Await("security_inode_rename", child, [&](const Event& e) {
      return StrArg(e, "old_path") == from && StrArg(e, "syscall") == sys;
    });
    ASSERT_NE(e, nullptr) << "no security_inode_rename of " << from << " by " << sys;
    ExpectChild(*e, child);
    EXPECT_EQ(StrArg(*e, "new_path"), to);
    EXPECT_EQ(e->syscall_nr, sys == "rename" ? SYS_rename : sys == "renameat" ? SYS_renameat : SYS_renameat2);
  };
  renamed(dir + "/old", dir + "/new", "rename");
  renamed(dir + "/new", dir + "/sub/moved", "renameat");
  renamed(dir + "/sub/inner", dir + "/sub/../back", "renameat2");  // the caller's part as given
  ExpectNothingFromThisProcess(*s);

  for (const char* f : {"sub/moved", "back"}) unlink((dir + "/" + f).c_str());
  rmdir((dir + "/sub").c_str());
  rmdir(dir.c_str());
}

// ------------------------------------------- capabilities_changed / privilege_gained

TEST_F(SecurityTest, CapsetSetsAreDecodedAndSetuidToRootIsAPrivilegeGain) {
  auto s = StartSensor({"capabilities_changed", "privilege_gained"});
  ASSERT_NE(s, nullptr);
  pid_t child = Spawn([] {
    // uid 1000 keeping its capabilities, then only CAP_SETUID, then root again.
    if (prctl(PR_SET_KEEPCAPS, 1) != 0) return 1;
    if (setresuid(1000, 1000, 1000) != 0) return 2;  // a loss: no privilege_gained
    __user_cap_header_struct hdr{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    __user_cap_data_struct data[2] = {};
    data[0].effective = data[0].permitted = 1u << CAP_SETUID;
    if (syscall(SYS_capset, &hdr, data) != 0) return 3;
    if (setuid(0) != 0) return 4;
    return 0;
  });
  ASSERT_EQ(WaitExit(child), 0);

  const Event* changed = s->Await("capabilities_changed", child);
  ASSERT_NE(changed, nullptr);
  ExpectChild(*changed, child);
  using Names = std::vector<std::string>;
  auto names = [](const Event& e, std::string_view arg) {
    const events::Arg* a = e.FindArg(arg);
    const events::Value shown = a ? Shown(*a) : events::Value{};
    const auto* v = std::get_if<Names>(&shown);
    return v ? *v : Names{"<not a list>"};
  };
  EXPECT_EQ(names(*changed, "effective"), Names{"CAP_SETUID"});
  EXPECT_EQ(names(*changed, "permitted"), Names{"CAP_SETUID"});
  EXPECT_EQ(names(*changed, "inheritable"), Names{});
  EXPECT_EQ(changed->syscall_nr, SYS_capset);
  EXPECT_EQ(changed->uid, 1000u);

  const Event* by_capset =
      s->Await("privilege_gained", child, [](const Event& e) { return StrArg(e, "syscall") == "capset"; });
  ASSERT_NE(by_capset, nullptr) << "capset raised CAP_SETUID into the effective set";
  EXPECT_EQ(names(*by_capset, "gained_caps"), Names{"CAP_SETUID"});
  EXPECT_EQ(IntArg(*by_capset, "old_euid"), 1000);
  EXPECT_EQ(IntArg(*by_capset, "new_euid"), 1000);

  const Event* by_setuid =
      s->Await("privilege_gained", child, [](const Event& e) { return StrArg(e, "syscall") == "setuid"; });
  ASSERT_NE(by_setuid, nullptr) << "setuid(0) from euid 1000";
  ExpectChild(*by_setuid, child);
  EXPECT_EQ(IntArg(*by_setuid, "old_uid"), 1000);
  EXPECT_EQ(IntArg(*by_setuid, "new_uid"), 0);
  EXPECT_EQ(IntArg(*by_setuid, "old_euid"), 1000);
  EXPECT_EQ(IntArg(*by_setuid, "new_euid"), 0);
  EXPECT_EQ(IntArg(*by_setuid, "new_fsuid"), 0);
  EXPECT_EQ(names(*by_setuid, "gained_caps"), Names{}) << "CAP_SETUID was already effective";
  EXPECT_EQ(names(*by_setuid, "cap_effective"), Names{"CAP_SETUID"}) << "permitted copied to effective";

  EXPECT_EQ(
      s->First("privilege_gained", child, [](const Event& e) { return StrArg(e, "syscall") == "setresuid"; }),
      nullptr)
      << "dropping to uid 1000 gained nothing";
  ExpectNothingFromThisProcess(*s);
}

// ------------------------------------------------------- exec enrichment

TEST_F(SecurityTest, ExecCarriesTheTypeOfItsStdin) {
  auto s = StartSensor({"sched_process_exec"});
  ASSERT_NE(s, nullptr);
  const std::string file = "/tmp/" + UniqueName("stdin");
  { std::ofstream(file) << "x"; }
  // Each child execs /bin/true with fd 0 made of something else.
  auto run = [&](const std::function<int()>& make_stdin) {
    return Spawn([&] {
      int fd = make_stdin();
      if (fd == -2) {
        close(0);
      } else {
        if (fd < 0 || dup2(fd, 0) != 0) return 1;
      }
      execl("/bin/true", "true", nullptr);
      return 2;
    });
  };
  pid_t pipe_child = run([] {
    int p[2];
    return pipe(p) == 0 ? p[0] : -1;
  });
  pid_t tty_child = run([] { return open("/dev/null", O_RDONLY); });
  pid_t file_child = run([&] { return open(file.c_str(), O_RDONLY); });
  pid_t sock_child = run([] {
    int sv[2];
    return socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 ? sv[0] : -1;
  });
  pid_t closed_child = run([] { return -2; });
  for (pid_t c : {pipe_child, tty_child, file_child, sock_child, closed_child}) ASSERT_EQ(WaitExit(c), 0);

  auto stdin_of = [&](pid_t child) {
    const Event* e = s->Await("sched_process_exec", child);
    EXPECT_NE(e, nullptr) << "no exec of " << child;
    return e ? StrArg(*e, "stdin_type") : std::string("<no exec>");
  };
  EXPECT_EQ(stdin_of(pipe_child), "S_IFIFO");
  EXPECT_EQ(stdin_of(tty_child), "S_IFCHR");
  EXPECT_EQ(stdin_of(file_child), "S_IFREG");
  EXPECT_EQ(stdin_of(sock_child), "S_IFSOCK");
  EXPECT_EQ(stdin_of(closed_child), "<missing>") << "no stdin, no argument";
  unlink(file.c_str());
}

// ------------------------------------------------------------ --exec-env

TEST_F(SecurityTest, ExecCarriesTheEnvironmentOnlyWhenAsked) {
  for (bool with_env : {false, true}) {
    SCOPED_TRACE(with_env ? "exec_env" : "no exec_env");
    auto s = StartSensor({"sched_process_exec"}, with_env);
    ASSERT_NE(s, nullptr);
    const std::string marker = "VIGIL_ENV_MARKER=" + UniqueName("env");
    pid_t child = Spawn([&] {
      char* const argv[] = {const_cast<char*>("true"), nullptr};
      char* const envp[] = {const_cast<char*>(marker.c_str()), const_cast<char*>("PATH=/usr/bin:/bin"),
                            nullptr};
      execve("/bin/true", argv, envp);
      return 127;
    });
    ASSERT_EQ(WaitExit(child), 0);
    const Event* e = s->Await("sched_process_exec", child);
    ASSERT_NE(e, nullptr);
    const events::Arg* env = e->FindArg("env");
    if (!with_env) {
      EXPECT_EQ(env, nullptr) << "no environment is read without the option";
      continue;
    }
    ASSERT_NE(env, nullptr);
    const auto* list = std::get_if<std::vector<std::string>>(&env->value);
    ASSERT_NE(list, nullptr);
    EXPECT_EQ(*list, (std::vector<std::string>{marker, "PATH=/usr/bin:/bin"}));
    EXPECT_THAT(StrArg(*e, "pathname"), HasSubstr("true"));
  }
}

// ------------------------------------------------------------ UTS namespace nodename

TEST_F(SecurityTest, ExecAndForkInAnotherUtsNamespaceCarryItsNodename) {
  auto s = StartSensor({"sched_process_exec", "sched_process_fork"});
  ASSERT_NE(s, nullptr);
  IntPipe grandchild;
  pid_t child = Spawn([&] {
    if (unshare(CLONE_NEWUTS) != 0) return 1;
    const char name[] = "test-uts-ns";
    if (sethostname(name, sizeof(name) - 1) != 0) return 2;
    pid_t g = fork();
    if (g == 0) _exit(0);
    grandchild.Send(g);
    waitpid(g, nullptr, 0);
    execl("/bin/true", "true", nullptr);
    return 127;
  });
  pid_t plain = Spawn([] {
    execl("/bin/true", "true", nullptr);
    return 127;
  });
  ASSERT_EQ(WaitExit(child), 0);
  ASSERT_EQ(WaitExit(plain), 0);
  const int64_t g = grandchild.Receive();

  const Event* exec = s->Await("sched_process_exec", child);
  ASSERT_NE(exec, nullptr);
  EXPECT_EQ(StrArg(*exec, "nodename"), "test-uts-ns");
  struct stat own {};
  ASSERT_EQ(stat("/proc/self/ns/uts", &own), 0);
  EXPECT_NE(exec->uts_ns, static_cast<uint32_t>(own.st_ino));

  const Event* fork_rec =
      s->Await("sched_process_fork", child, [&](const Event& e) { return IntArg(e, "child_pid") == g; });
  ASSERT_NE(fork_rec, nullptr);
  EXPECT_EQ(StrArg(*fork_rec, "nodename"), "test-uts-ns");
  EXPECT_EQ(fork_rec->uts_ns, exec->uts_ns);

  const Event* host_exec = s->Await("sched_process_exec", plain);
  ASSERT_NE(host_exec, nullptr);
  EXPECT_EQ(host_exec->FindArg("nodename"), nullptr) << "the sensor's own namespace: no nodename";
  EXPECT_EQ(host_exec->uts_ns, static_cast<uint32_t>(own.st_ino));
}

// ------------------------------------------------------------ magic_write

TEST_F(SecurityTest, TheFirstBytesWrittenToAFileAreCaptured) {
  auto s = StartSensor({"magic_write"});
  ASSERT_NE(s, nullptr);
  const std::string path = "/tmp/" + UniqueName("magic");
  const std::string path2 = path + "-p";
  const std::string elf(
      "\x7f"
      "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0",
      24);
  pid_t child = Spawn([&] {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (fd < 0) return 1;
    if (write(fd, elf.data(), elf.size()) != static_cast<ssize_t>(elf.size())) return 2;
    if (write(fd, "tail", 4) != 4) return 3;  // not at offset 0: no event
    close(fd);
    int p = open(path2.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (p < 0 || pwrite(p, "#!/bin/sh\n", 10, 0) != 10) return 4;
    if (pwrite(p, "x", 1, 100) != 1) return 5;  // not at offset 0
    close(p);
    int pipefd[2];
    if (pipe(pipefd) != 0 || write(pipefd[1], "ab", 2) != 2) return 6;  // not a regular file
    if (write(1, "", 0) != 0) return 7;                                 // nothing written
    return 0;
  });
  ASSERT_EQ(WaitExit(child), 0);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);

  const Event* e =
      s->Await("magic_write", child, [&](const Event& e) { return StrArg(e, "pathname") == path; });
  ASSERT_NE(e, nullptr);
  ExpectChild(*e, child);
  EXPECT_EQ(StrArg(*e, "bytes"), Hex(elf.substr(0, 20))) << "raw bytes are shown in hex";
  EXPECT_EQ(static_cast<uint64_t>(IntArg(*e, "dev")), KernelDev(st.st_dev));
  EXPECT_EQ(static_cast<uint64_t>(IntArg(*e, "inode")), st.st_ino);
  EXPECT_EQ(StrArg(*e, "syscall"), "write");

  const Event* pw =
      s->Await("magic_write", child, [&](const Event& e) { return StrArg(e, "pathname") == path2; });
  ASSERT_NE(pw, nullptr);
  EXPECT_EQ(StrArg(*pw, "bytes"), "23212f62696e2f73680a");  // "#!/bin/sh\n"
  EXPECT_EQ(StrArg(*pw, "syscall"), "pwrite64");

  int n = 0;
  for (const Event& ev : s->events()) n += ev.def->name == "magic_write" && ev.host_pid == uint32_t(child);
  EXPECT_EQ(n, 2) << "later writes, the pipe and the empty write left nothing";
  ExpectNothingFromThisProcess(*s);
  unlink(path.c_str());
  unlink(path2.c_str());
}

// ------------------------------------------------------------ mem_prot_alert

TEST_F(SecurityTest, MemoryMadeExecutableIsAlertedButLibraryMappingsAreNot) {
  auto s = StartSensor({"mem_prot_alert"});
  ASSERT_NE(s, nullptr);
  IntPipe addrs;
  const size_t len = 2 * 4096;
  pid_t child = Spawn([&] {
    void* rw = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rw == MAP_FAILED) return 1;
    if (mprotect(rw, len, PROT_READ | PROT_EXEC) != 0) return 2;  // "made executable"
    void* wx = mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (wx == MAP_FAILED) return 3;
    void* anon_x = mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (anon_x == MAP_FAILED) return 4;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);  // a file-backed r-x mapping: no alert
    if (fd < 0 || mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) == MAP_FAILED) return 5;
    addrs.Send(reinterpret_cast<int64_t>(rw));
    addrs.Send(reinterpret_cast<int64_t>(wx));
    addrs.Send(reinterpret_cast<int64_t>(anon_x));
    return 0;
  });
  ASSERT_EQ(WaitExit(child), 0);
  const int64_t rw = addrs.Receive(), wx = addrs.Receive(), anon_x = addrs.Receive();
  auto hex = [](int64_t v) { return events::FormatHex(static_cast<uint64_t>(v)); };

  const Event* prot =
      s->Await("mem_prot_alert", child, [](const Event& e) { return StrArg(e, "syscall") == "mprotect"; });
  ASSERT_NE(prot, nullptr);
  ExpectChild(*prot, child);
  EXPECT_EQ(StrArg(*prot, "alert"), "mprotect: made executable");
  EXPECT_EQ(StrArg(*prot, "address"), hex(rw));
  EXPECT_EQ(IntArg(*prot, "length"), static_cast<int64_t>(len));
  EXPECT_EQ(StrArg(*prot, "prot"), "PROT_READ|PROT_EXEC");
  EXPECT_EQ(prot->FindArg("fd"), nullptr) << "mprotect has no fd";

  const Event* w =
      s->Await("mem_prot_alert", child, [&](const Event& e) { return StrArg(e, "address") == hex(wx); });
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(StrArg(*w, "alert"), "mmap: writable and executable");
  EXPECT_EQ(StrArg(*w, "syscall"), "mmap");
  EXPECT_EQ(StrArg(*w, "prot"), "PROT_READ|PROT_WRITE|PROT_EXEC");
  EXPECT_EQ(IntArg(*w, "length"), 4096);
  EXPECT_EQ(IntArg(*w, "fd"), -1);
  EXPECT_EQ(StrArg(*w, "flags"), "MAP_PRIVATE|MAP_ANONYMOUS");

  const Event* a =
      s->Await("mem_prot_alert", child, [&](const Event& e) { return StrArg(e, "address") == hex(anon_x); });
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(StrArg(*a, "alert"), "mmap: anonymous executable");
  EXPECT_EQ(StrArg(*a, "prot"), "PROT_READ|PROT_EXEC");

  int alerts = 0;
  for (const Event& e : s->events())
    alerts += e.def->name == "mem_prot_alert" && e.host_pid == uint32_t(child);
  EXPECT_EQ(alerts, 3) << "the file-backed r-x mapping (and the loader's) left no alert";
  ExpectNothingFromThisProcess(*s);
}

TEST_F(SecurityTest, MemfdFilesAreNamedAsTheKernelNamesThem) {
  auto s = StartSensor({"security_file_open", "sched_process_exec"});
  ASSERT_NE(s, nullptr);
  const std::string name = UniqueName("memfd").substr(0, 40);
  pid_t child = Spawn([&] {
    int mfd = memfd_create(name.c_str(), 0);
    int in = open("/bin/true", O_RDONLY | O_CLOEXEC);
    char buf[65536];
    for (ssize_t n; (n = read(in, buf, sizeof(buf))) > 0;)
      if (write(mfd, buf, n) != n) return 1;
    const std::string self = "/proc/self/fd/" + std::to_string(mfd);
    if (open(self.c_str(), O_RDONLY) < 0) return 2;
    char* argv[] = {const_cast<char*>("memfd-payload"), nullptr};
    execv(self.c_str(), argv);  // fileless execution
    return 3;
  });
  ASSERT_EQ(WaitExit(child), 0);
  const std::string expected = "/memfd:" + name;  // as /proc/<pid>/fd shows it, less " (deleted)"
  const Event* opened = s->Await("security_file_open", child, [](const Event& e) {
    return StrArg(e, "syscall_pathname").starts_with("/proc/self/fd/");
  });
  ASSERT_NE(opened, nullptr);
  EXPECT_EQ(StrArg(*opened, "pathname"), expected);
  const Event* exec = s->Await("sched_process_exec", child);
  ASSERT_NE(exec, nullptr);
  EXPECT_EQ(StrArg(*exec, "pathname"), expected) << "the executed memfd, not \"/\"";
  EXPECT_THAT(StrArg(*exec, "cmdpath"), ::testing::StartsWith("/proc/self/fd/"));
}

// Without tracefs there are no per-syscall tracepoints; one raw_syscalls
// exit program per event stands in. (In a private mount namespace of a
// child, so that the machine's tracefs is untouched; the child reports by
// its exit status.)
TEST_F(SecurityTest, WithoutTracefsTheRawSyscallExitProgramsStandIn) {
  const std::string path = "/tmp/" + UniqueName("notracefs");
  pid_t runner = Spawn([&] {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      return 10;
    umount2("/sys/kernel/tracing", MNT_DETACH);
    umount2("/sys/kernel/debug/tracing", MNT_DETACH);
    umount2("/sys/kernel/debug", MNT_DETACH);
    if (access("/sys/kernel/tracing/events", F_OK) == 0) return 11;
    auto s = StartSensor({"security_file_open", "security_socket_connect", "security_inode_unlink",
                          "privilege_gained", "mem_prot_alert", "magic_write"});
    if (s == nullptr) return 12;
    int raw = 0;
    for (const std::string& line : s->bpf().attach_log()) raw += line.find("via raw_tp") != std::string::npos;
    if (raw != 7) return 13;  // privilege_gained: sys_enter and sys_exit
    pid_t actor = Spawn([&] {
      int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      if (write(fd, "MZ", 2) != 2) return 3;
      close(fd);
      if (mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
          MAP_FAILED)
        return 4;
      int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in closed{.sin_family = AF_INET, .sin_port = htons(1), .sin_addr = {htonl(INADDR_LOOPBACK)}};
      connect(c, reinterpret_cast<sockaddr*>(&closed), sizeof(closed));
      if (chdir("/tmp") != 0) return 1;
      unlink(path.substr(5).c_str());                                            // cwd-relative
      if (setresuid(1000, 1000, 0) != 0 || setresuid(-1, 0, -1) != 0) return 2;  // euid 0 again
      return 0;
    });
    WaitExit(actor);
    const Event* open_event = s->Await("security_file_open", actor, [&](const Event& e) {
      return StrArg(e, "pathname") == path && StrArg(e, "syscall") == "openat" &&
             StrArg(e, "flags") == "O_WRONLY|O_CREAT|O_LARGEFILE|O_CLOEXEC";
    });
    if (open_event == nullptr) return 14;
    const Event* connect_event = s->Await("security_socket_connect", actor, [](const Event& e) {
      return e.retval == -ECONNREFUSED && AddrArg(e, "remote_addr") == Inet("127.0.0.1", 1);
    });
    if (connect_event == nullptr) return 15;
    if (s->Await("security_inode_unlink", actor, [&](const Event& e) {
          return StrArg(e, "pathname") == path && StrArg(e, "syscall") == "unlink";
        }) == nullptr)
      return 17;
    if (s->Await("privilege_gained", actor, [&](const Event& e) {
          return StrArg(e, "syscall") == "setresuid" && IntArg(e, "old_euid") == 1000 &&
                 IntArg(e, "new_euid") == 0;
        }) == nullptr)
      return 18;
    if (s->Await("mem_prot_alert", actor, [](const Event& e) {
          return StrArg(e, "alert") == "mmap: writable and executable";
        }) == nullptr)
      return 19;
    if (s->Await("magic_write", actor, [&](const Event& e) {
          return StrArg(e, "pathname") == path && StrArg(e, "bytes") == "4d5a";  // "MZ"
        }) == nullptr)
      return 20;
    // Each syscall once: the fallback is attached once per event.
    int opens = 0;
    for (const Event& e : s->events())
      opens += e.host_pid == static_cast<uint32_t>(actor) && e.def->name == "security_file_open" &&
               StrArg(e, "pathname") == path;
    return opens == 1 ? 0 : 16;
  });
  int status = WaitExit(runner);
  unlink(path.c_str());
  EXPECT_EQ(status, 0)
      << "10: no private mount namespace, 11: tracefs still visible, 12: the sensor did not "
         "start, 13: not attached through raw_tp, 14: no security_file_open, 15: no "
         "security_socket_connect, 16: the open was reported more than once, 17: no security_inode_unlink "
         "with the full path, 18: no privilege_gained, 19: no mem_prot_alert, 20: no magic_write";
}

// ------------------------------------------------------------ sockets

TEST_F(SecurityTest, SocketBindListenConnectAcceptOverIpv4Ipv6AndUnix) {
  auto s = StartSensor({"security_socket_bind", "security_socket_listen", "security_socket_connect",
                        "security_socket_accept"});
  ASSERT_NE(s, nullptr);
  const std::string unix_path = "/tmp/" + UniqueName("sock");
  IntPipe out;
  pid_t child = Spawn([&] {
    // IPv4: a listener on an ephemeral port, a connection to it.
    sockaddr_in any;
    int l = ListenTcp4("127.0.0.1", 0, 7, any);
    if (l < 0) return 1;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0) return 2;
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    getsockname(c, reinterpret_cast<sockaddr*>(&local), &len);
    int a = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    out.Send(ntohs(any.sin_port));
    out.Send(ntohs(local.sin_port));
    out.Send(l);
    out.Send(c);
    out.Send(a);
    // IPv6: a refused connection (nothing listens on port 1).
    int c6 = socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 six{.sin6_family = AF_INET6, .sin6_port = htons(1)};
    six.sin6_addr = in6addr_loopback;
    out.Send(connect(c6, reinterpret_cast<sockaddr*>(&six), sizeof(six)) == 0 ? 0 : -errno);
    out.Send(c6);
    // Unix: a path socket.
    int u = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    sockaddr_un sun{.sun_family = AF_UNIX};
    strncpy(sun.sun_path, unix_path.c_str(), sizeof(sun.sun_path) - 1);
    if (bind(u, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) != 0 || listen(u, 1) != 0) return 3;
    int uc = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (connect(uc, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) != 0) return 4;
    int ua = accept(u, nullptr, nullptr);
    out.Send(ua);
    return 0;
  });
  int64_t port = out.Receive(), client_port = out.Receive(), l = out.Receive(), c = out.Receive(),
          a = out.Receive(), refused = out.Receive(), c6 = out.Receive(), ua = out.Receive();
  ASSERT_EQ(WaitExit(child), 0);
  unlink(unix_path.c_str());
  ASSERT_GT(port, 0);
  ASSERT_EQ(refused, -ECONNREFUSED);

  auto fd_is = [](int64_t fd) { return [fd](const Event& e) { return IntArg(e, "sockfd") == fd; }; };
  const Event* bind4 = s->Await("security_socket_bind", child, fd_is(l));
  ASSERT_NE(bind4, nullptr);
  ExpectChild(*bind4, child);
  EXPECT_EQ(AddrArg(*bind4, "local_addr"), Inet("127.0.0.1", 0)) << "the address the caller asked for";
  EXPECT_EQ(StrArg(*bind4, "type"), "SOCK_STREAM");
  EXPECT_EQ(bind4->retval, 0);
  EXPECT_EQ(bind4->syscall_nr, SYS_bind);

  const Event* listen4 = s->Await("security_socket_listen", child, fd_is(l));
  ASSERT_NE(listen4, nullptr);
  EXPECT_EQ(AddrArg(*listen4, "local_addr"), Inet("127.0.0.1", static_cast<int>(port)))
      << "the bound address, from the kernel's socket";
  EXPECT_EQ(IntArg(*listen4, "backlog"), 7);

  const Event* conn4 = s->Await("security_socket_connect", child, fd_is(c));
  ASSERT_NE(conn4, nullptr);
  ExpectChild(*conn4, child);
  EXPECT_EQ(AddrArg(*conn4, "remote_addr"), Inet("127.0.0.1", static_cast<int>(port)));
  EXPECT_EQ(StrArg(*conn4, "type"), "SOCK_STREAM");
  EXPECT_EQ(conn4->retval, 0);

  const Event* acc4 = s->Await("security_socket_accept", child, fd_is(l));
  ASSERT_NE(acc4, nullptr);
  EXPECT_EQ(acc4->retval, a) << "the new connection's descriptor";
  EXPECT_EQ(acc4->syscall_nr, SYS_accept4);
  EXPECT_EQ(AddrArg(*acc4, "local_addr"), Inet("127.0.0.1", static_cast<int>(port)));
  EXPECT_EQ(AddrArg(*acc4, "remote_addr"), Inet("127.0.0.1", static_cast<int>(client_port)))
      << "the peer: the connecting socket";

  const Event* conn6 = s->Await("security_socket_connect", child, fd_is(c6));
  ASSERT_NE(conn6, nullptr);
  EXPECT_EQ(conn6->retval, -ECONNREFUSED);
  Fields six = AddrArg(*conn6, "remote_addr");
  EXPECT_THAT(six, ::testing::Contains(::testing::Pair("sa_family", "AF_INET6")));
  EXPECT_THAT(six, ::testing::Contains(::testing::Pair("sin6_addr", "::1")));
  EXPECT_THAT(six, ::testing::Contains(::testing::Pair("sin6_port", "1")));

  Fields unix_addr = {{"sa_family", "AF_UNIX"}, {"sun_path", unix_path}};
  const Event* ubind = s->Await("security_socket_bind", child,
                                [&](const Event& e) { return AddrArg(e, "local_addr") == unix_addr; });
  ASSERT_NE(ubind, nullptr);
  EXPECT_EQ(StrArg(*ubind, "type"), "SOCK_SEQPACKET");
  const Event* ulisten = s->Await("security_socket_listen", child,
                                  [&](const Event& e) { return AddrArg(e, "local_addr") == unix_addr; });
  ASSERT_NE(ulisten, nullptr) << "a unix socket's bound path, from the kernel";
  const Event* uacc =
      s->Await("security_socket_accept", child, [&](const Event& e) { return e.retval == ua; });
  ASSERT_NE(uacc, nullptr);
  EXPECT_EQ(AddrArg(*uacc, "local_addr"), unix_addr);
  EXPECT_EQ(AddrArg(*uacc, "remote_addr"), (Fields{{"sa_family", "AF_UNIX"}, {"sun_path", ""}}))
      << "the peer is an unbound socket";
  ExpectNothingFromThisProcess(*s);
}

// ------------------------------------------------------------ net_tcp_connection

TEST_F(SecurityTest, TcpConnectionsCarryDirectionAndTheProcessesAtBothEnds) {
  auto s = StartSensor({"net_tcp_connection"});
  ASSERT_NE(s, nullptr);
  IntPipe port_pipe, done_pipe;
  // The server: listens (after the sensor started) and accepts one connection.
  pid_t server = Spawn([&] {
    sockaddr_in sin;
    int l = ListenTcp4("127.0.0.1", 0, 1, sin);
    if (l < 0) return 1;
    port_pipe.Send(ntohs(sin.sin_port));
    int a = accept(l, nullptr, nullptr);
    done_pipe.Receive();
    return a >= 0 ? 0 : 2;
  });
  int64_t port = port_pipe.Receive();
  IntPipe client_port;
  pid_t client = Spawn([&] {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{.sin_family = AF_INET,
                    .sin_port = htons(static_cast<uint16_t>(port)),
                    .sin_addr = {htonl(INADDR_LOOPBACK)}};
    if (connect(c, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) return 1;
    socklen_t len = sizeof(sin);
    getsockname(c, reinterpret_cast<sockaddr*>(&sin), &len);
    client_port.Send(ntohs(sin.sin_port));
    // And one that fails: nothing listens on port 1.
    int f = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in closed{.sin_family = AF_INET, .sin_port = htons(1), .sin_addr = {htonl(INADDR_LOOPBACK)}};
    return connect(f, reinterpret_cast<sockaddr*>(&closed), sizeof(closed)) == 0 ? 2 : 0;
  });
  int64_t cport = client_port.Receive();
  ASSERT_EQ(WaitExit(client), 0);
  done_pipe.Send(1);
  ASSERT_EQ(WaitExit(server), 0);

  const Fields server_addr = Inet("127.0.0.1", static_cast<int>(port));
  const Fields client_addr = Inet("127.0.0.1", static_cast<int>(cport));
  const Event* out = s->Await("net_tcp_connection", client, [&](const Event& e) {
    return StrArg(e, "direction") == "outbound" && StrArg(e, "new_state") == "TCP_ESTABLISHED";
  });
  ASSERT_NE(out, nullptr) << "the outbound connection, attributed to the client";
  ExpectChild(*out, client);
  EXPECT_EQ(StrArg(*out, "family"), "AF_INET");
  EXPECT_EQ(AddrArg(*out, "src"), client_addr);
  EXPECT_EQ(AddrArg(*out, "dst"), server_addr);
  EXPECT_EQ(StrArg(*out, "old_state"), "TCP_SYN_SENT");

  const Event* in = s->Await("net_tcp_connection", server,
                             [&](const Event& e) { return StrArg(e, "direction") == "inbound"; });
  ASSERT_NE(in, nullptr) << "the inbound connection, attributed to the listening server";
  ExpectChild(*in, server);
  EXPECT_EQ(AddrArg(*in, "src"), server_addr) << "src is the local end";
  EXPECT_EQ(AddrArg(*in, "dst"), client_addr);
  EXPECT_EQ(StrArg(*in, "old_state"), "TCP_SYN_RECV");
  EXPECT_EQ(StrArg(*in, "new_state"), "TCP_ESTABLISHED");

  const Event* failed = s->Await("net_tcp_connection", client,
                                 [&](const Event& e) { return StrArg(e, "new_state") == "TCP_CLOSE"; });
  ASSERT_NE(failed, nullptr) << "the refused connection";
  EXPECT_EQ(StrArg(*failed, "direction"), "outbound");
  EXPECT_EQ(StrArg(*failed, "old_state"), "TCP_SYN_SENT");
  EXPECT_EQ(AddrArg(*failed, "dst"), Inet("127.0.0.1", 1));
}

// ------------------------------------------------------------ cap_capable

TEST_F(SecurityTest, CapCapableReportsGrantedAndDeniedChecksOfTheCheckingProcess) {
  auto s = StartSensor({"cap_capable"});
  ASSERT_NE(s, nullptr);
  pid_t child = Spawn([&] {
    // As root: raising priority (nice below the RLIMIT_NICE floor) needs CAP_SYS_NICE.
    if (setpriority(PRIO_PROCESS, 0, -1) != 0) return 1;
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) return 2;
    // As nobody: the same check, denied.
    return setpriority(PRIO_PROCESS, 0, -2) != 0 && errno == EACCES ? 0 : 3;
  });
  ASSERT_EQ(WaitExit(child), 0);
  auto nice_check = [](const char* result) {
    return [result](const Event& e) {
      return StrArg(e, "cap") == "CAP_SYS_NICE" && StrArg(e, "result") == result;
    };
  };
  const Event* granted = s->Await("cap_capable", child, nice_check("granted"));
  ASSERT_NE(granted, nullptr);
  ExpectChild(*granted, child);
  EXPECT_EQ(granted->uid, 0u);
  EXPECT_EQ(granted->retval, 0);
  EXPECT_EQ(StrArg(*granted, "syscall"), "setpriority");
  EXPECT_EQ(granted->syscall_nr, SYS_setpriority);

  const Event* denied = s->Await("cap_capable", child, nice_check("EPERM"));
  ASSERT_NE(denied, nullptr) << "the denied check";
  EXPECT_EQ(denied->uid, 65534u) << "the checking process, after it changed its uid";
  EXPECT_EQ(denied->retval, -EPERM);
  EXPECT_EQ(StrArg(*denied, "syscall"), "setpriority");
  EXPECT_GT(denied->timestamp_ns, granted->timestamp_ns);
  // The setuid between them was checked too.
  EXPECT_NE(s->First("cap_capable", child, [](const Event& e) { return StrArg(e, "cap") == "CAP_SETUID"; }),
            nullptr);
  ExpectNothingFromThisProcess(*s);
}

// ------------------------------------------------------------ net_packet_ipv4

TEST_F(SecurityTest, PacketsOfBothDirectionsWithTheSocketsUidAndCgroup) {
  auto s = StartSensor({"net_packet_ipv4"});
  ASSERT_NE(s, nullptr);
  const std::string payload = "vigil-packet";
  IntPipe ports;
  pid_t child = Spawn([&] {
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) return 1;
    int r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int w = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}};
    socklen_t len = sizeof(sin);
    if (bind(r, reinterpret_cast<sockaddr*>(&sin), len) != 0 ||
        bind(w, reinterpret_cast<sockaddr*>(&sin), len) != 0)
      return 2;
    getsockname(r, reinterpret_cast<sockaddr*>(&sin), &len);
    sockaddr_in from{};
    getsockname(w, reinterpret_cast<sockaddr*>(&from), &len);
    ports.Send(ntohs(from.sin_port));
    ports.Send(ntohs(sin.sin_port));
    if (sendto(w, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) < 0)
      return 3;
    char buf[64];
    return recv(r, buf, sizeof(buf), 0) == static_cast<ssize_t>(payload.size()) ? 0 : 4;
  });
  int64_t src_port = ports.Receive(), dst_port = ports.Receive();
  ASSERT_EQ(WaitExit(child), 0);
  auto ours = [&](const char* direction) {
    return [=](const Event& e) {
      return IntArg(e, "src_port") == src_port && IntArg(e, "dst_port") == dst_port &&
             StrArg(e, "direction") == direction;
    };
  };
  for (const char* direction : {"egress", "ingress"}) {
    SCOPED_TRACE(direction);
    const Event* p = s->Await("net_packet_ipv4", -1, ours(direction));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(StrArg(*p, "src"), "127.0.0.1");
    EXPECT_EQ(StrArg(*p, "dst"), "127.0.0.1");
    EXPECT_EQ(StrArg(*p, "protocol"), "IPPROTO_UDP");
    EXPECT_EQ(IntArg(*p, "length"), static_cast<int64_t>(20 + 8 + payload.size())) << "IP total length";
    // No task in softirq: the socket's owner and cgroup, no process.
    EXPECT_EQ(p->uid, 65534u) << "the sending/receiving socket's uid";
    EXPECT_EQ(p->cgroup_id, OwnCgroupV2Id()) << "the socket's cgroup (the child's, as this process's)";
    EXPECT_EQ(p->host_pid, 0u);
    EXPECT_EQ(p->comm, "");
    EXPECT_EQ(p->policies, 1u);
  }
}

// An HTTP/1.x head on a random port, recognised from its first bytes: the
// record holds the head only (its body, sent in the same segment, is not
// read) and names the sending process; a TLS record on the same connection
// is no HTTP.
TEST_F(SecurityTest, HttpHeadsAreCapturedOnAnyPortUpToTheirEmptyLine) {
  // (The harness selects no dependencies: net_packet_capture owns the programs.)
  auto s = StartSensor({"net_packet_capture", "net_packet_http_request"});
  ASSERT_NE(s, nullptr);
  const std::string head = "PUT /vigil/k?x=1 HTTP/1.1\r\nHost: vigil.test\r\nContent-Length: 300\r\n\r\n";
  const std::string body(300, 'b');
  const std::string tls("\x16\x03\x01\x00\x10\x01\x00\x00\x0c\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                        21);
  IntPipe port;
  pid_t child = Spawn([&] {
    sockaddr_in sin;
    int l = ListenTcp4("127.0.0.1", 0, 1, sin);
    if (l < 0) return 1;
    port.Send(ntohs(sin.sin_port));
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(c, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) return 2;
    int a = accept(l, nullptr, nullptr);
    const std::string segment = head + body;
    if (send(c, segment.data(), segment.size(), 0) != static_cast<ssize_t>(segment.size())) return 3;
    std::string got(segment.size(), 0);
    if (recv(a, got.data(), got.size(), MSG_WAITALL) != static_cast<ssize_t>(got.size())) return 4;
    if (send(c, tls.data(), tls.size(), 0) != static_cast<ssize_t>(tls.size())) return 5;
    return recv(a, got.data(), tls.size(), MSG_WAITALL) == static_cast<ssize_t>(tls.size()) ? 0 : 6;
  });
  const int64_t server_port = port.Receive();
  ASSERT_EQ(WaitExit(child), 0);
  const Event* e = s->Await("net_packet_http_request", child);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(StrArg(*e, "http_request"), head) << "the head, up to its empty line; not the body";
  EXPECT_FALSE(e->truncated);
  EXPECT_FALSE(e->comm.empty()) << "the sender's header";
  const std::string meta = StrArg(*e, "metadata");
  ASSERT_EQ(meta.size(), sizeof(vg_pkt_meta));
  vg_pkt_meta m;
  std::memcpy(&m, meta.data(), sizeof(m));
  EXPECT_EQ(m.dst_port, server_port);
  EXPECT_EQ(m.protocol, IPPROTO_TCP);
  EXPECT_EQ(m.direction, 3) << "egress";
  s->DrainFor(200);
  for (const Event* r : s->Find("net_packet_http_request", -1))
    EXPECT_EQ(StrArgOrMark(*r, "http_request").find('\x16'), std::string::npos) << "TLS is no HTTP";
}

// ping's echo request names the pinging process; the echo reply the kernel
// sends (softirq, from its own socket) names none; the reply that reaches the
// process's socket is its again.
TEST_F(SecurityTest, IcmpEchoNamesThePingerNotTheKernelsReply) {
  auto s = StartSensor({"net_packet_capture", "net_packet_icmp"});
  ASSERT_NE(s, nullptr);
  pid_t child = Spawn([&] {
    int r = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (r < 0) return 1;
    uint8_t echo[16] = {8, 0, 0, 0, 0x42, 0x42, 0, 7, 'v', 'i', 'g', 'i', 'l', 0, 0, 0};
    uint32_t sum = 0;
    for (size_t i = 0; i < sizeof(echo); i += 2) sum += echo[i] << 8 | echo[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    echo[2] = static_cast<uint8_t>(~sum >> 8);
    echo[3] = static_cast<uint8_t>(~sum);
    sockaddr_in to{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}};
    if (sendto(r, echo, sizeof(echo), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != sizeof(echo))
      return 2;
    uint8_t reply[128];
    for (int i = 0; i < 4; i++) {  // its own request comes back too (raw sockets see every ICMP)
      ssize_t n = recv(r, reply, sizeof(reply), 0);
      if (n >= 28 && reply[20] == 0 && reply[24] == 0x42 && reply[25] == 0x42) return 0;
    }
    return 3;
  });
  ASSERT_EQ(WaitExit(child), 0);
  auto ours = [](uint8_t type, uint8_t direction) {
    return [=](const Event& e) {
      const std::string icmp = StrArgOrMark(e, "proto_icmp"), meta = StrArgOrMark(e, "metadata");
      if (icmp.size() != 8 || meta.size() != sizeof(vg_pkt_meta)) return false;
      vg_pkt_meta m;
      std::memcpy(&m, meta.data(), sizeof(m));
      return static_cast<uint8_t>(icmp[0]) == type && icmp[4] == 0x42 && icmp[5] == 0x42 && icmp[7] == 7 &&
             m.direction == direction;
    };
  };
  const Event* request = s->Await("net_packet_icmp", child, ours(8, 3));
  ASSERT_NE(request, nullptr) << "the echo request, egress";
  const Event* kernel_reply = s->Await("net_packet_icmp", -1, ours(0, 3));
  ASSERT_NE(kernel_reply, nullptr) << "the kernel's echo reply, egress";
  EXPECT_EQ(kernel_reply->host_pid, 0u);
  EXPECT_EQ(kernel_reply->comm, "");
  EXPECT_NE(s->Await("net_packet_icmp", child, ours(0, 4)), nullptr)
      << "the reply reaching the child, ingress";
}

// ------------------------------------------------------------ decoded syscall arguments

TEST_F(SecurityTest, PtracePrctlBpfNamespaceAndSocketArgumentsAreDecoded) {
  auto s = StartSensor({"ptrace", "prctl", "bpf", "unshare", "setns", "socket"});
  ASSERT_NE(s, nullptr);
  IntPipe tracee_pid;
  pid_t child = Spawn([&] {
    pid_t tracee = fork();
    if (tracee == 0) {
      pause();
      _exit(0);
    }
    tracee_pid.Send(tracee);
    if (ptrace(PTRACE_ATTACH, tracee, nullptr, nullptr) != 0) return 1;
    waitpid(tracee, nullptr, 0);
    ptrace(PTRACE_DETACH, tracee, nullptr, nullptr);
    kill(tracee, SIGKILL);
    waitpid(tracee, nullptr, 0);
    prctl(PR_SET_NAME, "vg-renamed", 0, 0, 0);
    syscall(SYS_bpf, 5 /* BPF_PROG_LOAD */, nullptr, 0);  // fails (EFAULT/EINVAL): the command is what counts
    if (unshare(CLONE_NEWUTS | CLONE_NEWIPC) != 0) return 2;
    int ns = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
    if (setns(ns, CLONE_NEWUTS) != 0) return 3;
    close(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    return 0;
  });
  int64_t tracee = tracee_pid.Receive();
  ASSERT_EQ(WaitExit(child), 0);

  const Event* attach =
      s->Await("ptrace", child, [](const Event& e) { return StrArg(e, "request") == "PTRACE_ATTACH"; });
  ASSERT_NE(attach, nullptr);
  EXPECT_EQ(IntArg(*attach, "pid"), tracee);
  EXPECT_NE(s->Await("ptrace", child, [](const Event& e) { return StrArg(e, "request") == "PTRACE_DETACH"; }),
            nullptr);
  const Event* p =
      s->Await("prctl", child, [](const Event& e) { return StrArg(e, "option") == "PR_SET_NAME"; });
  EXPECT_NE(p, nullptr);
  const Event* b = s->Await("bpf", child);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(StrArg(*b, "cmd"), "BPF_PROG_LOAD");
  const Event* u = s->Await("unshare", child);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(StrArg(*u, "flags"), "CLONE_NEWUTS|CLONE_NEWIPC") << "Tracee's argument name";
  const Event* n = s->Await("setns", child);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(StrArg(*n, "nstype"), "CLONE_NEWUTS") << "Tracee's argument name";
  EXPECT_EQ(n->retval, 0);
  const Event* so =
      s->Await("socket", child, [](const Event& e) { return StrArg(e, "domain") == "AF_INET6"; });
  ASSERT_NE(so, nullptr);
  EXPECT_EQ(StrArg(*so, "type"), "SOCK_DGRAM|SOCK_CLOEXEC");
}

TEST_F(SecurityTest, BpfProgramLoadsCarryTheirTypeNameAndSize) {
  auto s = StartSensor({"bpf_prog_load"});
  ASSERT_NE(s, nullptr);
  pid_t child = Spawn([&] {
    // r0 = 0; exit: the smallest program a socket filter may be.
    struct bpf_insn insns[2] = {};
    insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
    insns[0].dst_reg = BPF_REG_0;
    insns[1].code = BPF_JMP | BPF_EXIT;
    union bpf_attr attr = {};
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = reinterpret_cast<uint64_t>(insns);
    attr.insn_cnt = 2;
    attr.license = reinterpret_cast<uint64_t>("GPL");
    std::strncpy(attr.prog_name, "vg_test_prog", sizeof(attr.prog_name) - 1);
    int fd = static_cast<int>(syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)));
    if (fd < 0) return 1;
    close(fd);
    syscall(SYS_bpf, BPF_MAP_CREATE, &attr, 0);  // another command: no event
    return 0;
  });
  ASSERT_EQ(WaitExit(child), 0);
  const Event* e = s->Await("bpf_prog_load", child);
  ASSERT_NE(e, nullptr);
  EXPECT_GE(e->retval, 0) << "the program's fd";
  EXPECT_EQ(StrArg(*e, "prog_type"), "BPF_PROG_TYPE_SOCKET_FILTER");
  EXPECT_EQ(StrArg(*e, "prog_name"), "vg_test_prog");
  EXPECT_EQ(IntArg(*e, "insn_cnt"), 2);
}

// -------------------------------------------------------------- security_sb_mount

TEST_F(SecurityTest, MountAndMoveMountCarryDeviceTargetTypeAndFlags) {
  auto s = StartSensor({"security_sb_mount"});
  ASSERT_NE(s, nullptr);
  const std::string dir = RealPath("/tmp") + "/" + UniqueName("mount");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(mkdir((dir + "/a").c_str(), 0700), 0);
  ASSERT_EQ(mkdir((dir + "/b").c_str(), 0700), 0);
  pid_t child = Spawn([&] {
    // A private mount namespace: nothing leaks to the host.
    if (unshare(CLONE_NEWNS) != 0) return 1;
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 2;
    if (chdir(dir.c_str()) != 0) return 3;
    if (mount("vgtmp", "a", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") != 0) return 4;  // relative target
    if (mount("none", "b", "no-such-fs", 0, nullptr) == 0) return 5;                   // refused: still seen
    // The new API: fsopen -> fsconfig -> fsmount -> move_mount.
    int fs = static_cast<int>(syscall(SYS_fsopen, "tmpfs", 0));
    if (fs < 0) return 6;
    if (syscall(SYS_fsconfig, fs, 6 /* FSCONFIG_CMD_CREATE */, nullptr, nullptr, 0) != 0) return 7;
    int mnt = static_cast<int>(syscall(SYS_fsmount, fs, 0, 0));
    if (mnt < 0) return 8;
    if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, "b", 4 /* MOVE_MOUNT_F_EMPTY_PATH */) != 0) return 9;
    return 0;
  });
  ASSERT_EQ(WaitExit(child), 0);

  const Event* tmpfs = s->Await("security_sb_mount", child, [&](const Event& e) {
    return StrArg(e, "path") == dir + "/a" && StrArg(e, "syscall") == "mount";
  });
  ASSERT_NE(tmpfs, nullptr) << "no security_sb_mount of the tmpfs";
  ExpectChild(*tmpfs, child);
  EXPECT_EQ(tmpfs->retval, 0);
  EXPECT_EQ(StrArg(*tmpfs, "dev_name"), "vgtmp");
  EXPECT_EQ(StrArg(*tmpfs, "type"), "tmpfs");
  EXPECT_EQ(IntArg(*tmpfs, "flags"), MS_NOSUID | MS_NODEV);

  const Event* refused = s->Await("security_sb_mount", child, [&](const Event& e) {
    return StrArg(e, "path") == dir + "/b" && StrArg(e, "syscall") == "mount";
  });
  ASSERT_NE(refused, nullptr) << "a refused mount is reported too";
  EXPECT_EQ(refused->retval, -ENODEV);
  EXPECT_EQ(StrArg(*refused, "type"), "no-such-fs");

  const Event* moved = s->Await("security_sb_mount", child,
                                [&](const Event& e) { return StrArg(e, "syscall") == "move_mount"; });
  ASSERT_NE(moved, nullptr) << "no security_sb_mount from move_mount";
  EXPECT_EQ(moved->retval, 0);
  EXPECT_EQ(StrArg(*moved, "path"), dir + "/b");
  EXPECT_EQ(StrArg(*moved, "type"), "tmpfs") << "from the fsmount fd's superblock";
  EXPECT_EQ(StrArg(*moved, "dev_name"), "tmpfs");
  EXPECT_EQ(IntArg(*moved, "flags"), 4);
  ExpectNothingFromThisProcess(*s);
  rmdir((dir + "/a").c_str());
  rmdir((dir + "/b").c_str());
  rmdir(dir.c_str());
}

// ------------------------------------------------------------ decoders (no kernel needed)

TEST(SecurityDecoders, RenderKnownValuesByNameAndUnknownOnesAsNumbers) {
  using namespace events;
  EXPECT_EQ(FormatPtraceRequest(16), "PTRACE_ATTACH");
  EXPECT_EQ(FormatPtraceRequest(0x4206), "PTRACE_SEIZE");
  EXPECT_EQ(FormatPtraceRequest(12345), "12345");
  EXPECT_EQ(FormatPrctlOption(15), "PR_SET_NAME");
  EXPECT_EQ(FormatPrctlOption(0x59616d61), "PR_SET_PTRACER");
  EXPECT_EQ(FormatBpfCmd(5), "BPF_PROG_LOAD");
  EXPECT_EQ(FormatBpfCmd(36), "BPF_TOKEN_CREATE");
  EXPECT_EQ(FormatBpfCmd(-1), "-1");
  EXPECT_EQ(FormatNamespaceFlags(0), "0") << "setns: any namespace type";
  EXPECT_EQ(FormatNamespaceFlags(CLONE_NEWNS | CLONE_NEWUSER), "CLONE_NEWNS|CLONE_NEWUSER");
  EXPECT_EQ(FormatNamespaceFlags(0x80), "CLONE_NEWTIME") << "not a signal, unlike clone(2)'s low byte";
  EXPECT_EQ(FormatNamespaceFlags(CLONE_FS | 0x1), "CLONE_FS|0x1");
  EXPECT_EQ(FormatSocketDomain(AF_INET6), "AF_INET6");
  EXPECT_EQ(FormatSocketDomain(AF_NETLINK), "AF_NETLINK");
  EXPECT_EQ(FormatSocketType(SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC),
            "SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC");
  EXPECT_EQ(FormatSocketType(SOCK_RAW), "SOCK_RAW");
  EXPECT_EQ(FormatTcpState(1), "TCP_ESTABLISHED");
  EXPECT_EQ(FormatTcpState(12), "TCP_NEW_SYN_RECV");
  EXPECT_EQ(FormatCapCheckResult(0), "granted");
  EXPECT_EQ(FormatCapCheckResult(-EPERM), "EPERM");
  EXPECT_EQ(FormatSyscallName(257), "openat");
  EXPECT_EQ(FormatSyscallName(-1), "-1");
  EXPECT_EQ(FormatIpProtocol(6), "IPPROTO_TCP");
  EXPECT_EQ(FormatIpProtocol(200), "200");
  EXPECT_EQ(FormatIpv4(htonl(0x7f000001)), "127.0.0.1");
  EXPECT_EQ(FormatIpv4(htonl(0xc0a80101)), "192.168.1.1");
  EXPECT_EQ(FormatDirection(1), "outbound");
  EXPECT_EQ(FormatDirection(4), "ingress");
}

}  // namespace
}  // namespace vigil::ktest
