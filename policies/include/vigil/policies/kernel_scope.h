// The kernel half of policy scopes: the tables bpf/scope.h filters with,
// built from compiled policies as plain keys and values. The loader
// (engine's BpfSensor) writes them into its BPF object.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "scope.h"  // bpf/: the structs shared with the kernel side
#include "vigil/policies/compile.h"

namespace vigil::policies {

struct KernelScopeTables {
  vg_scope_config config{};
  std::map<std::pair<uint32_t, uint64_t>, vg_scope_masks> values;  // (vg_scope_kind, value)
  std::map<std::string, vg_scope_masks> comms;
  std::map<std::string, vg_scope_masks> uts_names;
};

// The inode number of an executable (exec= is pre-filtered by inode).
using InodeOf = std::function<absl::StatusOr<uint64_t>(const std::string& path)>;
absl::StatusOr<uint64_t> StatInode(const std::string& path);

// `sensor_start_boot_ns` (CLOCK_BOOTTIME) separates pid=new from older
// processes. An exec= path that cannot be resolved leaves that policy's
// exec filter to user space, except with follow, where it is an error.
absl::StatusOr<KernelScopeTables> BuildKernelScope(const CompiledPolicies& policies,
                                                   uint64_t sensor_start_boot_ns,
                                                   const InodeOf& inode_of = StatInode);

// The tables in the layout of the kernel's maps (bpf/scope.h): each map's
// keys and values, names cut to the kernel's key size.
struct ScopeMapEntries {
  std::vector<std::pair<vg_scope_key, vg_scope_masks>> values;   // vg_scope_vals
  std::vector<std::pair<vg_comm_key, vg_scope_masks>> comms;     // vg_scope_comm
  std::vector<std::pair<vg_uts_key, vg_scope_masks>> uts_names;  // vg_scope_uts
  vg_scope_config config{};                                      // vg_scope_cfg[0], written last
};
ScopeMapEntries MapEntries(const KernelScopeTables& tables);

}  // namespace vigil::policies
