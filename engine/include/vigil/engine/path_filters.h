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
#include <functional>
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

// What the kernel's open fast path watches (bpf/path_watch.h), from the
// path filters' patterns and the detections' path prefixes.
struct PathWatchPlan {
  // The directory of every absolute pattern ("/etc/ssh/ssh_host_*" ->
  // "/etc/ssh"), sorted, without duplicates. The loader watches the deepest
  // of each that exists and that one's parent (unless it is "/"), so that a
  // pattern's directory made, or replaced, later is still below a watched
  // one (WatchedDirsFor).
  std::vector<std::string> dirs;
  std::vector<std::string> files;  // what the exact patterns name
  // The string bloom: the bits of every pattern's first str_prefix_len
  // bytes (the shortest pattern's length, at most VG_STR_PREFIX_MAX; 0:
  // none, every string goes to the trie).
  uint32_t str_prefix_len = 0;
  std::vector<uint64_t> str_bloom;
};
PathWatchPlan PlanPathWatch(const PathFilterPlan& paths, const std::vector<std::string>& path_prefixes);

// The directories to open for `dir` (PathWatchPlan::dirs): its deepest
// existing ancestor-or-self, by `exists`, and that one's parent unless it
// is a top-level directory (/var, /usr: most of the host's opens would take
// the slow path). None when only "/" exists: a pattern below a top-level
// directory made after the start is matched by the caller's string only.
std::vector<std::string> WatchedDirsFor(const std::string& dir, const std::function<bool(const std::string&)>& exists);

}  // namespace vigil::engine
