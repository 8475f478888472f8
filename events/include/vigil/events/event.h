// A decoded event: the record header's context plus typed, readable arguments.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "vigil/events/registry.h"

namespace vigil::events {

// A decoded argument value, already rendered to what JSON shows:
// numbers stay numbers; flags, modes, signals... become strings; argv is a
// list; a socket address is an ordered list of key/value strings.
using Fields = std::vector<std::pair<std::string, std::string>>;
// A nested value (Tracee's DNS and packet objects) already rendered as JSON.
struct JsonText {
  std::string text;
  bool operator==(const JsonText&) const = default;
};
// (Construct strings explicitly: a const char* would pick bool.)
using Value = std::variant<std::monostate, bool, int64_t, uint64_t, std::string, std::vector<std::string>, Fields,
                           JsonText>;

struct Arg {
  const ArgDef* def = nullptr;
  Value value;
  int64_t raw = 0;  // the captured integer before rendering (flags, modes...)
};

// One process of a detection's ancestry (from the process tree).
struct Ancestor {
  uint32_t pid = 0;  // host pid
  std::string comm;
  std::string executable;
};

struct Event {
  uint64_t timestamp_ns = 0;  // since the Unix epoch
  uint32_t processor_id = 0;
  uint32_t pid = 0, tid = 0, ppid = 0;                 // in the task's pid namespace
  uint32_t host_pid = 0, host_tid = 0, host_ppid = 0;  // in the initial pid namespace
  uint32_t uid = 0, gid = 0;
  uint32_t mnt_ns = 0, pid_ns = 0, uts_ns = 0;
  uint64_t cgroup_id = 0;
  uint64_t start_time_ns = 0;
  std::string comm;
  std::string executable;    // enrichment: path of the process's executable
  std::string parent_comm;   // enrichment: the parent process's name (process tree)
  std::string host_name;     // enrichment: UTS nodename
  std::string container_id;  // enrichment: from the cgroup path
  const EventDef* def = nullptr;
  int64_t retval = 0;
  int syscall_nr = -1;
  bool truncated = false;
  bool io_uring = false;  // an io_uring operation reported as its syscall twin (JSON "ioUring")
  // Made in a compat (ia32) syscall; def and syscall_nr are its x86-64 twin's.
  bool compat = false;
  uint64_t policies = 0;  // bit i: policy i matched
  std::vector<Arg> args;
  // Detections only (def in the `signatures` set): the event that triggered
  // it, and its process's ancestors, parent first.
  std::shared_ptr<const Event> triggered_by;
  std::vector<Ancestor> ancestors;

  const Arg* FindArg(std::string_view name) const {
    for (const Arg& a : args)
      if (a.def && a.def->name == name) return &a;
    return nullptr;
  }
};

}  // namespace vigil::events
