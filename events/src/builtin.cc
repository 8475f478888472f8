// The built-in catalogue: every x86-64 syscall (from the generated table)
// and the process lifecycle events.
#include <map>
#include <set>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "vigil/events/event_ids.h"
#include "vigil/events/registry.h"
#include "defined_events.h"
#include "container_events.h"
#include "security_events.h"

namespace vigil::events {
namespace {

struct SyscallArgRow {
  const char* type;
  const char* name;
};
struct SyscallRow {
  int nr;
  const char* name;
  bool has_tracepoint;
  int argc;
  SyscallArgRow args[6];
};

constexpr SyscallRow kSyscalls[] = {
#include "syscalls_x86_64.inc"
};

using caps::Cap;

// Arguments read as strings. Other `char*` arguments are data buffers
// (read/write), which the sensor does not copy.
const std::set<std::string_view> kStringArgNames = {
    "filename", "pathname", "path",      "oldname", "newname",     "oldpath",  "newpath",
    "dev_name", "dir_name", "type",      "specialfile", "library", "uname",    "name",
    "special",  "old_name", "new_name",  "uargs"};

// Kernel argument names renamed to Tracee's, so existing policies keep working.
const std::map<std::string_view, std::string_view> kArgRenames = {
    {"filename", "pathname"}, {"dfd", "dirfd"},           {"olddfd", "olddirfd"},
    {"newdfd", "newdirfd"},   {"uservaddr", "addr"},      {"umyaddr", "addr"},
    {"upeer_sockaddr", "addr"}, {"upeer_addrlen", "addrlen"}, {"usockaddr", "addr"},
    {"usockaddr_len", "addrlen"}, {"addr_len", "addrlen"},  {"uname", "name"},
};

const std::set<std::string_view> kSocketSyscalls = {
    "connect", "bind",    "accept",      "accept4",     "listen",     "sendto",
    "recvfrom", "sendmsg", "recvmsg",    "getsockname", "getpeername", "setsockopt",
    "getsockopt", "shutdown", "sendmmsg", "recvmmsg"};

// Syscalls whose sockaddr argument is followed by its length by value.
const std::set<std::string_view> kSockaddrByValueLen = {"connect", "bind", "sendto"};

const std::set<std::string_view> kOpenFlagSyscalls = {"open", "openat", "creat", "open_by_handle_at"};

// Tags (sets), in the spirit of Tracee's.
const std::map<std::string_view, std::vector<std::string_view>> kSyscallSets = {
    {"fs",
     {"open", "openat", "openat2", "creat", "close", "read", "write", "pread64", "pwrite64",
      "readv", "writev", "unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir",
      "mkdirat", "rmdir", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown",
      "lchown", "fchownat", "link", "linkat", "symlink", "symlinkat", "readlink", "readlinkat",
      "stat", "fstat", "lstat", "newfstatat", "statx", "truncate", "ftruncate", "mknod",
      "mknodat", "access", "faccessat", "faccessat2", "getdents64", "mount", "umount2",
      "memfd_create", "utimensat", "fsync", "fdatasync", "sendfile", "copy_file_range",
      "splice", "dup", "dup2", "dup3", "fcntl", "chdir", "fchdir", "chroot", "pivot_root"}},
    {"net",
     {"socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "sendto",
      "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "getsockname", "getpeername",
      "setsockopt", "getsockopt", "shutdown"}},
    {"proc",
     {"execve", "execveat", "fork", "vfork", "clone", "clone3", "exit", "exit_group", "wait4",
      "waitid", "kill", "tkill", "tgkill", "ptrace", "prctl", "setuid", "setgid", "setreuid",
      "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "capset", "unshare", "setns",
      "process_vm_readv", "process_vm_writev", "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
      "seccomp", "personality", "setsid", "setpgid"}},
    {"security",
     {"ptrace", "process_vm_writev", "init_module", "finit_module", "delete_module", "bpf",
      "capset", "setuid", "setgid", "setresuid", "setresgid", "setreuid", "setregid", "setfsuid",
      "setfsgid", "mount", "umount2", "unshare", "setns", "kexec_load", "kexec_file_load",
      "memfd_create", "keyctl", "add_key", "request_key", "perf_event_open", "seccomp",
      "pivot_root", "chroot", "reboot", "syslog", "iopl", "ioperm"}},
    {"ipc", {"shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "msgget",
             "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "pipe", "pipe2"}},
    {"caps", {"capset", "capget"}},
};

// Integer arguments with a readable rendering, by (syscall, kernel name);
// a non-empty name renames the argument to Tracee's.
struct DecodedArg {
  std::string_view name;
  ArgFormat format;
};
const std::map<std::pair<std::string_view, std::string_view>, DecodedArg> kDecodedArgs = {
    {{"ptrace", "request"}, {"", ArgFormat::kPtraceRequest}},
    {{"prctl", "option"}, {"", ArgFormat::kPrctlOption}},
    {{"bpf", "cmd"}, {"", ArgFormat::kBpfCmd}},
    {{"unshare", "unshare_flags"}, {"flags", ArgFormat::kNamespaceFlags}},
    {{"setns", "flags"}, {"nstype", ArgFormat::kNamespaceFlags}},
    {{"socket", "family"}, {"domain", ArgFormat::kSocketDomain}},
    {{"socket", "type"}, {"", ArgFormat::kSocketType}},
    {{"socketpair", "family"}, {"domain", ArgFormat::kSocketDomain}},
    {{"socketpair", "type"}, {"", ArgFormat::kSocketType}},
};

std::string NormalizeType(std::string_view type) {
  if (type == "umode_t") return "mode_t";
  return std::string(type);
}

ArgDef SyscallArg(std::string_view syscall, const SyscallArgRow& row, bool next_is_len) {
  std::string_view type = row.type;
  std::string_view kname = row.name;
  ArgDef a;
  a.name = std::string(kname);
  if (auto it = kArgRenames.find(kname); it != kArgRenames.end()) a.name = std::string(it->second);
  if (kSocketSyscalls.contains(syscall) && kname == "fd") a.name = "sockfd";
  a.type = NormalizeType(type);
  bool pointer = type.find('*') != std::string_view::npos;
  if (auto decoded = kDecodedArgs.find({syscall, kname}); decoded != kDecodedArgs.end() && !pointer) {
    if (!decoded->second.name.empty()) a.name = std::string(decoded->second.name);
    a.format = decoded->second.format;
    return a;
  }
  if (type == "const char*const*") {
    // envp is large and rarely wanted; the pointer is kept.
    bool is_env = kname == "envp";
    a.format = is_env ? ArgFormat::kHex : ArgFormat::kStringArray;
    a.capture = is_env ? Capture::kValue : Capture::kStringArray;
  } else if ((type == "const char*" || type == "char*") && kStringArgNames.contains(kname)) {
    a.format = ArgFormat::kString;
    a.capture = Capture::kString;
  } else if (type.starts_with("struct sockaddr") && pointer) {
    bool by_value = kSockaddrByValueLen.contains(syscall) && next_is_len;
    a.format = by_value ? ArgFormat::kSockaddr : ArgFormat::kHex;
    a.capture = by_value ? Capture::kSockaddr : Capture::kValue;
  } else if (pointer) {
    a.format = ArgFormat::kHex;
  } else if (kname == "flags" && kOpenFlagSyscalls.contains(syscall)) {
    a.format = ArgFormat::kOpenFlags;
  } else if (kname == "mode" && (type == "umode_t" || type == "mode_t")) {
    a.format = ArgFormat::kMode;
  } else if (kname == "sig") {
    a.format = ArgFormat::kSignal;
  } else if (kname == "prot") {
    a.format = ArgFormat::kProt;
  } else if (kname == "clone_flags") {
    a.format = ArgFormat::kCloneFlags;
  } else if (kname == "dfd" || kname == "olddfd" || kname == "newdfd") {
    a.format = ArgFormat::kDirfd;
  } else if (type.starts_with("unsigned") || type == "size_t" || type == "u32" ||
             type == "u64" || type == "__u32" || type == "__u64" || type == "uid_t" ||
             type == "gid_t" || type == "qid_t" || type == "key_serial_t" || type == "aio_context_t") {
    a.format = ArgFormat::kUint;
  } else {
    a.format = ArgFormat::kInt;
  }
  return a;
}

ProbeDef SyscallProbe(std::string_view name, bool has_tracepoint, int argc) {
  ProbeDef p;
  p.name = "syscall:" + std::string(name);
  p.required = true;
  if (has_tracepoint)
    p.alternatives.push_back({AttachKind::kSyscallTracepoints,
                              {absl::StrCat("vg_tp_sys_enter", argc), "vg_tp_sys_exit"}, std::string(name)});
  p.alternatives.push_back(
      {AttachKind::kRawSyscalls, {"vg_raw_sys_enter", "vg_raw_sys_exit"}, "raw_syscalls"});
  return p;
}

ProbeDef SchedProbe(std::string_view tp) {
  std::string t(tp);
  return ProbeDef{.name = t,
                  .required = true,
                  .alternatives = {{AttachKind::kTpBtf, {"vg_btf_" + t}, t},
                                   {AttachKind::kRawTracepoint, {"vg_raw_" + t}, t}}};
}

void AddSyscalls(std::vector<EventDef>& defs) {
  std::map<std::string_view, std::vector<std::string>> sets_of;
  for (const auto& [set, names] : kSyscallSets)
    for (std::string_view n : names) sets_of[n].push_back(std::string(set));

  for (const SyscallRow& row : kSyscalls) {
    EventDef d;
    d.id = static_cast<uint32_t>(row.nr);
    d.name = row.name;
    d.syscall_nr = row.nr;
    d.description = absl::StrCat("the ", row.name, "(2) system call");
    d.sets = {"syscalls"};
    if (auto it = sets_of.find(row.name); it != sets_of.end())
      d.sets.insert(d.sets.end(), it->second.begin(), it->second.end());
    for (int i = 0; i < row.argc && i < 6; ++i) {
      bool next_is_len = i + 1 < row.argc &&
                         std::string_view(row.args[i + 1].type).find('*') == std::string_view::npos;
      d.args.push_back(SyscallArg(row.name, row.args[i], next_is_len));
    }
    d.probes.push_back(SyscallProbe(row.name, row.has_tracepoint, row.argc));
    // These never return to the caller on success: emit them at entry.
    std::string_view n = row.name;
    d.emit_at_entry = n == "exit" || n == "exit_group" || n == "rt_sigreturn";
    // Successful execs are emitted from the sched_process_exec hook, with the
    // arguments the kernel copied (user pages may not be readable at entry).
    d.deferred_exec = n == "execve" || n == "execveat";
    if (d.deferred_exec) d.dependencies.push_back("sched_process_exec");
    defs.push_back(std::move(d));
  }
}

// Ids and arguments from bpf/events.def.
void AddLifecycle(std::vector<EventDef>& defs) {
  defs.push_back(
      Defined(kSchedProcessFork, {
                                     .description = "a process or thread was created (fork, vfork, clone)",
                                     .sets = {"default", "proc", "proc_life"},
                                     .probes = {SchedProbe("sched_process_fork")},
                                 }));
  defs.push_back(
      Defined(kSchedProcessExec, {
                                     .description = "a process replaced its image (execve succeeded)",
                                     .sets = {"default", "proc", "proc_life"},
                                     .probes = {SchedProbe("sched_process_exec")},
                                 }));
  defs.push_back(
      Defined(kSchedProcessExit,
              {
                  .description = "a thread exited; process_group_exit tells whether the process did",
                  .sets = {"default", "proc", "proc_life"},
                  .probes = {SchedProbe("sched_process_exit")},
              }));
}

std::vector<EventDef> BuiltinDefs() {
  std::vector<EventDef> defs;
  AddSyscalls(defs);
  AddLifecycle(defs);
  AddSecurityEvents(defs);
  AddContainerEvents(defs);
  AddIoUringEvents(defs);
  return defs;
}

}  // namespace

int SyscallNumber(std::string_view name) {
  for (const SyscallRow& row : kSyscalls)
    if (name == row.name) return row.nr;
  return -1;
}

namespace {
Registry& MutableBuiltin() {
  static Registry* registry = new Registry(BuiltinDefs());
  return *registry;
}
}  // namespace

const Registry& Registry::Builtin() { return MutableBuiltin(); }

absl::Status Registry::AddBuiltinDetections(std::vector<EventDef> defs) {
  return MutableBuiltin().Add(std::move(defs));
}

}  // namespace vigil::events
