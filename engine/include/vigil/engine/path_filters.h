// Pathname filters the kernel can decide: for each syscall event with a
// path argument, the policies whose `data.pathname=` patterns are all exact
// or prefix ones, and the LPM-trie entries that encode them (bpf: path_filters).
// User space still applies every filter afterwards; the kernel only drops
// what no such policy could match, before a record is built. The loader
// (BpfSensor::WritePolicyTables) writes the entries.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "vigil/events/registry.h"
#include "vigil/policies/compile.h"

namespace vigil::engine {

struct PathFilterEntry {
  uint32_t event_id;
  std::string key;  // the path, with a trailing NUL for an exact pattern
  uint64_t policies;
};

struct PathFilterPlan {
  struct PerEvent {
    int arg = -1;           // index of the path argument
    uint64_t policies = 0;  // policies decided by path in the kernel
  };
  std::map<uint32_t, PerEvent> events;
  std::vector<PathFilterEntry> entries;  // values already include shorter prefixes
};

PathFilterPlan PlanPathFilters(const policies::CompiledPolicies& compiled, const events::Registry& registry);

}  // namespace vigil::engine
