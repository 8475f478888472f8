// A decoded event: the record header's context plus typed, readable arguments.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "vigil/events/registry.h"

namespace vigil::events {

// A decoded argument value, typed: an integer stays an integer (its ArgDef's
// format says how a sink renders it: flags, modes, signals...; see Rendered()
// in format.h), a string a string, argv a list, a socket address an ordered
// list of key/value strings.
using Fields = std::vector<std::pair<std::string, std::string>>;
// A nested value (Tracee's DNS and packet objects) already rendered as JSON.
struct JsonText {
  std::string text;
  bool operator==(const JsonText&) const = default;
};
// (Construct strings explicitly: a const char* would pick bool.)
using Value = std::variant<std::monostate, bool, int64_t, uint64_t, std::string, std::vector<std::string>, Fields,
                           JsonText>;

// The integer a value holds (a bool as 0/1); nullopt for other values.
inline std::optional<int64_t> IntegerOf(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&v)) return static_cast<int64_t>(*u);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
  return std::nullopt;
}

struct Arg {
  const ArgDef* def = nullptr;  // nullptr: an argument the event does not carry
  Value value;
  // Rendered() (format.h) keeps the rendering of an integer its format names
  // here: made once, by whoever first asks (a filter, a rule, a sink).
  // Whoever changes `value` afterwards resets `rendered_ready` (SetArg does).
  mutable Value rendered;
  mutable bool rendered_ready = false;
  std::optional<int64_t> Integer() const { return IntegerOf(value); }
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
  // At their ArgDef's index in def->args (an absent one has def == nullptr),
  // so that a lookup by index is O(1): see ArgAt. A detection's args are its
  // fields, in order, with definitions of their own.
  std::vector<Arg> args;
  // Detections only (def in the `signatures` set): the event that triggered
  // it, and its process's ancestors, parent first.
  std::shared_ptr<const Event> triggered_by;
  std::vector<Ancestor> ancestors;

  // Argument `index` of def->args (ArgDef index, resolved once by name with
  // EventDef::ArgIndex); nullptr when absent or index < 0.
  const Arg* ArgAt(int index) const {
    if (index < 0 || static_cast<size_t>(index) >= args.size()) return nullptr;
    const Arg& a = args[index];
    return a.def != nullptr && a.def == &def->args[index] ? &a : nullptr;
  }
  // Places argument `index` of def->args (growing args as needed) and returns
  // it, its value to be set.
  Arg& SetArg(size_t index) {
    if (args.size() < def->args.size()) args.resize(def->args.size());
    Arg& a = args[index];
    a.def = &def->args[index];
    a.rendered_ready = false;
    return a;
  }
  // By name, a linear search: for tests and cold paths only.
  const Arg* FindArg(std::string_view name) const { return def ? ArgAt(def->ArgIndex(name)) : nullptr; }
  // The arguments present.
  size_t ArgCount() const {
    size_t n = 0;
    for (const Arg& a : args) n += a.def != nullptr;
    return n;
  }
};

// An argument name resolved to its index once per event definition (a
// one-entry cache): for code that reads one argument of a few event types
// (the process tree, detectors, enrichment) on every such event.
class ArgRef {
 public:
  explicit ArgRef(std::string_view name) : name_(name) {}
  int Index(const EventDef* def) {
    if (def != def_) {
      def_ = def;
      index_ = def ? def->ArgIndex(name_) : -1;
    }
    return index_;
  }
  const Arg* Get(const Event& e) { return e.ArgAt(Index(e.def)); }

 private:
  std::string name_;
  const EventDef* def_ = nullptr;
  int index_ = -1;
};

}  // namespace vigil::events
