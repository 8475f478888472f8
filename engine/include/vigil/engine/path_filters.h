// Pathname filters the kernel can decide: for each syscall event with a
// path argument (and security_inode_rename's new_path), the policies whose
// `data.pathname=` patterns are all exact or prefix ones, and the LPM-trie
// entries that encode them (bpf: path_filters). The kernel passes a policy
// when its patterns match the caller's string, the opened file's path
// resolved from its dentries (up to the mount namespace's root), or, for
// exact patterns, the file's (device, inode) (bpf: path_inodes, filled by
// stat() at load time); a failed open is matched on its relative name made
// absolute against its directory (bpf/vigil.bpf.c, "path filters"). Such a
// filter is marked decided_in_kernel and user space skips it: the record's
// pathname is the caller's string, which need not match the pattern. The
// loader (BpfSensor::WritePolicyTables) writes the entries.
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

// Plans the kernel's filters and marks the filters it decides in `compiled`.
PathFilterPlan PlanPathFilters(policies::CompiledPolicies& compiled, const events::Registry& registry);

}  // namespace vigil::engine
