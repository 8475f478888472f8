#include "vigil/engine/process_tree.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>

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

uint64_t UintArg(const events::Event& e, const char* name) {
  const events::Arg* a = e.FindArg(name);
  return a ? static_cast<uint64_t>(a->raw) : 0;
}

}  // namespace

ProcessTree::Proc& ProcessTree::Put(uint32_t host_pid, uint64_t start_time_ns) {
  // Bounded: exited processes are erased on exit; if exits were missed the
  // table is rebuilt lazily from later events.
  if (procs_.size() >= max_entries_ && !procs_.contains(host_pid)) procs_.clear();
  Proc& p = procs_[host_pid];
  p.start_time_ns = start_time_ns;
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
    Put(static_cast<uint32_t>(pid), 0).exe = std::move(exe);
    ++seeded;
  }
  closedir(dir);
  return seeded;
}

void ProcessTree::Apply(const events::Event& e) {
  switch (e.def->id) {
    case events::kSchedProcessExec: {
      const events::Arg* path = e.FindArg("pathname");
      const auto* s = path ? std::get_if<std::string>(&path->value) : nullptr;
      if (s != nullptr) Put(e.host_pid, e.start_time_ns).exe = *s;
      break;
    }
    case events::kSchedProcessFork: {
      uint32_t child = static_cast<uint32_t>(UintArg(e, "child_pid"));
      if (child == 0 || child == e.host_pid) break;  // a thread
      std::string exe = Executable(e.host_pid, e.start_time_ns);
      Put(child, UintArg(e, "start_time")).exe = std::move(exe);
      break;
    }
    case events::kSchedProcessExit: {
      const events::Arg* group = e.FindArg("process_group_exit");
      const bool* dead = group ? std::get_if<bool>(&group->value) : nullptr;
      if (dead != nullptr && *dead) procs_.erase(e.host_pid);
      break;
    }
    default:
      break;
  }
}

const std::string& ProcessTree::Executable(uint32_t host_pid, uint64_t start_time_ns) {
  auto it = procs_.find(host_pid);
  if (it != procs_.end() && (it->second.start_time_ns == 0 || it->second.start_time_ns == start_time_ns))
    return it->second.exe;
  Proc& p = Put(host_pid, start_time_ns);
  p.exe = ReadExe(host_pid);
  return p.exe;
}

}  // namespace vigil::engine
