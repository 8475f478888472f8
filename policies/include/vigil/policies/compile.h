// Policies compiled against the registry: which policies select each event
// (one bit per policy), the scope tables the kernel filters with
// (kernel_scope.h), and the matcher for what the kernel cannot decide.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "vigil/events/event.h"
#include "vigil/events/registry.h"
#include "vigil/policies/policy.h"

namespace vigil::policies {

// One numeric scope kind of one policy after ANDing its expressions:
// value in `eq` (when set), not in `ne`, within [min, max].
struct NumericScope {
  std::optional<std::set<uint64_t>> eq;
  std::set<uint64_t> ne;
  uint64_t min = 0;
  uint64_t max = UINT64_MAX;

  bool has_range() const { return min != 0 || max != UINT64_MAX; }
  bool active() const { return eq.has_value() || !ne.empty() || has_range(); }
};

struct StringScope {
  std::optional<std::set<std::string>> eq;
  std::set<std::string> ne;

  bool active() const { return eq.has_value() || !ne.empty(); }
};

// The scope of one policy. Every kind but exec and container ids is decided
// in the kernel (bpf/scope.h); exec= is also pre-filtered there by inode.
struct Scope {
  NumericScope uid, euid, pid, mntns, pidns, utsns, tree;  // uid: the real uid (as Tracee)
  StringScope comm, uts_name, exec, container_id;
  std::optional<bool> new_pid;       // pid=new (true), pid!=new (false)
  std::optional<bool> in_container;  // container (true), not-container (false)
  // container=new (true): in a container whose cgroup was made after the
  // sensor started; container!=new (false): in one that was not (with
  // in_container set, so that host processes do not pass).
  std::optional<bool> new_container;
  bool follow = false;
  // exec= paths as the kernel reports them (symlinks resolved), beside the
  // written ones, for comparing with Event::executable.
  std::set<std::string> exec_eq_resolved, exec_ne_resolved;

  bool HasKernelFilter() const;
  bool HasUserFilter() const;
};

// Why user space dropped an event (all its policies failed).
enum class DropReason { kScope, kData, kRetval, kContext, kCount };
std::string_view DropReasonName(DropReason reason);

// A value a filter compares with: a string pattern (`v`, `v*`, `*v`, `*v*`)
// and, when it reads as one, an integer.
struct FilterValue {
  enum class Match { kExact, kPrefix, kSuffix, kContains };
  Match match = Match::kExact;
  std::string text;  // without the stars
  std::optional<__int128> number;
};

// One compiled rule filter.
struct Filter {
  enum class Kind { kData, kRetval, kNumber, kString, kInContainer, kOnHost };
  Kind kind = Kind::kData;
  Op op = Op::kEq;
  std::string arg;     // kData: the argument's name
  int arg_index = -1;  // kData: its index in the event's definition (resolved per event at compile)
  int field = 0;    // kNumber/kString: which context field (compile.cc)
  std::vector<FilterValue> values;
  std::string text;  // as written
  // A pathname filter the kernel decides (on the caller's string, the
  // opened file's resolved path or its inode; engine/path_filters.h):
  // user space trusts the kernel's verdict and skips it.
  bool decided_in_kernel = false;
};

class CompiledPolicies {
 public:
  // Bit i of every mask is policy i.
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<Scope>& scopes() const { return scopes_; }
  // Selected event id -> the policies whose rules select it.
  const std::map<uint32_t, uint64_t>& event_policies() const { return event_policies_; }
  uint64_t PoliciesOf(uint32_t event_id) const;
  // The union of selected events, without dependencies.
  std::set<uint32_t> events() const;
  // The rule filters of policy `policy` for `event_id` (none: nullptr).
  const std::vector<Filter>* FiltersOf(size_t policy, uint32_t event_id) const;
  // Marks filter `index` of policy `policy` for `event_id` as decided in
  // the kernel (Filter::decided_in_kernel); set before the policies are shared.
  void MarkDecidedInKernel(size_t policy, uint32_t event_id, size_t index);


  // The final set of policies that match `e`, given those the kernel passed:
  // applies rule filters and the scope kinds the kernel does not decide.
  // 0 means drop; drops are counted by reason. Not thread-safe (counters).
  uint64_t MatchUser(const events::Event& e, uint64_t kernel_matched) const;
  // Container lifecycle events (container_create, container_remove,
  // existing_container) describe a container, not the process that made or
  // removed it (the runtime): of `candidates`, the policies whose container
  // scope (container, not-container, container=new, container!=new) that
  // container passes. The scope kinds that describe a process (uid, pid,
  // comm, namespaces, exec, tree, follow) are not applied to them; container
  // ids and rule filters are, by MatchUser.
  uint64_t MatchContainerScope(uint64_t candidates, bool container_is_new) const;
  uint64_t drops(DropReason reason) const { return drops_[static_cast<int>(reason)]; }
  uint64_t total_drops() const;

  // "-p a.yaml,dir/" or "-e openat -s comm=bash", for logs and caps plans.
  const std::string& description() const { return description_; }

 private:
  friend absl::StatusOr<CompiledPolicies> Compile(const std::vector<Policy>& policies,
                                                  const events::Registry& registry, std::string description);
  struct EventEntry {
    uint64_t policies = 0;
    uint64_t needs_user = 0;  // policies with rule filters or user-space scope
  };
  bool MatchScope(size_t policy, const events::Event& e) const;

  std::vector<std::string> names_;
  std::vector<Scope> scopes_;
  std::map<uint32_t, uint64_t> event_policies_;
  std::unordered_map<uint32_t, EventEntry> entries_;
  // Per policy: event id -> filters (only rules that have filters).
  std::vector<std::unordered_map<uint32_t, std::vector<Filter>>> filters_;
  uint64_t user_scope_ = 0;  // policies with scope kinds decided in user space
  std::string description_;
  mutable uint64_t drops_[static_cast<int>(DropReason::kCount)] = {};
};

// Checks names against `registry` and compiles. Errors carry the position
// of what is wrong and what was expected.
absl::StatusOr<CompiledPolicies> Compile(const std::vector<Policy>& policies,
                                         const events::Registry& registry, std::string description = "");

// -e items and -s expressions as one policy named "cli". Items are comma
// lists (already split or not): names, tag=SET, prefix*, -name, and Tracee's
// per-event filters `openat.data.pathname=/etc/*`, `close.retval<0`,
// `openat.scope.comm=ls` (a filter's comma values stay together). With no
// event item the `default` set is selected.
absl::StatusOr<Policy> CliPolicy(const std::vector<std::string>& events,
                                 const std::vector<std::string>& scopes, const events::Registry& registry);

// The selection flags (SPEC §1): -p files, or -e/-s as policy "cli", or,
// with neither, the policy file `default_policy`. -p with -e/-s is an error.
struct SelectionFlags {
  std::vector<std::string> events;
  std::vector<std::string> scopes;
  std::vector<std::string> policy_paths;
};
absl::StatusOr<CompiledPolicies> CompileSelection(const SelectionFlags& flags,
                                                  const events::Registry& registry,
                                                  const std::string& default_policy);

}  // namespace vigil::policies
