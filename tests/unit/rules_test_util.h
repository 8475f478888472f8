// Synthetic events and process lookups for the rules/ unit tests.
#pragma once

#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "synthetic_process.h"
#include "vigil/events/event.h"
#include "vigil/events/format.h"
#include "vigil/events/registry.h"
#include "vigil/rules/rules.h"

namespace vigil::rules::testing {

// An argument value: a raw integer (rendered as the registry renders it), a
// string, a list (argv, env) or socket address fields.
using ArgIn = std::variant<int64_t, std::string, std::vector<std::string>, events::Fields>;

inline events::Event Ev(const std::string& name, std::vector<std::pair<std::string, ArgIn>> args = {}) {
  const events::EventDef* def = events::Registry::Builtin().Find(name);
  EXPECT_NE(def, nullptr) << name;
  events::Event e = test_support::EventFrom(
      def, {.ppid = 4200, .comm = "tester", .executable = "/usr/bin/tester", .parent_comm = "bash"});
  e.host_name = "host-1";
  e.timestamp_ns = 1'000'000'000;
  if (!def) return e;
  e.syscall_nr = def->syscall_nr;
  for (size_t i = 0; i < def->args.size(); ++i) {
    for (auto& [n, v] : args) {
      if (n != def->args[i].name) continue;
      events::Arg& a = e.SetArg(i);
      if (const int64_t* raw = std::get_if<int64_t>(&v))
        a.value = events::TypedInteger(def->args[i], static_cast<uint64_t>(*raw));  // as decoded
      else if (const auto* s = std::get_if<std::string>(&v))
        a.value = *s;
      else if (const auto* l = std::get_if<std::vector<std::string>>(&v))
        a.value = *l;
      else
        a.value = std::get<events::Fields>(v);
    }
  }
  for (auto& [n, v] : args) EXPECT_GE(def->ArgIndex(n), 0) << name << " has no argument " << n;
  return e;
}

inline events::Fields Inet(const std::string& ip, int port) {
  return {{"sa_family", "AF_INET"}, {"sin_addr", ip}, {"sin_port", std::to_string(port)}};
}
inline events::Fields Unix(const std::string& path) { return {{"sa_family", "AF_UNIX"}, {"sun_path", path}}; }

class FakeLookup final : public ProcessLookup {
 public:
  struct Proc {
    std::string comm, exe;
  };
  std::vector<Proc> ancestors;  // [0] = parent
  std::map<uint32_t, std::vector<std::string>> argv;
  bool Ancestor(uint32_t, int n, ProcessView& out) const override {
    if (n < 1 || static_cast<size_t>(n) > ancestors.size()) return false;
    out = {static_cast<uint32_t>(4200 - n), ancestors[n - 1].comm, ancestors[n - 1].exe};
    return true;
  }
  const std::vector<std::string>* Argv(uint32_t pid) const override {
    auto it = argv.find(pid);
    return it == argv.end() ? nullptr : &it->second;
  }
};

// Every detection name `engine` emits for `e`.
inline std::vector<std::string> Fired(DetectionEngine& engine, const events::Event& e,
                                      const ProcessLookup& lookup = NoProcessLookup()) {
  std::vector<std::string> names;
  engine.OnEvent(e, lookup, [&](const Detection& d) { names.push_back(d.def->name); });
  return names;
}

inline std::set<uint32_t> AllIds(const DetectionEngine& engine) {
  std::set<uint32_t> ids;
  for (const events::EventDef& d : engine.event_defs()) ids.insert(d.id);
  return ids;
}

}  // namespace vigil::rules::testing
