// The kernel half of policy scopes: the tables bpf/scope.h filters with,
// built from compiled policies and written into the loaded BPF object.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "scope.h"  // bpf/: the structs shared with the kernel side
#include "vigil/policies/compile.h"

struct bpf_object;

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

// Writes the tables into the maps of a loaded object that includes
// bpf/scope.h (vg_scope_cfg last, so the kernel never sees half a scope).
// Needs the EBPF ring: updating maps is a bpf() call.
absl::Status PopulateScopeMaps(struct bpf_object* obj, const CompiledPolicies& policies,
                               uint64_t sensor_start_boot_ns);

}  // namespace vigil::policies
