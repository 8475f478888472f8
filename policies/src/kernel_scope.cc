#include "vigil/policies/kernel_scope.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "text.h"
#include "vigil/events/format.h"

namespace vigil::policies {
namespace {

// Range bounds stay below 2^33 so that vg_out_of_range can compare by
// subtraction; values (uid, tgid) are 32 bits.
constexpr uint64_t kBoundMax = uint64_t{1} << 32;

void AddNumbers(KernelScopeTables& t, vg_scope_kind kind, const NumericScope& s, uint64_t bit) {
  if (s.eq) {
    t.config.has[kind] |= bit;
    t.config.has_eq[kind] |= bit;
    for (uint64_t v : *s.eq) t.values[{kind, v}].eq |= bit;
  }
  if (!s.ne.empty()) {
    t.config.has[kind] |= bit;
    for (uint64_t v : s.ne) t.values[{kind, v}].neq |= bit;
  }
}

void AddStrings(KernelScopeTables& t, std::map<std::string, vg_scope_masks>& map, vg_scope_kind kind,
                const StringScope& s, uint64_t bit) {
  if (s.eq) {
    t.config.has[kind] |= bit;
    t.config.has_eq[kind] |= bit;
    for (const std::string& v : *s.eq) map[v].eq |= bit;
  }
  if (!s.ne.empty()) {
    t.config.has[kind] |= bit;
    for (const std::string& v : s.ne) map[v].neq |= bit;
  }
}

void SetRange(const NumericScope& s, uint64_t bit, size_t i, __u64& ranged, __u64* min, __u64* max) {
  min[i] = 0;
  max[i] = kBoundMax;
  if (!s.has_range()) return;
  ranged |= bit;
  min[i] = std::min(s.min, kBoundMax);
  max[i] = std::min(s.max, kBoundMax);
}

bool AnyBit(const vg_scope_config& c, uint64_t bit) {
  uint64_t all = c.uid_range | c.euid_range | c.pid_range | c.new_pid | c.old_pid | c.container | c.host |
                 c.new_container | c.old_container;
  for (uint64_t has : c.has) all |= has;
  return (all & bit) != 0;
}

}  // namespace

absl::StatusOr<uint64_t> StatInode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return absl::NotFoundError(absl::StrCat("stat ", path, ": ", events::FormatErrno(errno)));
  return static_cast<uint64_t>(st.st_ino);
}

absl::StatusOr<KernelScopeTables> BuildKernelScope(const CompiledPolicies& policies,
                                                   uint64_t sensor_start_boot_ns, const InodeOf& inode_of) {
  KernelScopeTables t;
  vg_scope_config& c = t.config;
  c.start_boot_ns = sensor_start_boot_ns;
  for (size_t i = 0; i < policies.scopes().size() && i < VG_MAX_POLICIES; ++i) {
    const Scope& s = policies.scopes()[i];
    const uint64_t bit = uint64_t{1} << i;
    AddNumbers(t, VG_SCOPE_UID, s.uid, bit);
    AddNumbers(t, VG_SCOPE_EUID, s.euid, bit);
    AddNumbers(t, VG_SCOPE_PID, s.pid, bit);
    AddNumbers(t, VG_SCOPE_MNTNS, s.mntns, bit);
    AddNumbers(t, VG_SCOPE_PIDNS, s.pidns, bit);
    AddNumbers(t, VG_SCOPE_UTSNS, s.utsns, bit);
    AddNumbers(t, VG_SCOPE_TREE, s.tree, bit);
    AddStrings(t, t.comms, VG_SCOPE_COMM, s.comm, bit);
    AddStrings(t, t.uts_names, VG_SCOPE_UTSNAME, s.uts_name, bit);
    SetRange(s.uid, bit, i, c.uid_range, c.uid_min, c.uid_max);
    SetRange(s.euid, bit, i, c.euid_range, c.euid_min, c.euid_max);
    SetRange(s.pid, bit, i, c.pid_range, c.pid_min, c.pid_max);
    if (s.new_pid) (*s.new_pid ? c.new_pid : c.old_pid) |= bit;
    if (s.in_container) (*s.in_container ? c.container : c.host) |= bit;
    if (s.new_container) (*s.new_container ? c.new_container : c.old_container) |= bit;
    if (s.exec.eq) {
      std::set<uint64_t> inodes;
      absl::Status missing;
      for (const std::string& path : *s.exec.eq) {
        absl::StatusOr<uint64_t> inode = inode_of(path);
        if (!inode.ok()) {
          missing = inode.status();
          break;
        }
        inodes.insert(*inode);
      }
      if (missing.ok()) {
        AddNumbers(t, VG_SCOPE_EXEC, NumericScope{.eq = inodes}, bit);
      } else if (s.follow) {
        return absl::FailedPreconditionError(
            absl::StrCat("policy '", policies.names()[i],
                         "': exec= with follow is decided in the kernel by the "
                         "executable's inode, which is not available: ",
                         missing.message()));
      }
    }
    if (AnyBit(c, bit)) {
      c.scoped |= bit;
      if (s.follow) c.follow |= bit;
    }
  }
  for (const auto& [what, size] :
       {std::pair<const char*, size_t>{"uid, euid, pid, namespace, tree and exec", t.values.size()},
        {"comm", t.comms.size()},
        {"uts host name", t.uts_names.size()}}) {
    if (size > VG_SCOPE_ENTRIES)
      return absl::ResourceExhaustedError(absl::StrCat("the policies' scopes list ", size, " ", what,
                                                       " values; the kernel's table holds ",
                                                       VG_SCOPE_ENTRIES));
  }
  return t;
}

ScopeMapEntries MapEntries(const KernelScopeTables& t) {
  ScopeMapEntries m;
  m.config = t.config;
  for (const auto& [kv, masks] : t.values)
    m.values.push_back({vg_scope_key{.kind = kv.first, .pad = 0, .value = kv.second}, masks});
  for (const auto& [comm, masks] : t.comms) {
    vg_comm_key key{};  // cut to the kernel's comm length, NUL kept
    std::memcpy(key.comm, comm.data(), std::min(comm.size(), sizeof(key.comm) - 1));
    m.comms.push_back({key, masks});
  }
  for (const auto& [name, masks] : t.uts_names) {
    vg_uts_key key{};
    std::memcpy(key.name, name.data(), std::min(name.size(), sizeof(key.name) - 1));
    m.uts_names.push_back({key, masks});
  }
  return m;
}

}  // namespace vigil::policies
