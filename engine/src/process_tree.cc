#include "vigil/engine/process_tree.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "vigil/events/event_ids.h"

namespace vigil::engine {
namespace {

std::string ReadExe(uint32_t pid) {
  char buf[4096];
  std::string link = absl::StrCat("/proc/", pid, "/exe");
  ssize_t n = readlink(link.c_str(), buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// comm and ppid from /proc/<pid>/stat ("pid (comm) state ppid ..."; the comm
// may hold spaces and parentheses, so it ends at the last ')').
bool ReadStat(uint32_t pid, std::string& comm, uint32_t& ppid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return false;
  size_t open = line.find('('), close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  comm = line.substr(open + 1, close - open - 1);
  std::istringstream rest(line.substr(close + 1));
  std::string state;
  rest >> state >> ppid;
  return !rest.fail();
}

// The first kMaxArgvBytes of a NUL-separated argument area.
std::vector<std::string> SplitArgs(std::string_view area, size_t max_bytes) {
  std::vector<std::string> out;
  size_t used = 0;
  while (!area.empty() && used < max_bytes) {
    size_t end = area.find('\0');
    std::string_view arg = area.substr(0, end);
    out.emplace_back(arg.substr(0, max_bytes - used));
    used += arg.size() + 1;
    if (end == std::string_view::npos) break;
    area.remove_prefix(end + 1);
  }
  return out;
}

std::vector<std::string> ReadCmdline(uint32_t pid, size_t max_bytes) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"), std::ios::binary);
  std::string area(max_bytes, '\0');
  in.read(area.data(), static_cast<std::streamsize>(max_bytes));
  area.resize(static_cast<size_t>(in.gcount()));
  return SplitArgs(area, max_bytes);
}

// argv as the exec record carries it, bounded.
std::vector<std::string> BoundedArgv(const std::vector<std::string>& argv, size_t max_bytes) {
  std::vector<std::string> out;
  size_t used = 0;
  for (const std::string& a : argv) {
    if (used >= max_bytes) break;
    out.push_back(a.substr(0, max_bytes - used));
    used += a.size() + 1;
  }
  return out;
}

uint64_t UintArg(const events::Arg* a) { return a ? static_cast<uint64_t>(a->Integer().value_or(0)) : 0; }

}  // namespace

ProcessTree::Info ProcessTree::ToInfo(uint32_t pid, const Proc& p) {
  return Info{.pid = pid, .ppid = p.ppid, .comm = p.comm, .exe = p.exe, .start_time_ns = p.start_time_ns};
}

void ProcessTree::Evict() {
  // The least recently seen quarter goes (at least one entry).
  std::vector<uint64_t> seen;
  seen.reserve(procs_.size());
  for (const auto& [pid, p] : procs_) seen.push_back(p.last_seen);
  size_t drop = std::max<size_t>(1, procs_.size() / 4);
  std::nth_element(seen.begin(), seen.begin() + (drop - 1), seen.end());
  const uint64_t cutoff = seen[drop - 1];
  std::erase_if(procs_, [&](const auto& kv) { return kv.second.last_seen <= cutoff; });
}

ProcessTree::Proc& ProcessTree::Put(uint32_t host_pid, uint64_t start_time_ns) {
  auto it = procs_.find(host_pid);
  if (it == procs_.end()) {
    if (procs_.size() >= max_entries_) Evict();
    it = procs_.emplace(host_pid, Proc{}).first;
  } else if (start_time_ns != 0 && it->second.start_time_ns != 0 &&
             it->second.start_time_ns != start_time_ns) {
    it->second = Proc{};  // the pid was reused
  }
  Proc& p = it->second;
  if (start_time_ns != 0) p.start_time_ns = start_time_ns;
  p.last_seen = ++tick_;
  return p;
}

size_t ProcessTree::SeedFromProc() {
  size_t seeded = 0;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return 0;
  while (dirent* d = readdir(dir)) {
    char* end = nullptr;
    unsigned long pid = strtoul(d->d_name, &end, 10);
    if (end == d->d_name || *end != '\0') continue;
    std::string exe = ReadExe(static_cast<uint32_t>(pid));
    if (exe.empty()) continue;  // kernel thread, or not readable
    Proc& p = Put(static_cast<uint32_t>(pid), 0);
    p.exe = std::move(exe);
    p.exe_known = true;
    ReadStat(static_cast<uint32_t>(pid), p.comm, p.ppid);
    p.argv = ReadCmdline(static_cast<uint32_t>(pid), kMaxArgvBytes);
    p.argv_known = true;
    ++seeded;
  }
  closedir(dir);
  return seeded;
}

void ProcessTree::Apply(const events::Event& e) {
  if (e.host_pid == 0) return;  // a record with no task (packets, connections of no known process)
  switch (e.def->id) {
    case events::kSchedProcessFork: {
      uint32_t child = static_cast<uint32_t>(UintArg(child_pid_.Get(e)));
      if (child == 0 || child == e.host_pid) break;  // a thread
      const std::string exe = Executable(e.host_pid, e.start_time_ns);
      std::vector<std::string> argv;
      bool argv_known = false;
      if (auto parent = procs_.find(e.host_pid); parent != procs_.end() && parent->second.argv_known) {
        argv = parent->second.argv;
        argv_known = true;
      }
      // The child starts as a copy of the forking thread: its image, argv and comm.
      Proc& c = Put(child, UintArg(start_time_.Get(e)));
      c.exe = exe;
      c.exe_known = true;
      c.argv = std::move(argv);
      c.argv_known = argv_known;
      c.comm = e.comm;
      c.ppid = e.host_pid;
      break;
    }
    case events::kSchedProcessExit: {
      const events::Arg* group = group_exit_.Get(e);
      const bool* dead = group ? std::get_if<bool>(&group->value) : nullptr;
      if (dead != nullptr && *dead) {
        procs_.erase(e.host_pid);
        return;
      }
      break;
    }
    default:
      break;
  }
  Proc& p = Put(e.host_pid, e.start_time_ns);
  if (e.host_ppid != 0) p.ppid = e.host_ppid;
  // A thread may name itself; the process is named by its leader (and by
  // exec, which every thread leaves as the leader).
  if (e.host_tid == e.host_pid || p.comm.empty()) p.comm = e.comm;
  if (e.def->id == events::kSchedProcessExec) {
    const events::Arg* path = pathname_.Get(e);
    const auto* s = path ? std::get_if<std::string>(&path->value) : nullptr;
    if (s != nullptr) {
      p.exe = *s;
      p.exe_known = true;
    }
    const events::Arg* argv = argv_.Get(e);
    const auto* list = argv ? std::get_if<std::vector<std::string>>(&argv->value) : nullptr;
    if (list != nullptr) {
      p.argv = BoundedArgv(*list, kMaxArgvBytes);
      p.argv_known = true;
    } else {
      p.argv.clear();
      p.argv_known = false;
    }
    p.comm = e.comm;
  }
}

const std::string& ProcessTree::Executable(uint32_t host_pid, uint64_t start_time_ns) {
  Proc& p = Put(host_pid, start_time_ns);
  if (!p.exe_known) {
    struct stat st{};
    std::string dir = absl::StrCat("/proc/", host_pid);
    bool readable = !exe_owner_ || (exe_owner_->first != 0 && stat(dir.c_str(), &st) == 0 &&
                                    st.st_uid == exe_owner_->first && st.st_gid == exe_owner_->second);
    p.exe = readable ? ReadExe(host_pid) : std::string();
    p.exe_known = true;
  }
  return p.exe;
}

std::optional<ProcessTree::Info> ProcessTree::Find(uint32_t host_pid) const {
  auto it = procs_.find(host_pid);
  if (it == procs_.end()) return std::nullopt;
  return ToInfo(host_pid, it->second);
}

std::optional<ProcessTree::Info> ProcessTree::Parent(uint32_t host_pid) const {
  auto it = procs_.find(host_pid);
  if (it == procs_.end() || it->second.ppid == 0) return std::nullopt;
  return Find(it->second.ppid);
}

const std::string& ProcessTree::ParentComm(uint32_t host_pid) const {
  static const std::string kUnknown;
  auto it = procs_.find(host_pid);
  if (it == procs_.end() || it->second.ppid == 0) return kUnknown;
  auto parent = procs_.find(it->second.ppid);
  return parent == procs_.end() ? kUnknown : parent->second.comm;
}

std::vector<ProcessTree::Info> ProcessTree::Ancestors(uint32_t host_pid, size_t max) const {
  std::vector<Info> chain;
  std::unordered_set<uint32_t> visited{host_pid};
  uint32_t pid = host_pid;
  while (chain.size() < max) {
    std::optional<Info> parent = Parent(pid);
    if (!parent || !visited.insert(parent->pid).second) break;
    pid = parent->pid;
    chain.push_back(std::move(*parent));
  }
  return chain;
}

bool ProcessTree::AncestorAt(uint32_t host_pid, int n, uint32_t& pid, const std::string*& comm,
                             const std::string*& exe) const {
  uint32_t cur = host_pid;
  for (int i = 0; i < n; ++i) {
    auto it = procs_.find(cur);
    if (it == procs_.end() || it->second.ppid == 0 || it->second.ppid == cur) return false;
    cur = it->second.ppid;
    if (cur == host_pid) return false;  // a cycle back to the start
  }
  auto it = procs_.find(cur);
  if (it == procs_.end()) return false;
  pid = cur;
  comm = &it->second.comm;
  exe = &it->second.exe;
  return true;
}

const std::vector<std::string>* ProcessTree::Argv(uint32_t host_pid) const {
  auto it = procs_.find(host_pid);
  if (it == procs_.end() || !it->second.argv_known) return nullptr;
  return &it->second.argv;
}

}  // namespace vigil::engine
